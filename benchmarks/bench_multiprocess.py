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

The ``outage-stop`` and ``outage-freeze`` modes share the quota through Redis too, but Redis
is stopped (or frozen with SIGSTOP) ``--outage-at`` seconds after the last process started
submitting (a loaded machine may start them seconds apart) and
started again (thawed) ``--outage-for`` seconds later (defaults: 4 s and 6 s, the case of
issue #20). Each process then paces at its share of the quota; targets: <= 5 % of the creates
throttled, and the creation rate once Redis is back the same as without an outage (the
``rates`` windows: before, during and after the outage, tasks/s over all processes).

Needs ``redis-server`` on PATH (``apt-get install redis-server``); it starts its own on a free
port, and the service with ``python -m braket_async.local serve``. Writes
``benchmarks/out/bench_multiprocess.json``.

    python benchmarks/bench_multiprocess.py                  # P=4, N=150 per process (~2 min)
    python benchmarks/bench_multiprocess.py --processes 2 --tasks 60
    python benchmarks/bench_multiprocess.py --processes 2 --tasks 150 \
        --modes shared,outage-stop,outage-freeze,local --name bench_multiprocess_outage.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, local_service, run_peer, write_json
from _redis_server import RedisProcess, redis_process

from braket_async.ratelimit import AWS_DEFAULT_RATES

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
#: The AWS default CreateQuantumTask quota (20/s, burst 40).
CREATE_RATE = AWS_DEFAULT_RATES["CreateQuantumTask"].per_second
CREATE_BURST = AWS_DEFAULT_RATES["CreateQuantumTask"].burst
MODES = ("shared", "local", "outage-stop", "outage-freeze")
DEFAULT_MODES = ("shared", "local")
#: Seconds for the service's buckets to fill again between modes (account: 600 at 140/s).
REFILL_SECONDS = 6.0


# ---------------------------------------------------------------------------- worker (child)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One process: wait for the common start, submit a batch of ``--tasks``, follow it to
    the end; sample how many tasks it has created over time."""
    from braket_async import BraketSession, RateLimits
    from braket_async.ratelimit_redis import RedisQuota

    shared = RedisQuota(args.redis_url, key=args.key) if args.mode != "local" else None

    async def run() -> dict[str, Any]:
        async with BraketSession(rate_limits=RateLimits.aws_defaults(shared=shared)) as braket:
            await asyncio.sleep(max(0.0, args.start_at - time.time()))
            started = time.time()
            if args.ready_dir:  # the parent times the outage from the real start
                path = Path(args.ready_dir, str(args.index))
                await asyncio.to_thread(path.write_text, repr(started))
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


def created_at(reports: list[dict[str, Any]], moment: float) -> int:
    """Tasks all workers had created at ``moment``."""
    return sum(count_at(r["samples"], moment) for r in reports)


def rate_between(reports: list[dict[str, Any]], start: float, end: float) -> float | None:
    """Tasks/s created by all workers between ``start`` and ``end`` (None: empty window)."""
    if end - start < 0.5:
        return None
    return round((created_at(reports, end) - created_at(reports, start)) / (end - start), 3)


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


def outage(
    redis: RedisProcess, mode: str, ready: Path, processes: int, at: float, seconds: float
) -> tuple[threading.Thread, list[float]]:
    """Stop (or freeze) Redis ``at`` seconds after the last worker started submitting (each
    writes its start time in ``ready``: on a loaded machine they start seconds apart, and a
    process that starts as Redis goes away has met no one to share with) and start (thaw)
    it ``seconds`` later. The second value is filled with the wall times of both."""
    times: list[float] = []

    def run() -> None:
        while len(list(ready.iterdir())) < processes:
            time.sleep(0.02)
        first = max(float(path.read_text()) for path in ready.iterdir())
        time.sleep(max(0.0, first + at - time.time()))
        redis.freeze() if mode == "outage-freeze" else redis.stop()
        times.append(time.time())
        time.sleep(max(0.0, first + at + seconds - time.time()))
        redis.thaw() if mode == "outage-freeze" else redis.start()
        times.append(time.time())

    thread = threading.Thread(target=run, name=f"bench {mode}", daemon=True)
    thread.start()
    return thread, times


def run_mode(
    mode: str, args: argparse.Namespace, service: Any, redis: RedisProcess
) -> dict[str, Any]:
    service.reset_ledger()
    start_at = time.time() + args.startup
    key = f"bench-{uuid.uuid4().hex[:8]}"
    argv = [
        sys.executable, __file__, "--worker", "--mode", mode, "--tasks", str(args.tasks),
        "--shots", str(args.shots), "--bucket", service.default_bucket,
        "--redis-url", redis.url, "--key", key, "--start-at", repr(start_at),
    ]  # fmt: skip
    ready = Path(tempfile.mkdtemp(prefix="bench-multiprocess-"))
    argv += ["--ready-dir", str(ready)]
    fault, times = None, [math.inf, math.inf]
    if mode.startswith("outage"):
        fault, times = outage(redis, mode, ready, args.processes, args.outage_at, args.outage_for)
    with ThreadPoolExecutor(args.processes) as pool:
        reports = list(
            pool.map(
                lambda i: run_peer([*argv, "--index", str(i)], env=service.env(), timeout=1800),
                range(args.processes),
            )
        )
    if fault is not None:
        fault.join()
    shutil.rmtree(ready, ignore_errors=True)
    down, up = times
    row = summarize(reports, service.ledger(), args.tasks)
    first = min(r["started"] for r in reports)
    last = min(r["samples"][-1][0] for r in reports)  # while every process still submits
    row["rates"] = {  # tasks/s; the first second (the burst) and a second after "up" left out
        "before": rate_between(reports, first + 1.0, min(down, last)),
        "during": rate_between(reports, down, min(up, last)),
        "after": rate_between(reports, up + 1.0, last),
        "steady": rate_between(reports, first + 1.0, last),
    }
    row["started_late_seconds"] = [round(r["started"] - start_at, 3) for r in reports]
    if fault is not None:
        row["outage"] = {"at": args.outage_at, "seconds": args.outage_for}
        row["created_by_outage"] = [
            [count_at(r["samples"], t) for t in (down, up)] for r in reports
        ]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=150, help="tasks per process")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument(
        "--startup", type=float, default=8.0, help="seconds given to the workers to start"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--name", default="bench_multiprocess.json", help="output file name")
    parser.add_argument(
        "--modes", default=",".join(DEFAULT_MODES), help=f"comma-separated, of {', '.join(MODES)}"
    )
    parser.add_argument("--outage-at", type=float, default=4.0, help="seconds after the start")
    parser.add_argument("--outage-for", type=float, default=6.0, help="seconds Redis is out")
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--ready-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args)))
        return
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"--modes: unknown {unknown}; choose from {', '.join(MODES)}")

    results: dict[str, Any] = {
        "processes": args.processes,
        "tasks_per_process": args.tasks,
        "quota": {"CreateQuantumTask": [CREATE_RATE, CREATE_BURST]},
        "modes": {},
    }
    with redis_process() as redis, local_service() as service:
        for i, mode in enumerate(modes):
            if i:
                time.sleep(REFILL_SECONDS)
            results["modes"][mode] = run_mode(mode, args, service, redis)
    path = write_json(args.name, results, args.out)

    print(f"{args.processes} processes x {args.tasks} tasks, one service, AWS default quotas")
    print(f"{'':13} {'tasks/s':>8} {'bound':>7} {'ratio':>6} {'429s':>12} {'creates 429':>12}"
          "  share vs equal   tasks/s before/during/after")  # fmt: skip
    for mode, row in results["modes"].items():
        throttled = f"{row['service_throttled']} ({row['throttled_pct']:.1f}%)"
        creates = f"{row['create_throttled']} ({row['create_throttled_pct']:.1f}%)"
        shares = " ".join(f"{s:.2f}" for s in row["share_vs_equal"])
        windows = "/".join(
            "-" if row["rates"][w] is None else f"{row['rates'][w]:.1f}"
            for w in ("before", "during", "after")
        )
        print(
            f"{mode:13} {row['tasks_per_second']:8.2f} {row['quota_bound_tasks_per_second']:7.2f}"
            f" {row['vs_quota_bound']:6.3f} {throttled:>12} {creates:>12}  {shares:<16} {windows}"
        )
    verdicts = []
    shared = results["modes"].get("shared")
    if shared is not None:
        ok = (
            shared["vs_quota_bound"] >= 0.95
            and shared["throttled_pct"] <= 1.0
            and all(0.5 <= s <= 2.0 for s in shared["share_vs_equal"])
        )
        verdicts.append(f"shared >= 0.95x bound, <= 1% throttled, shares within 2x: "
                        f"{'met' if ok else 'NOT met'}")  # fmt: skip
    for mode in ("outage-stop", "outage-freeze"):
        row = results["modes"].get(mode)
        if row is None:
            continue
        after, steady = row["rates"]["after"], (shared or row)["rates"]["steady"]
        same = f"{after / steady:.2f}x the shared steady rate" if after and steady else "n/a"
        ok = row["create_throttled_pct"] <= 5.0
        verdicts.append(f"{mode}: <= 5% creates throttled: {'met' if ok else 'NOT met'}, "
                        f"rate after {same}")  # fmt: skip
    print("targets: " + "; ".join(verdicts) + f"; wrote {path}")


if __name__ == "__main__":
    main()
