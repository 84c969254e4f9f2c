"""Recovery under faults: one batch of N tasks without faults and with the fault mix, same run.

Each row runs ``braket_async``'s ``submit_batch(...).wait()`` in its own process against a
local Braket service in another process (AWS default quotas times ``--scale``, ``--latency``
seconds added to every call). The ``faults`` rows set, for every operation, 10 % ``500
InternalServiceException``, 5 % ``429 ThrottlingException``, 5 % dropped connections and 5 %
drop-after-effect (the create takes effect, the response is lost), one row per seed. Four
variants, each with its own fault-free row to compare with: a **fresh** service per run or one
service **reused** by every run of the variant (its store keeps the earlier runs' tasks), and
``details=True`` (a GetQuantumTask per completed task) or ``details=False`` (search summaries).

It prints every row: wall time, the ratio to the variant's fault-free run (target <= 1.3), API
calls, 429s, create requests, the limiter's final CreateQuantumTask rate, the tasks the
service created (exactly N: no duplicates, none lost), and the **token floor**: every create
request, retries included, takes a CreateQuantumTask token of the client's limiter, except
an isolated 429 whose token the limiter gives back (``refunds``; the service takes no token
for an injected 429 or a dropped connection, so the client's count is the binding one), so a
run cannot end before ``(creates - refunds - burst) / rate`` seconds plus the fault-free run's
tail; ``floor x`` is that bound as a ratio. Then the worst ratio per variant
and overall, and the machine's load. Writes ``bench_recovery.json`` to ``--out`` (default
``benchmarks/out``).

    python benchmarks/bench_recovery.py                       # N=300, 5 seeds, 4 variants
    python benchmarks/bench_recovery.py --variants fresh:summaries --repeat 2 --tasks 100
    python benchmarks/bench_recovery.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, ServiceProcess, local_service, measure, run_peer, write_json

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
TARGET_RATIO = 1.3
#: service lifetime x what a completed task is reported with
VARIANTS = ("fresh:details", "fresh:summaries", "reused:details", "reused:summaries")
#: AWS's CreateQuantumTask quota (requests/s, burst) at scale 1.
CREATE_RATE, CREATE_BURST = 20.0, 40.0


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
                details=args.details,
            )
            outcomes = await batch.wait()
            limiter = s.rate_limiter.stats()["buckets"].get("CreateQuantumTask", {})
        return {
            "terminal": sum(1 for o in outcomes if o.status in TERMINAL),
            "completed": sum(1 for o in outcomes if o.status == "COMPLETED"),
            "submit_failed": sum(1 for o in outcomes if o.task_arn is None),
            "distinct_arns": len({o.task_arn for o in outcomes if o.task_arn}),
            "create_attempts": sum(o.attempts for o in outcomes),
            # why an item did not complete (none should): state, attempts and the error
            "item_errors": [
                f"{o.index} {o.state} after {o.attempts} attempts: {o.error!r}"
                f"{' ' + '; '.join(getattr(o.error, '__notes__', [])) if o.error else ''}"[:400]
                for o in outcomes
                if not o.ok
            ][:10],
            "client_throttles_seen": limiter.get("throttles", 0),
            "create_refunds": limiter.get("refunded", 0),
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


def run_mode(
    mode: str, args: argparse.Namespace, seed: int, service: ServiceProcess, details: bool
) -> dict[str, Any]:
    faults = {"default": {**FAULT_MIX, "latency": args.latency}, "seed": seed}
    service.put_faults(faults if mode == "faults" else {"default": {"latency": args.latency}})
    service.reset_ledger()
    row = run_peer(
        [
            sys.executable, __file__, "--child", mode, "--tasks", str(args.tasks),
            "--scale", str(args.scale), "--shots", str(args.shots),
            "--bucket", service.default_bucket, *([] if details else ["--no-details"]),
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
            "token_floor_seconds": token_floor(
                ledger["calls"].get("CreateQuantumTask", 0) - row.get("create_refunds", 0), args
            ),
        }
    )
    return row


def token_floor(creates: int, args: argparse.Namespace) -> float:
    """Seconds the service's CreateQuantumTask bucket needs to admit ``creates`` requests."""
    scale = float(args.scale)
    return max(0.0, creates - CREATE_BURST * scale) / (CREATE_RATE * scale)


def run_variant(variant: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The fault-free row, then one faulted row per seed, on a fresh or a reused service."""
    lifetime, reported = variant.split(":")
    details = reported == "details"
    plan = [("clean", 0)] + [("faults", seed) for seed in range(1, args.repeat + 1)]
    rows: list[dict[str, Any]] = []
    def start() -> contextlib.AbstractContextManager[ServiceProcess]:
        return local_service(quota_scale=args.scale, latency=args.latency)

    with contextlib.ExitStack() as stack:
        shared = stack.enter_context(start()) if lifetime == "reused" else None
        for mode, seed in plan:
            print(f"running {variant} {mode} (seed {seed}) ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            with contextlib.ExitStack() as per_run:
                service = shared or per_run.enter_context(start())
                row = run_mode(mode, args, seed, service, details)
            print(f"  {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
            rows.append({"variant": variant, **row})
    clean = rows[0]
    tail = max(0.0, clean["wall_seconds"] - clean["token_floor_seconds"])
    for r in rows:
        r["ratio_to_clean"] = r["wall_seconds"] / clean["wall_seconds"]
        r["floor_ratio"] = (r["token_floor_seconds"] + tail) / clean["wall_seconds"]
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'variant':<18}{'mode':<8}{'seed':>5}{'wall s':>8}{'x clean':>8}{'floor x':>8}"
        f"{'calls':>7}{'429s':>6}{'creates':>8}{'refund':>7}{'rate/s':>7}{'created':>8}{'dup':>4}{'lost':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = r.get("final_create_rate")
        print(
            f"{r['variant']:<18}{r['mode']:<8}{r['seed'] if r['seed'] is not None else '-':>5}"
            f"{r['wall_seconds']:>8.1f}{r.get('ratio_to_clean', 1.0):>8.2f}"
            f"{r.get('floor_ratio', 1.0):>8.2f}{r['api_calls']:>7}{r['throttled_429']:>6}"
            f"{r['calls'].get('CreateQuantumTask', 0):>8}{r.get('create_refunds', 0):>7}"
            f"{rate if rate is not None else 0:>7.1f}"
            f"{r['tasks_created']:>8}{r['duplicates']:>4}{r['lost']:>5}"
        )
        if r.get("error"):
            print(f"  FAILED: {r['error']}")
        for line in r.get("item_errors") or ():
            print(f"  item {line}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--scale", type=float, default=1.0, help="quota scale")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per call")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="faulted runs (seeds 1..n)")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, of {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--no-details", dest="details", action="store_false", help=argparse.SUPPRESS
    )
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
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "bench_recovery",
        "tasks": args.tasks,
        "scale": args.scale,
        "latency": args.latency,
        "fault_mix": FAULT_MIX,
        "target_ratio": TARGET_RATIO,
        "seeds": args.repeat,
        "variants": variants,
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    for variant in variants:
        rows.extend(run_variant(variant, args))
    report["load_after"] = os.getloadavg()
    print(
        f"{args.tasks} tasks, quotas x{args.scale}, +{args.latency * 1000:g} ms per call; "
        f"faults: {json.dumps(FAULT_MIX)}"
    )
    print_table(rows)
    worst: dict[str, float] = {}
    for variant in variants:
        ratios = [r["ratio_to_clean"] for r in rows if r["variant"] == variant and r["seed"]]
        floors = [r["floor_ratio"] for r in rows if r["variant"] == variant and r["seed"]]
        worst[variant] = max(ratios)
        print(
            f"{variant:<18} worst {max(ratios):.2f}x  median {statistics.median(ratios):.2f}x  "
            f"(token floor: worst {max(floors):.2f}x)"
        )
    faulted = [r["ratio_to_clean"] for r in rows if r["mode"] == "faults"]
    report["worst_ratio_per_variant"] = worst
    report["worst_ratio"] = max(faulted)
    report["median_ratio"] = statistics.median(faulted)
    report["worst_floor_ratio"] = max(r["floor_ratio"] for r in rows if r["mode"] == "faults")
    bad = sum(1 for r in rows if r["duplicates"] or r["lost"] or r.get("error"))
    print(
        f"faulted / fault-free: worst {report['worst_ratio']:.2f}x, median "
        f"{report['median_ratio']:.2f}x (target <= {TARGET_RATIO}x; token floor worst "
        f"{report['worst_floor_ratio']:.2f}x); runs with duplicates, lost tasks or errors: {bad}"
    )
    load = ", ".join(f"{x:.1f}" for x in report["load_before"])
    print(f"load average before: {load} on {report['cpus']} CPUs")
    path = write_json("bench_recovery.json", report, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
