"""Waiting for N tasks: woken by EventBridge -> SQS events vs polling GetQuantumTask.

One local Braket service in a child process (``python -m braket_async.local serve``, started
by ``_harness.local_service``; tasks QUEUED ``--queue-delay`` s and RUNNING ``--run-delay`` s at
least). Its embedded moto server runs EventBridge and SQS: ``ensure_event_queue`` (what
``braket-async events setup`` runs) creates the rule -> queue, and the service publishes every
status change with PutEvents, so the events take the real PutEvents -> rule -> SQS path.

Each phase creates N Bell tasks and runs one ``wait_for_quantum_task`` per task at once:

* ``events`` -- ``BraketSession(events=queue_url)``: each waiter sleeps until its task's
  terminal event arrives (safety-net poll: 5 s growing to 30 s);
* ``polling`` -- no feed: the default poll policy (0.5 s growing to 10 s, full jitter).

Latency per task: from the status change on the service (the task's ``endedAt``, stamped by
the service when it moves the task to COMPLETED) to the waiter returning, on the same
machine's clock. Status calls: GetQuantumTask requests counted by the service's ledger.

    python benchmarks/bench_events.py [--tasks N] [--queue-delay S] [--run-delay S]

Writes ``benchmarks/out/bench_events.json``. Target (issue #11): notification p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _harness import ServiceProcess, local_service, write_json

from braket_async import BraketSession, RateLimits
from braket_async.events import ensure_event_queue

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = (
    '{"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"}, '
    '"source": "OPENQASM 3;\\nqubit[2] q;\\nbit[2] c;\\nh q[0];\\ncnot q[0], q[1];\\n'
    'c = measure q;"}'
)


def _session(service: ServiceProcess, **extra: Any) -> BraketSession:
    return BraketSession(
        endpoint_url=service.endpoint_url,
        s3_endpoint_url=service.s3_endpoint_url,
        sqs_endpoint_url=service.s3_endpoint_url,
        events_endpoint_url=service.s3_endpoint_url,
        region_name=service.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        rate_limits=RateLimits.off(),
        **extra,
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run_phase(
    name: str, service: ServiceProcess, queue_url: str | None, n: int
) -> dict[str, Any]:
    extra = {"events": queue_url} if queue_url else {}
    async with _session(service, **extra) as braket:
        before = service.ledger()["calls"].get("GetQuantumTask", 0)
        latencies: list[float] = []

        async def create_and_wait() -> None:
            arn = await braket.create_quantum_task(
                device_arn=SV1,
                action=BELL,
                shots=10,
                output_s3_bucket=service.default_bucket,
                output_s3_key_prefix=f"bench-events/{name}",
            )
            task = await braket.wait_for_quantum_task(arn)
            returned = datetime.now(UTC)
            assert task.ended_at is not None
            latencies.append((returned - task.ended_at).total_seconds())

        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(create_and_wait() for _ in range(n)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        calls = service.ledger()["calls"].get("GetQuantumTask", 0) - before
    return {
        "tasks": n,
        "get_quantum_task_per_task": calls / n,
        "latency_p50_s": statistics.median(latencies),
        "latency_p99_s": _percentile(latencies, 0.99),
        "latency_max_s": max(latencies),
        "wall_s": wall,
        "client_cpu_s": cpu,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with local_service(
        no_quotas=True, queue_delay=args.queue_delay, run_delay=args.run_delay
    ) as service:
        async with _session(service) as braket:
            setup = await ensure_event_queue(
                braket.sqs, braket.eventbridge, queue_name="bench-events"
            )
        for name, queue_url in (("events", setup.queue_url), ("polling", None)):
            results[name] = await run_phase(name, service, queue_url, args.tasks)
    polling, events = results["polling"], results["events"]
    print(f"{'phase':<8} {'GetQuantumTask/task':>20} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    for name, r in results.items():
        print(
            f"{name:<8} {r['get_quantum_task_per_task']:>20.2f} {r['latency_p50_s']:>8.3f} "
            f"{r['latency_p99_s']:>8.3f} {r['latency_max_s']:>8.3f}"
        )
    ratio_calls = events["get_quantum_task_per_task"] / polling["get_quantum_task_per_task"]
    ratio_p50 = events["latency_p50_s"] / polling["latency_p50_s"]
    print(f"events/polling: status calls x{ratio_calls:.2f}, latency p50 x{ratio_p50:.2f}")
    return {
        "benchmark": "bench_events",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "settings": vars(args),
        "results": results,
        "ratios": {"status_calls": ratio_calls, "latency_p50": ratio_p50},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--queue-delay", type=float, default=1.0)
    parser.add_argument("--run-delay", type=float, default=2.0)
    report = asyncio.run(main(parser.parse_args()))
    print(write_json("bench_events.json", report))
