"""Where the time of a faulted batch goes: a timeline of one ``bench_recovery`` batch.

Runs the batch of ``bench_recovery.py`` (N tasks, AWS quotas, the fault mix on every
operation) in this process against a local service in another, and prints: when the last
create succeeded (the end of submission) and the last outcome arrived (the tracking tail),
the client limiter's CreateQuantumTask rate over time (cut by 429s), the create attempts per
item, the longest per-item create time, and the batch's own backoff sleeps (retries, breaker,
tracker polls).

    python benchmarks/profile_recovery.py --seed 1 [--no-details] [--clean]
    python benchmarks/profile_recovery.py --only CreateQuantumTask   # faults on creates only
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import local_service
from bench_recovery import BELL, FAULT_MIX, SV1

from braket_async import BatchOptions, BatchProgress, BraketSession, RateLimits


async def profile(args: argparse.Namespace, env: dict[str, str], bucket: str) -> dict[str, Any]:
    import os

    os.environ.update(env)
    started = time.perf_counter()
    marks: dict[str, float] = {}
    rates: list[tuple[float, float]] = []
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(delay)

    def on_progress(p: BatchProgress) -> None:
        now = time.perf_counter() - started
        if p.submitted + p.submit_failed == p.total and "submitted" not in marks:
            marks["submitted"] = now
        if p.done >= p.total * 0.99 and "done_99" not in marks:
            marks["done_99"] = now
        if p.done == p.total and "done" not in marks:
            marks["done"] = now

    async with BraketSession(rate_limits=RateLimits.aws_defaults(scale=args.scale)) as s:

        async def sample() -> None:
            while True:
                rate = s.rate_limiter.current_rate("CreateQuantumTask")
                rates.append((time.perf_counter() - started, rate or 0.0))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        created: dict[int, float] = {}  # index -> when its create (or a replay) answered
        plain_create = s.create_quantum_task

        async def create_quantum_task(**kwargs: Any) -> str:
            arn = await plain_create(**kwargs)
            index = int(kwargs["client_token"].rsplit("-", 1)[1])
            created[index] = time.perf_counter() - started
            return arn

        s.create_quantum_task = create_quantum_task  # type: ignore[method-assign]
        batch = s.submit_batch(
            [BELL] * args.tasks,
            device_arn=SV1,
            shots=10,
            output_s3_bucket=bucket,
            output_s3_key_prefix="bench/profile",
            details=args.details,
            progress=on_progress,
            options=BatchOptions(sleep=sleep),
        )
        arrivals: list[tuple[float, int, int]] = []  # (seconds, index, create attempts)
        async for outcome in batch.as_completed():
            arrivals.append((time.perf_counter() - started, outcome.index, outcome.attempts))
        outcomes = await batch.wait()
        tracker = batch.tracker_stats
        sampler.cancel()
        limiter = s.rate_limiter.stats()["buckets"]["CreateQuantumTask"]
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "marks": marks,
        "rates": rates,
        "sleeps": sleeps,
        "attempts": Counter(o.attempts for o in outcomes),
        "failed": sum(1 for o in outcomes if not o.ok),
        "errors": [
            f"{o.index}: {o.state} after {o.attempts} attempts: {o.error!r} "
            f"{getattr(o.error, '__notes__', '')}"
            for o in outcomes
            if not o.ok
        ],
        "limiter": limiter,
        "tracker": tracker,
        "last": [(t, i, a, created.get(i)) for t, i, a in arrivals[-8:]],
    }


def report(row: dict[str, Any], ledger: dict[str, Any]) -> None:
    print(f"wall {row['wall']:.2f}s  marks {({k: round(v, 2) for k, v in row['marks'].items()})}")
    print(f"calls {ledger['calls']}  faults {ledger.get('faults')}")
    print(f"create attempts per item {sorted(row['attempts'].items())}  failed {row['failed']}")
    for line in row["errors"]:
        print("  ", line)
    print(f"limiter {row['limiter']}")
    print(f"tracker {row['tracker']}")
    print(
        "last outcomes (done s, index, attempts, created s):",
        [(round(t, 2), i, a, c and round(c, 2)) for t, i, a, c in row["last"]],
    )
    print("create rate over time:", " ".join(f"{t:.0f}:{r:.1f}" for t, r in row["rates"][::2]))
    sleeps = sorted(row["sleeps"])
    print(
        f"batch sleeps: {len(sleeps)}, total {sum(sleeps):.1f}s, max "
        f"{max(sleeps, default=0):.2f}s, >1s: {[round(s, 2) for s in sleeps if s > 1]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-details", dest="details", action="store_false")
    parser.add_argument("--clean", action="store_true", help="no faults (the first run)")
    parser.add_argument("--only", default="", help="the fault mix on these operations only")
    parser.add_argument("--reuse", type=int, default=0, help="more faulted runs, same service")
    args = parser.parse_args()
    with local_service(quota_scale=args.scale, latency=args.latency) as service:
        # --reuse N: N faulted runs after this one on the same service (its store grows)
        for run in range(1 + args.reuse):
            seed = args.seed + run
            faulted = not args.clean or run > 0
            mix = {**FAULT_MIX, "latency": args.latency} if faulted else {"latency": args.latency}
            faults: dict[str, Any] = {"default": mix, "seed": seed}
            if faulted and args.only:
                # the mix on these operations only (where does the time go?)
                faults = {
                    "default": {"latency": args.latency},
                    "per_operation": {op: mix for op in args.only.split(",")},
                    "seed": seed,
                }
            service.put_faults(faults)
            service.reset_ledger()
            row = asyncio.run(profile(args, service.env(), service.default_bucket))
            ledger = service.ledger()
            print(f"--- run {run}: {'faults seed ' + str(seed) if faulted else 'clean'}")
            report(row, ledger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
