"""Many replicas, one batch: a batch in Redis (``RedisBatchStore``) shared by P processes,
against ONE local Braket service with the AWS default quotas (quotas shared through Redis too).

Rows, one run each:

* ``file-1``: one process, the default file store (the baseline);
* ``redis-1``: one process, the Redis store;
* ``redis-4``: process 0 submits, processes 1-3 join (``attach_batch``);
* ``redis-4-kill``: the same, process 0 killed with SIGKILL at 30 % created;
* ``redis-4-sqs``: as ``redis-4``, every process with
  ``BraketSession(events=RedisEventFanout(queue_url, ...))`` on ONE shared SQS queue (the
  service's embedded moto: ``ensure_event_queue`` makes the EventBridge rule -> queue, what
  ``braket-async events setup`` runs; the service publishes each status change with
  PutEvents), the events fanned out to every process through one Redis stream. Target:
  <= 0.02 status calls per task.

Each row reports wall time (the batch stored, before its first create, to the last outcome
any process saw; the joiners start then, so their start-up is inside it) against the
quota bound ``(N - burst) / rate`` (CreateQuantumTask 20/s, burst 40), duplicates and lost
tasks from the service's ledger (``tasks_created - N``; items without an outcome), whether
every outcome is on the outcome stream exactly once (read by a surviving process), each
process's ``progress`` after the end against the ledger, client CPU per task (all processes),
status calls per task (``GetQuantumTask`` + ``SearchQuantumTasks`` in the ledger / N),
and Redis memory per item (``MEMORY USAGE`` of the batch's keys after it finished).
Needs ``redis-server``. Writes ``benchmarks/out/bench_replicas.json``.

    python benchmarks/bench_replicas.py                    # N=2000 (several minutes)
    python benchmarks/bench_replicas.py --tasks 300 --rows redis-4,redis-4-kill
    python benchmarks/bench_replicas.py --tasks 2000 --rows redis-4-sqs [--max-in-flight 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, local_service, write_json
from _redis_server import redis_server

from braket_async.ratelimit import AWS_DEFAULT_RATES

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
ONE = "OPENQASM 3;\nqubit[1] q;\nbit[1] c;\nx q[0];\nc = measure q;"
CREATE_RATE = AWS_DEFAULT_RATES["CreateQuantumTask"].per_second
CREATE_BURST = AWS_DEFAULT_RATES["CreateQuantumTask"].burst
ROWS = ("file-1", "redis-1", "redis-4", "redis-4-kill", "redis-4-sqs")
REFILL_SECONDS = 6.0


# ---------------------------------------------------------------------------- worker (child)


async def worker(config: dict[str, Any]) -> dict[str, Any]:
    from braket_async import BatchOptions, BraketSession, RateLimits
    from braket_async.batch_redis import RedisBatchStore
    from braket_async.errors import ParameterError
    from braket_async.ratelimit_redis import RedisQuota

    store = None
    if config["store"] == "redis":
        store = RedisBatchStore(config["redis_url"], claim_idle=config["claim_idle"])
    limits = RateLimits.aws_defaults(shared=RedisQuota(config["redis_url"], key=config["key"]))
    fanout = None
    if config.get("queue_url"):
        from braket_async.events_redis import RedisEventFanout

        fanout = RedisEventFanout(
            config["queue_url"], redis_url=config["redis_url"], key=config["key"]
        )
    in_flight = {"max_in_flight": config["max_in_flight"]} if config["max_in_flight"] else {}
    cpu0 = time.process_time()
    async with BraketSession(rate_limits=limits, events=fanout) as braket:
        if config["role"] == "submit":
            batch = braket.submit_batch(
                [ONE] * config["tasks"], device_arn=SV1, shots=10,
                output_s3_bucket=config["bucket"], output_s3_key_prefix="replicas",
                details=False, store=store,
                options=BatchOptions(batch_id=config["batch_id"], **in_flight),
            )  # fmt: skip
            if store is not None:
                await batch.stored()
            print(json.dumps({"event": "stored", "at": time.time()}), flush=True)
        else:
            while True:
                try:
                    batch = await braket.attach_batch(
                        config["batch_id"], store=store, options=BatchOptions(**in_flight)
                    )
                    break
                except ParameterError:
                    await asyncio.sleep(0.05)
            print(json.dumps({"event": "attached"}), flush=True)
        async with batch:
            outcomes = await batch.wait()
        progress = batch.progress
        fanout_stats = dict(fanout.stats) if fanout is not None else None
        tracked = batch.tracker_stats
    return {
        "event": "done",
        "end": time.time(),
        "cpu_seconds": time.process_time() - cpu0,
        "outcomes": len(outcomes),
        "completed": sum(1 for o in outcomes if o.status is not None and o.ok),
        "distinct_positions": len({o.position for o in outcomes}),
        "progress": {"submitted": progress.submitted, "completed": progress.completed,
                     "done": progress.done},
        "fanout": fanout_stats,
        "tracker": None if tracked is None else attrs.asdict(tracked),
    }  # fmt: skip


# ---------------------------------------------------------------------------- parent


def spawn(config: dict[str, Any], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", json.dumps(config)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip


def last_json(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        if line.strip():
            result = json.loads(line)
    proc.wait()
    return result


async def redis_memory(url: str, batch_id: str, tasks: int) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from braket_async.batch_redis import RedisBatchStore

    client = aioredis.Redis.from_url(url)
    try:
        total = 0
        by_key = {}
        for name, key in RedisBatchStore(url).keys(batch_id).items():
            usage = await client.memory_usage(key, samples=0) or 0
            by_key[name] = usage
            total += usage
        keys = RedisBatchStore(url).keys(batch_id)
        ttl = await client.pttl(keys["meta"])
        # tasks recorded as "created slowly" (the create took longer than the tracker's
        # slack): the leader's tracker locates those by SearchQuantumTasks
        created = await client.xrange(keys["created"])
        slow = sum(1 for _, fields in created if b"s" in fields)
    finally:
        await client.aclose()
    return {
        "bytes_per_item": round(total / tasks, 1), "by_key": by_key, "meta_ttl_ms": ttl,
        "created_slowly": slow,
    }  # fmt: skip


async def shared_event_queue(service: Any, name: str) -> str:
    """The rule -> queue ``braket-async events setup`` makes, on the service's moto."""
    from braket_async import BraketSession, RateLimits
    from braket_async.events import ensure_event_queue

    async with BraketSession(
        endpoint_url=service.endpoint_url, sqs_endpoint_url=service.s3_endpoint_url,
        events_endpoint_url=service.s3_endpoint_url, region_name=service.region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        rate_limits=RateLimits.off(),
    ) as braket:  # fmt: skip
        setup = await ensure_event_queue(braket.sqs, braket.eventbridge, queue_name=name)
    return setup.queue_url


def run_row(row: str, args: argparse.Namespace, service: Any, url: str) -> dict[str, Any]:
    batch_id = f"{row}-{uuid.uuid4().hex[:8]}"
    processes = 1 if row.endswith("-1") else args.processes
    base = {
        "store": "file" if row.startswith("file") else "redis", "redis_url": url,
        "key": f"bench-{uuid.uuid4().hex[:6]}", "claim_idle": args.claim_idle,
        "tasks": args.tasks, "batch_id": batch_id, "bucket": service.default_bucket,
        "max_in_flight": args.max_in_flight,
    }  # fmt: skip
    env = service.env()
    if row.endswith("sqs"):
        base["queue_url"] = asyncio.run(shared_event_queue(service, f"bench-replicas-{batch_id}"))
        env["AWS_ENDPOINT_URL_SQS"] = env["AWS_ENDPOINT_URL_EVENTBRIDGE"] = service.s3_endpoint_url
    service.reset_ledger()
    submitter = spawn({**base, "role": "submit"}, env)
    assert submitter.stdout is not None
    start = json.loads(submitter.stdout.readline())["at"]  # stored: the batch starts
    joiners = [spawn({**base, "role": "join"}, env) for _ in range(processes - 1)]
    killed = False
    if row.endswith("kill"):
        while service.ledger()["tasks_created"] < 0.3 * args.tasks:
            time.sleep(0.05)
        os.kill(submitter.pid, signal.SIGKILL)
        killed = True
    results = [last_json(p) for p in ([] if killed else [submitter]) + joiners]
    if killed:
        submitter.wait()
    ledger = service.ledger()
    wall = max(r["end"] for r in results) - start
    calls = ledger["calls"]
    status_calls = calls.get("GetQuantumTask", 0) + calls.get("SearchQuantumTasks", 0)
    bound = max(0.0, (args.tasks - CREATE_BURST) / CREATE_RATE)
    out: dict[str, Any] = {
        "row": row, "processes": processes, "tasks": args.tasks, "wall_seconds": round(wall, 2),
        "quota_bound_seconds": round(bound, 2),
        "wall_over_bound": round(wall / bound, 3) if bound else None,
        "duplicates": ledger["tasks_created"] - args.tasks,
        "lost": args.tasks - min(r["completed"] for r in results),
        "outcomes_once_each": all(
            r["outcomes"] == r["distinct_positions"] == args.tasks for r in results
        ),
        "progress_matches_ledger": all(
            r["progress"]["submitted"] == ledger["tasks_created"] for r in results
        ),
        "client_cpu_ms_per_task": round(
            1000 * sum(r["cpu_seconds"] for r in results) / args.tasks, 3
        ),
        "throttled": ledger.get("total_throttled", 0),
        "status_calls_per_task": round(status_calls / args.tasks, 4),
    }
    if args.max_in_flight:
        out["max_in_flight"] = args.max_in_flight
    if "queue_url" in base:
        stats = [r["fanout"] for r in results]
        out["fanout"] = {k: sum(s.get(k, 0) for s in stats) for k in stats[0]}
        out["status_calls"] = {
            op: calls.get(op, 0) for op in ("GetQuantumTask", "SearchQuantumTasks")
        }
        out["trackers"] = [r["tracker"] for r in results if r["tracker"]]
    if base["store"] == "redis":
        out["redis_memory"] = asyncio.run(redis_memory(url, batch_id, args.tasks))
    if killed:
        out["claim_idle"] = args.claim_idle
        out["target_seconds"] = round(1.05 * bound + args.claim_idle, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--claim-idle", type=float, default=5.0)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument(
        "--max-in-flight", type=int, default=None,
        help="BatchOptions.max_in_flight per process (default: the library's)",
    )  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(OUT_DIR))
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(worker(json.loads(args.worker)))), flush=True)
        return
    rows = []
    with redis_server() as url, local_service(queue_delay=0.0, run_delay=0.0) as service:
        for i, row in enumerate(args.rows.split(",")):
            if i:
                time.sleep(REFILL_SECONDS)
            result = run_row(row, args, service, url)
            print(json.dumps(result), flush=True)
            rows.append(result)
    path = write_json("bench_replicas.json", {"rows": rows}, Path(args.out))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
