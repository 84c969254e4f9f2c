"""Recovery under faults: one batch of N tasks without faults and with the fault mix, same run.

Each row runs ``braket_async``'s ``submit_batch(..., details=False).wait()`` in its own process
against a fresh local Braket service in another process (AWS default quotas times ``--scale``,
``--latency`` seconds added to every call). The ``faults`` row sets, for every operation,
10 % ``500 InternalServiceException``, 5 % ``429 ThrottlingException``, 5 % dropped
connections and 5 % drop-after-effect (the create takes effect, the response is lost), with a
fixed seed. It prints wall time, the ratio of the faulted run to the fault-free one (target
<= 1.5), API calls, 429s and 5xx answered, the client limiter's final CreateQuantumTask rate,
and the tasks the service created (exactly N: no duplicates, none lost). Writes
``bench_recovery.json`` to ``--out`` (default ``benchmarks/out``).

    python benchmarks/bench_recovery.py                       # N=300, AWS quotas (~1 min)
    python benchmarks/bench_recovery.py --repeat 3 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, local_service, measure, run_peer, write_json

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
#: The fault mix of issue #10, for every operation.
FAULT_MIX = {
    "internal_error": 0.10,
    "throttle": 0.05,
    "drop_connection": 0.05,
    "drop_after_effect": 0.05,
}
MODES = ("clean", "faults")
#: The target: the faulted batch takes at most this many times the fault-free one.
TARGET_RATIO = 1.5


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    """Child mode: one batch, measured; the limiter's view is reported too."""
    from braket_async import BraketSession, RateLimits

    async def run() -> dict[str, Any]:
        async with BraketSession(rate_limits=RateLimits.aws_defaults(scale=args.scale)) as s:
            batch = s.submit_batch(
                [BELL] * args.tasks,
                device_arn=SV1,
                shots=args.shots,
                output_s3_bucket=args.bucket,
                output_s3_key_prefix=f"bench/recovery/{args.mode}",
                details=False,
            )
            outcomes = await batch.wait()
            limiter = s.rate_limiter.stats()["buckets"].get("CreateQuantumTask", {})
        return {
            "terminal": sum(1 for o in outcomes if o.status in TERMINAL),
            "completed": sum(1 for o in outcomes if o.status == "COMPLETED"),
            "submit_failed": sum(1 for o in outcomes if o.task_arn is None),
            "distinct_arns": len({o.task_arn for o in outcomes if o.task_arn}),
            "create_attempts": sum(o.attempts for o in outcomes),
            "client_throttles_seen": limiter.get("throttles", 0),
            "final_create_rate": limiter.get("rate"),
        }

    error = None
    row: dict[str, Any] = {}
    with measure() as use:
        try:
            row = asyncio.run(run())
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    return {"mode": args.mode, **use.as_dict(), **row, "error": error}


def run_mode(mode: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    with local_service(quota_scale=args.scale, latency=args.latency) as service:
        if mode == "faults":
            service.put_faults(
                {"default": {**FAULT_MIX, "latency": args.latency}, "seed": seed}
            )
        service.reset_ledger()
        row = run_peer(
            [
                sys.executable, __file__, "--child", mode, "--tasks", str(args.tasks),
                "--scale", str(args.scale), "--shots", str(args.shots),
                "--bucket", service.default_bucket,
            ],
            env=service.env(),
            timeout=args.timeout,
        )  # fmt: skip
        ledger = service.ledger()
    row.update(
        {
            "seed": seed if mode == "faults" else None,
            "api_calls": ledger["total_calls"],
            "calls": ledger["calls"],
            "throttled_429": ledger["total_throttled"],
            "ledger": {k: v for k, v in ledger.items() if k.startswith(("total_", "tasks_"))},
            "tasks_created": ledger["tasks_created"],
            "duplicates": max(0, ledger["tasks_created"] - args.tasks),
            "lost": args.tasks - row.get("terminal", 0),
        }
    )
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'mode':<8}{'seed':>6}{'wall s':>9}{'x clean':>9}{'calls':>8}{'429s':>7}"
        f"{'creates':>9}{'rate/s':>8}{'created':>9}{'dup':>5}{'lost':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = r.get("final_create_rate")
        print(
            f"{r['mode']:<8}{r['seed'] if r['seed'] is not None else '-':>6}"
            f"{r['wall_seconds']:>9.1f}{r.get('ratio_to_clean', 1.0):>9.2f}"
            f"{r['api_calls']:>8}{r['throttled_429']:>7}{r['calls'].get('CreateQuantumTask', 0):>9}"
            f"{rate if rate is not None else 0:>8.1f}{r['tasks_created']:>9}"
            f"{r['duplicates']:>5}{r['lost']:>6}"
        )
        if r.get("error"):
            print(f"  FAILED: {r['error']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--scale", type=float, default=1.0, help="quota scale")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per call")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="faulted runs (seeds 1..n)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        args.mode = args.child
        print(json.dumps(run_child(args)))
        return 0
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "bench_recovery",
        "tasks": args.tasks,
        "scale": args.scale,
        "latency": args.latency,
        "fault_mix": FAULT_MIX,
        "target_ratio": TARGET_RATIO,
        "rows": rows,
    }
    plan = [("clean", 0)] + [("faults", seed) for seed in range(1, args.repeat + 1)]
    for mode, seed in plan:
        print(f"running {mode} (seed {seed}) ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        rows.append(run_mode(mode, args, seed))
        print(f"  {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    clean = rows[0]["wall_seconds"]
    for r in rows:
        r["ratio_to_clean"] = r["wall_seconds"] / clean
    faulted = [r["ratio_to_clean"] for r in rows if r["mode"] == "faults"]
    report["worst_ratio"] = max(faulted)
    report["median_ratio"] = statistics.median(faulted)
    print(
        f"{args.tasks} tasks, quotas x{args.scale}, +{args.latency * 1000:g} ms per call; "
        f"faults: {json.dumps(FAULT_MIX)}"
    )
    print_table(rows)
    print(
        f"faulted / fault-free: worst {report['worst_ratio']:.2f}x, median "
        f"{report['median_ratio']:.2f}x (target <= {TARGET_RATIO}x)"
    )
    path = write_json("bench_recovery.json", report, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
