"""The example FastAPI service under ``uvicorn --workers 4`` with a real Redis
(``BRAKET_ASYNC_REDIS_URL``): batches posted to several workers at once stay inside the
service's quota together, and a batch lives in Redis, where any worker answers for it and
the others finish it when the worker that accepted it is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from _redis import RedisServer, free_port, running_redis

from braket_async.local import LocalBraket, Quotas

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCALE = 0.5  # the service: CreateQuantumTask 10/s, burst 20
# the workers' limits, a little lower: margin for a loaded test machine's scheduling jitter
# (four workers on their own limits would still send about 3.5x the quota)
CLIENT_SCALE = 0.45
WORKERS = 4
BATCHES, TASKS = 8, 10


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def until(check: Callable[[], Any], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {within}s")
        await asyncio.sleep(0.1)


async def test_four_workers_share_the_quota_through_redis(
    make_local: Callable[..., Any], redis_server: RedisServer
) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.aws_defaults(scale=SCALE))
    key = f"example-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BRAKET_"))},
        "AWS_ENDPOINT_URL_BRAKET": local.endpoint_url,
        "AWS_ENDPOINT_URL_S3": local.s3_endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BRAKET_OUTPUT_BUCKET": local.default_bucket,
        "BRAKET_RATE_SCALE": str(CLIENT_SCALE),
        "BRAKET_SHOTS": "10",
        "BRAKET_ASYNC_REDIS_URL": redis_server.url,
        "BRAKET_ASYNC_REDIS_KEY": key,
    }
    argv = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "fastapi_service:app",
        "--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    server = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            if server.returncode is not None:
                raise AssertionError(f"uvicorn exited with {server.returncode}")
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    return (await http.get(f"{base}/ping")).status_code == 200
            except httpx.TransportError:
                return False

        await until(up, 90, "the example app answering /ping")
        local.ledger.reset()

        async def post(seed: int) -> str:
            # a client (a connection) each, so the kernel spreads them over the workers
            async with httpx.AsyncClient(timeout=60) as http:
                reply = await http.post(
                    f"{base}/batches", json={"n": TASKS, "kind": "ghz", "seed": seed}
                )
            assert reply.status_code == 202, reply.text
            batch_id: str = reply.json()["batch_id"]
            return batch_id

        await asyncio.gather(*(post(i) for i in range(BATCHES)))

        async def all_done() -> bool:
            return int(local.ledger.snapshot()["tasks_completed"]) >= BATCHES * TASKS

        await until(all_done, 120, "every task of every batch completed")
        ledger = local.ledger.snapshot()
        assert ledger["tasks_created"] == BATCHES * TASKS
        assert ledger["total_throttled"] == 0, ledger["throttled"]
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            assert await client.exists(f"braket-async:{{{key}}}:CreateQuantumTask") == 1
        finally:
            await client.aclose()
    finally:
        server.terminate()
        try:
            async with asyncio.timeout(60):
                await server.wait()
        except TimeoutError:
            server.kill()
            await server.wait()


async def test_any_worker_answers_for_a_batch_and_a_killed_worker_does_not_stop_it(
    make_local: Callable[..., Any], redis_server: RedisServer
) -> None:
    """Batches in Redis: the worker that accepted a batch is killed with SIGKILL mid-batch;
    the others finish it (one task per item), any worker answers its status and its event
    stream, which a client resumes with Last-Event-ID."""
    local: LocalBraket = await make_local(quotas=Quotas.off())
    n = 40
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BRAKET_"))},
        "AWS_ENDPOINT_URL_BRAKET": local.endpoint_url,
        "AWS_ENDPOINT_URL_S3": local.s3_endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BRAKET_OUTPUT_BUCKET": local.default_bucket,
        "BRAKET_RATE_SCALE": "0.25",  # CreateQuantumTask 5/s per worker: seconds of work
        "BRAKET_SHOTS": "10",
        "BRAKET_ASYNC_REDIS_URL": redis_server.url,
        "BRAKET_ASYNC_REDIS_KEY": f"example-{uuid.uuid4().hex[:8]}",
        "BRAKET_ASYNC_CLAIM_IDLE": "1.5",
    }
    argv = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "fastapi_service:app",
        "--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    server = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            if server.returncode is not None:
                raise AssertionError(f"uvicorn exited with {server.returncode}")
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    return (await http.get(f"{base}/ping")).status_code == 200
            except httpx.TransportError:
                return False

        await until(up, 90, "the example app answering /ping")
        async with httpx.AsyncClient(timeout=60) as http:
            reply = await http.post(f"{base}/batches", json={"n": n, "kind": "ghz"})
        assert reply.status_code == 202, reply.text
        batch_id, accepting = reply.json()["batch_id"], reply.json()["worker"]
        prefix = f"{batch_id}-"

        def created() -> int:
            return sum(1 for t in local.store.task_list if t.client_token.startswith(prefix))

        async def some_created() -> bool:
            return created() >= 0.3 * n

        await until(some_created, 60, "30 % of the batch created")
        os.kill(accepting, signal.SIGKILL)
        answered_by: set[int] = set()

        async def finished() -> bool:
            async with httpx.AsyncClient(timeout=30) as http:  # a connection each: any worker
                status = await http.get(f"{base}/batches/{batch_id}", params={"tasks": "false"})
            if status.status_code != 200:
                return False
            answered_by.add(status.json()["worker"])
            done: bool = status.json()["done"]
            return done

        await until(finished, 120, "the batch finished without the worker that accepted it")
        assert accepting not in answered_by
        tokens = [
            t.client_token for t in local.store.task_list if t.client_token.startswith(prefix)
        ]
        assert sorted(tokens) == sorted(f"{prefix}{i}" for i in range(n))  # none lost, none twice

        async def events(last_event_id: str | None) -> list[tuple[str, str, dict[str, Any]]]:
            headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
            found: list[tuple[str, str, dict[str, Any]]] = []
            async with httpx.AsyncClient(timeout=60) as http, http.stream(
                "GET", f"{base}/batches/{batch_id}/events", headers=headers
            ) as stream:
                event_id = kind = ""
                async for line in stream.aiter_lines():
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        found.append((event_id, kind, json.loads(line[6:])))
            return found

        everything = await events(None)
        tasks = [e for e in everything if e[1] == "task"]
        assert sorted(e[2]["index"] for e in tasks) == list(range(n))
        assert all(e[2]["status"] == "COMPLETED" for e in tasks)
        assert everything[-1][1] == "done"
        # A client that saw ten events reconnects: the rest, each once.
        resumed = await events(tasks[9][0])
        assert [e[0] for e in resumed if e[1] == "task"] == [e[0] for e in tasks[10:]]
    finally:
        server.terminate()
        try:
            async with asyncio.timeout(60):
                await server.wait()
        except TimeoutError:
            server.kill()
            await server.wait()
