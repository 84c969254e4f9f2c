"""Status calls to follow N tasks to a terminal state: TaskTracker vs per-task 1 s polling.

Each strategy gets a fresh local Braket service in a child process (``python -m
braket_async.local serve``, started by ``_harness.local_service``) with the same settings:
AWS default quotas times ``--quota-scale`` (the client's rate limits use the same scale),
tasks RUNNING at least ``--run-delay`` seconds, at most 100 running at once (the SV1
concurrency quota), the rest QUEUED. N Bell-circuit tasks are created through a
``BraketSession`` as fast as the CreateQuantumTask quota allows, and followed as they are
created by:

* ``naive`` -- what the official SDK does: one poller per task calling GetQuantumTask once a
  second until the task is terminal, on an aiobotocore client with boto3's default retry
  mode (legacy, 5 attempts, throttles retried inside botocore);
* ``tracker`` -- one :class:`~braket_async.tracking.TaskTracker` for all tasks
  (``as_completed(details=False)``: the search summaries, no per-task detail call);
* ``tracker+details`` (``--details``) -- the same, yielding full ``QuantumTask`` models
  (one more GetQuantumTask per task seen finished by a sweep).

Status calls are counted by the server (its ledger: GetQuantumTask + SearchQuantumTasks
requests received, throttled ones included). "Throttles to caller" counts
ThrottlingExceptions that reached the code following the tasks (after the client's retries).

    python benchmarks/bench_tracking.py [--tasks N] [--quota-scale S] [--run-delay D]
                                        [--details]

Writes ``benchmarks/out/bench_tracking.json``. Target: tracker status calls per task at most
0.1x the naive poller's, and no ThrottlingException reaching the caller.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from _harness import ServiceProcess, local_service
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from braket_async import BraketSession, RateLimits, ThrottlingException
from braket_async.tracking import TaskTracker

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
# the local service verifies SigV4 with its credentials (serve's default: testing/testing)
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
OUT = Path(__file__).parent / "out" / "bench_tracking.json"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
STATUS_OPS = ("GetQuantumTask", "SearchQuantumTasks")


async def ledger(service: ServiceProcess) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers=service.control_headers()) as http,
        http.get(f"{service.endpoint_url}/_local/ledger") as r,
    ):
        data: dict[str, Any] = await r.json()
        return data


@contextlib.asynccontextmanager
async def session_on(service: ServiceProcess, scale: float) -> AsyncIterator[BraketSession]:
    async with BraketSession(
        endpoint_url=service.endpoint_url,
        s3_endpoint_url=service.s3_endpoint_url,
        region_name="us-east-1",
        rate_limits=RateLimits.aws_defaults(scale=scale),
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
    ) as braket:
        yield braket


async def create_all(braket: BraketSession, bucket: str, n: int, on_created: Any) -> None:
    """Create ``n`` tasks, at most 64 requests in flight (the rate limiter paces them)."""
    gate = asyncio.Semaphore(64)

    async def one() -> None:
        async with gate:
            arn = await braket.create_quantum_task(
                device_arn=SV1,
                action=BELL,
                shots=10,
                output_s3_bucket=bucket,
                output_s3_key_prefix="bench-tracking",
            )
        on_created(arn)

    await asyncio.gather(*(one() for _ in range(n)))


async def run_naive(service: ServiceProcess, args: argparse.Namespace) -> dict[str, Any]:
    throttled_to_caller = 0
    pollers: list[asyncio.Task[None]] = []
    # boto3's defaults: legacy retries (5 attempts, 429 retried), 10 connections per client;
    # the pool is raised to 100 so the client's pool is not what limits the poller.
    config = AioConfig(retries={"mode": "legacy"}, max_pool_connections=100)
    async with (
        session_on(service, args.quota_scale) as braket,
        AioSession().create_client(
            "braket",
            region_name="us-east-1",
            endpoint_url=service.endpoint_url,
            config=config,
            **CREDENTIALS,
        ) as raw,
    ):

        async def poll(arn: str) -> None:
            nonlocal throttled_to_caller
            while True:
                try:
                    response = await raw.get_quantum_task(quantumTaskArn=arn)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ThrottlingException":
                        raise
                    throttled_to_caller += 1
                else:
                    if response["status"] in TERMINAL:
                        return
                await asyncio.sleep(1.0)

        start = time.perf_counter()
        await create_all(
            braket,
            service.default_bucket,
            args.tasks,
            lambda arn: pollers.append(asyncio.create_task(poll(arn))),
        )
        await asyncio.gather(*pollers)
        wall = time.perf_counter() - start
    return {"wall_seconds": wall, "throttles_to_caller": throttled_to_caller}


async def run_tracker(
    service: ServiceProcess, args: argparse.Namespace, *, details: bool
) -> dict[str, Any]:
    throttled_to_caller = 0
    async with session_on(service, args.quota_scale) as braket:
        tracker = TaskTracker(braket)
        start = time.perf_counter()
        seen = 0
        async with tracker:

            def added(arn: str) -> None:
                tracker.add(arn, device_arn=SV1)

            async def produce() -> None:
                await create_all(braket, service.default_bucket, args.tasks, added)
                tracker.seal()

            producer = asyncio.create_task(produce())
            try:
                async for _ in tracker.as_completed(details=details, until_sealed=True):
                    seen += 1
            except ThrottlingException:
                throttled_to_caller += 1
                raise
            await producer
        wall = time.perf_counter() - start
    if seen != args.tasks:
        raise RuntimeError(f"tracker handed out {seen} tasks, expected {args.tasks}")
    stats = tracker.stats
    return {
        "wall_seconds": wall,
        "throttles_to_caller": throttled_to_caller,
        "tracker_stats": {
            "get_calls": stats.get_calls,
            "search_calls": stats.search_calls,
            "window_sweeps": stats.window_sweeps,
            "arn_sweeps": stats.arn_sweeps,
            "detail_calls": stats.detail_calls,
            "transient_errors": stats.transient_errors,
        },
    }


async def run_phase(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        # Starting and stopping the service process block (readline, wait): off the loop.
        service = await asyncio.to_thread(
            stack.enter_context,
            local_service(quota_scale=args.quota_scale, run_delay=args.run_delay, workers=1),
        )
        try:
            before = await ledger(service)
            if name == "naive":
                result = await run_naive(service, args)
            else:
                result = await run_tracker(service, args, details=name == "tracker+details")
            after = await ledger(service)
        finally:
            await asyncio.to_thread(stack.close)
    calls = {op: after["calls"].get(op, 0) - before["calls"].get(op, 0) for op in STATUS_OPS}
    throttled = {
        op: after["throttled"].get(op, 0) - before["throttled"].get(op, 0) for op in STATUS_OPS
    }
    status_calls = sum(calls.values())
    result.update(
        {
            "status_calls": status_calls,
            "status_calls_per_task": status_calls / args.tasks,
            "calls_by_operation": calls,
            "throttled_by_server": throttled,
            "tasks_completed": after["tasks_completed"] - before["tasks_completed"],
        }
    )
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    phases = ["naive", "tracker"] + (["tracker+details"] if args.details else [])
    results: dict[str, Any] = {}
    for name in phases:
        print(f"[{name}] {args.tasks} tasks ...", flush=True)
        results[name] = await run_phase(name, args)
        r = results[name]
        print(
            f"[{name}] status calls/task {r['status_calls_per_task']:.3f}  "
            f"wall {r['wall_seconds']:.1f}s  throttled by server {r['throttled_by_server']}  "
            f"throttles to caller {r['throttles_to_caller']}",
            flush=True,
        )
    naive = results["naive"]["status_calls_per_task"]
    summary = {
        name: {
            "status_calls_per_task": r["status_calls_per_task"],
            "ratio_vs_naive": r["status_calls_per_task"] / naive if naive else None,
            "wall_seconds": r["wall_seconds"],
            "throttles_to_caller": r["throttles_to_caller"],
        }
        for name, r in results.items()
    }
    return {
        "benchmark": "bench_tracking",
        "settings": {
            "tasks": args.tasks,
            "quota_scale": args.quota_scale,
            "run_delay": args.run_delay,
            "concurrent_tasks_quota": 100,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": results,
        "summary": summary,
        "target": "tracker status calls per task <= 0.1x naive; no throttle reaches the caller",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to follow (default 2000)")
    parser.add_argument(
        "--quota-scale", type=float, default=2.0, help="AWS default quotas x this (default 2)"
    )
    parser.add_argument(
        "--run-delay", type=float, default=5.0, help="seconds each task runs (default 5)"
    )
    parser.add_argument(
        "--details", action="store_true", help="also run the tracker yielding full tasks"
    )
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print()
    for name, row in report["summary"].items():
        ratio = row["ratio_vs_naive"]
        print(
            f"{name:>16}: {row['status_calls_per_task']:7.3f} status calls/task "
            f"({ratio:.3f}x naive), wall {row['wall_seconds']:.1f}s, "
            f"throttles to caller {row['throttles_to_caller']}"
        )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
