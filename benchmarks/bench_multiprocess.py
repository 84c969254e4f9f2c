"""Many processes, one account: P worker processes submit a batch each, at the same moment,
against ONE local Braket service with the AWS default quotas; with the quotas shared through
Redis (``RateLimits.aws_defaults(shared=RedisQuota(...))``) and without (each process paces
itself at the full quota), in one run.

For each mode it reports, from the workers' own clocks and the service's ledger:

* aggregate tasks/s against the quota bound: ``P*N`` tasks can be created no faster than
  ``(P*N - burst) / rate`` seconds (CreateQuantumTask: 20/s, burst 40); the ratio is that
  bound over the measured span, first submission start to last task created (1.0 = at quota);
* throttled calls as the service counted them (429s over all calls, and CreateQuantumTask's);
* each process's share of the tasks created while all of them were still submitting
  (1/P each is equal; the target is within 2x of that).

Targets with the shared limiter: aggregate >= 0.95x the quota bound, <= 1 % throttled.
Needs ``redis-server`` on PATH (``apt-get install redis-server``); it starts its own on a free
port, and the service with ``python -m braket_async.local serve``. Writes
``benchmarks/out/bench_multiprocess.json``.

    python benchmarks/bench_multiprocess.py                  # P=4, N=150 per process (~2 min)
    python benchmarks/bench_multiprocess.py --processes 2 --tasks 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, local_service, run_peer, write_json
from _redis_server import redis_server

from braket_async.ratelimit import AWS_DEFAULT_RATES

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
#: The AWS default CreateQuantumTask quota (20/s, burst 40).
CREATE_RATE = AWS_DEFAULT_RATES["CreateQuantumTask"].per_second
CREATE_BURST = AWS_DEFAULT_RATES["CreateQuantumTask"].burst
MODES = ("shared", "local")
#: Seconds for the service's buckets to fill again between modes (account: 600 at 140/s).
REFILL_SECONDS = 6.0


# ---------------------------------------------------------------------------- worker (child)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One process: wait for the common start, submit a batch of ``--tasks``, follow it to
    the end; sample how many tasks it has created over time."""
    from braket_async import BraketSession, RateLimits
    from braket_async.ratelimit_redis import RedisQuota

    shared = RedisQuota(args.redis_url, key=args.key) if args.mode == "shared" else None

    async def run() -> dict[str, Any]:
        async with BraketSession(rate_limits=RateLimits.aws_defaults(shared=shared)) as braket:
            await asyncio.sleep(max(0.0, args.start_at - time.time()))
            started = time.time()
            batch = braket.submit_batch(
                [BELL] * args.tasks,
                device_arn=SV1,
                shots=args.shots,
                output_s3_bucket=args.bucket,
                output_s3_key_prefix=f"bench/multiprocess/{args.mode}/{args.index}",
                details=False,
            )
            samples: list[tuple[float, int]] = []

            async def sample() -> None:
                last = -1
                while True:
                    created = len(batch.task_arns)
                    if created != last:
                        samples.append((time.time(), created))
                        last = created
                    if created >= args.tasks:
                        return
                    await asyncio.sleep(0.02)

            sampler = asyncio.create_task(sample())
            outcomes = await batch.start().wait()
            if not sampler.done():
                sampler.cancel()
                samples.append((time.time(), len(batch.task_arns)))
            stats = braket.rate_limiter.stats()
        return {
            "index": args.index,
            "started": started,
            "samples": samples,
            "created": len(batch.task_arns),
            "ok": sum(o.ok for o in outcomes),
            "errors": sorted({type(o.error).__name__ for o in outcomes if o.error is not None}),
            "limiter_throttles": stats["buckets"]["CreateQuantumTask"]["throttles"],
            "shared": stats.get("shared"),
        }

    return asyncio.run(run())


# ---------------------------------------------------------------------------- parent


def count_at(samples: list[list[float]], moment: float) -> int:
    """Tasks a worker had created at ``moment`` (its last sample not after it)."""
    created = 0
    for when, count in samples:
        if when > moment:
            break
        created = int(count)
    return created


def summarize(reports: list[dict[str, Any]], ledger: dict[str, Any], tasks: int) -> dict[str, Any]:
    first_start = min(r["started"] for r in reports)
    finished = [r["samples"][-1][0] for r in reports]  # when each made its last task
    total = sum(r["created"] for r in reports)
    span = max(finished) - first_start
    bound_seconds = (total - CREATE_BURST) / CREATE_RATE
    contended_until = min(finished)  # until the first process is done, all of them compete
    in_window = [count_at(r["samples"], contended_until) for r in reports]
    equal = sum(in_window) / len(in_window) if sum(in_window) else 1.0
    calls = ledger["total_calls"]
    create_calls = ledger["calls"].get("CreateQuantumTask", 0)
    create_throttled = ledger["throttled"].get("CreateQuantumTask", 0)
    return {
        "tasks_created": total,
        "tasks_ok": sum(r["ok"] for r in reports),
        "errors": sorted({e for r in reports for e in r["errors"]}),
        "span_seconds": round(span, 3),
        "tasks_per_second": round(total / span, 3),
        "quota_bound_tasks_per_second": round(total / bound_seconds, 3),
        "vs_quota_bound": round(bound_seconds / span, 4),
        "service_calls": calls,
        "service_throttled": ledger["total_throttled"],
        "throttled_pct": round(100.0 * ledger["total_throttled"] / max(1, calls), 3),
        "create_calls": create_calls,
        "create_throttled": create_throttled,
        "create_throttled_pct": round(100.0 * create_throttled / max(1, create_calls), 3),
        "throttled_by_operation": ledger["throttled"],
        "calls_by_operation": ledger["calls"],
        "contended_seconds": round(contended_until - first_start, 3),
        "created_while_contended": in_window,
        "share_vs_equal": [round(c / equal, 3) for c in in_window],
        "limiter_throttles_seen": [r["limiter_throttles"] for r in reports],
        "shared_fallbacks": [(r["shared"] or {}).get("fallbacks", 0) for r in reports],
        "per_process_tasks": tasks,
    }


def run_mode(
    mode: str, args: argparse.Namespace, service: Any, redis_url: str
) -> dict[str, Any]:
    service.reset_ledger()
    start_at = time.time() + args.startup
    key = f"bench-{uuid.uuid4().hex[:8]}"
    argv = [
        sys.executable, __file__, "--worker", "--mode", mode, "--tasks", str(args.tasks),
        "--shots", str(args.shots), "--bucket", service.default_bucket,
        "--redis-url", redis_url, "--key", key, "--start-at", repr(start_at),
    ]  # fmt: skip
    with ThreadPoolExecutor(args.processes) as pool:
        reports = list(
            pool.map(
                lambda i: run_peer([*argv, "--index", str(i)], env=service.env(), timeout=1800),
                range(args.processes),
            )
        )
    return summarize(reports, service.ledger(), args.tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=150, help="tasks per process")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument(
        "--startup", type=float, default=8.0, help="seconds given to the workers to start"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args)))
        return

    results: dict[str, Any] = {
        "processes": args.processes,
        "tasks_per_process": args.tasks,
        "quota": {"CreateQuantumTask": [CREATE_RATE, CREATE_BURST]},
        "modes": {},
    }
    with redis_server() as redis_url, local_service() as service:
        for i, mode in enumerate(MODES):
            if i:
                time.sleep(REFILL_SECONDS)
            results["modes"][mode] = run_mode(mode, args, service, redis_url)
    path = write_json("bench_multiprocess.json", results, args.out)

    print(f"{args.processes} processes x {args.tasks} tasks, one service, AWS default quotas")
    print(f"{'':8} {'tasks/s':>8} {'bound':>7} {'ratio':>6} {'429s':>12} {'creates 429':>12}"
          "  share vs equal")  # fmt: skip
    for mode, row in results["modes"].items():
        throttled = f"{row['service_throttled']} ({row['throttled_pct']:.1f}%)"
        creates = f"{row['create_throttled']} ({row['create_throttled_pct']:.1f}%)"
        shares = " ".join(f"{s:.2f}" for s in row["share_vs_equal"])
        print(
            f"{mode:8} {row['tasks_per_second']:8.2f} {row['quota_bound_tasks_per_second']:7.2f}"
            f" {row['vs_quota_bound']:6.3f} {throttled:>12} {creates:>12}  {shares}"
        )
    shared = results["modes"]["shared"]
    ok = (
        shared["vs_quota_bound"] >= 0.95
        and shared["throttled_pct"] <= 1.0
        and all(0.5 <= s <= 2.0 for s in shared["share_vs_equal"])
    )
    print(f"targets (shared: >= 0.95x bound, <= 1% throttled, shares within 2x): "
          f"{'met' if ok else 'NOT met'}; wrote {path}")  # fmt: skip


if __name__ == "__main__":
    main()
