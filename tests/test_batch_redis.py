"""Batches in Redis with real processes: a replica killed with SIGKILL mid-batch is taken over,
another process attaches (progress, outcomes, cancel), an outcome reader resumes from a
position, and a Redis restart mid-batch loses and duplicates nothing. Checked against the
local service's ledger (one task per client token)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from _common import SV1, session_on
from _redis import RedisServer, redis_server_binary, running_redis

from braket_async import BatchOptions, QuantumTaskStatus, Rate, RateLimits, errors
from braket_async.batch import ItemNotSubmitted
from braket_async.batch_redis import RedisBatchStore
from braket_async.local import LocalBraket, Quotas
from braket_async.polling import PollPolicy
from braket_async.tracking import SweepPolicy, TrackerOptions

LocalFactory = Callable[..., Awaitable[LocalBraket]]
REPLICA = Path(__file__).with_name("_batch_replica.py")
ONE = "OPENQASM 3;\nqubit[1] q;\nbit[1] c;\nx q[0];\nc = measure q;"
FAST = BatchOptions(
    tracker=TrackerOptions(
        poll=PollPolicy(initial=0.05, multiplier=1.5, maximum=0.3),
        sweep=SweepPolicy(min_interval=0.05),
    ),
)
CLAIM_IDLE = 1.0


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


class Replica:
    """``tests/_batch_replica.py`` in a child process; its JSON lines read as they come."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, tmp: Path, **config: Any) -> Replica:
        stderr = tmp / f"replica-{uuid.uuid4().hex[:6]}.log"
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(REPLICA), json.dumps(config),
                stdout=asyncio.subprocess.PIPE, stderr=sink,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )  # fmt: skip
        return cls(process, stderr)

    async def next_event(self, within: float = 60.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            line = await self.process.stdout.readline()
        if not line:
            code = await self.process.wait()
            raise AssertionError(
                f"replica exited with {code} before its next event: "
                f"{self.stderr.read_text()[-3000:]}"
            )
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    def kill(self) -> None:
        assert self.process.returncode is None, self.stderr.read_text()[-3000:]
        os.kill(self.process.pid, signal.SIGKILL)

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


def config_for(local: LocalBraket, server: RedisServer, prefix: str, **more: Any) -> dict[str, Any]:
    return {
        "endpoint_url": local.endpoint_url,
        "s3_endpoint_url": local.s3_endpoint_url,
        "bucket": local.default_bucket,
        "redis_url": server.url,
        "prefix": prefix,
        "claim_idle": CLAIM_IDLE,
        **more,
    }


def tasks_by_token(local: LocalBraket, batch_id: str) -> dict[str, list[str]]:
    """client token -> the task ARNs the service holds for it (one each, or a duplicate)."""
    found: dict[str, list[str]] = {}
    for task in local.store.task_list:
        if task.client_token.startswith(f"{batch_id}-"):
            found.setdefault(task.client_token, []).append(task.arn)
    return found


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within}s")
        await asyncio.sleep(0.02)


async def outcome_stream(server: RedisServer, store: RedisBatchStore, batch_id: str) -> list[
    dict[str, str]
]:
    """Every entry of the batch's outcome stream, read straight from Redis."""
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    try:
        entries = await client.xrange(store.keys(batch_id)["outcomes"])
    finally:
        await client.aclose()
    return [fields for _id, fields in entries]


async def test_a_replica_killed_mid_batch_is_taken_over_without_duplicates(
    make_local: LocalFactory, redis_server: RedisServer, tmp_path: Path
) -> None:
    local = await make_local(quotas=Quotas.off())
    n, batch_id, prefix = 40, f"kill-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:6]}"
    # The joiner is up first and attaches as soon as the batch is stored; 8 creates/s
    # each: the batch takes seconds, so the kill lands mid-batch.
    joiner = await Replica.start(
        tmp_path, **config_for(local, redis_server, prefix, role="join", batch_id=batch_id,
                               create_rate=8.0)
    )  # fmt: skip
    submitter = None
    try:
        assert (await joiner.next_event())["event"] == "waiting"
        submitter = await Replica.start(
            tmp_path, **config_for(local, redis_server, prefix, role="submit", n=n,
                                   batch_id=batch_id, create_rate=8.0)
        )  # fmt: skip
        assert (await submitter.next_event())["event"] == "stored"
        assert (await joiner.next_event())["event"] == "attached"
        await until(lambda: len(tasks_by_token(local, batch_id)) >= 0.3 * n, 60, "30 % created")
        submitter.kill()  # holds items in flight, and most likely the tracking lease
        done = await joiner.next_event(within=90)
    finally:
        await joiner.close()
        if submitter is not None:
            await submitter.close()
    assert done["event"] == "done"
    assert submitter is not None and submitter.process.returncode == -signal.SIGKILL
    created = tasks_by_token(local, batch_id)
    assert sorted(created) == sorted(f"{batch_id}-{i}" for i in range(n))  # none lost
    assert all(len(arns) == 1 for arns in created.values())  # none twice
    assert local.ledger.snapshot()["tasks_created"] == n
    # The survivor saw every outcome, with the service's ARNs.
    assert done["outcomes"] == {str(i): "COMPLETED" for i in range(n)}
    assert {done["arns"][str(i)] for i in range(n)} == {a[0] for a in created.values()}
    # Each outcome once on the stream; the counters agree with the service.
    store = RedisBatchStore(redis_server.url, prefix=prefix)
    stream = await outcome_stream(redis_server, store, batch_id)
    assert sorted(int(f["i"]) for f in stream) == list(range(n))
    assert done["counts"]["submitted"] == done["counts"]["completed"] == n


async def test_another_process_attaches_reads_progress_and_cancels(
    make_local: LocalFactory, redis_server: RedisServer, tmp_path: Path
) -> None:
    local = await make_local(quotas=Quotas.off(), queue_delay=3600.0)  # tasks stay QUEUED
    n, batch_id, prefix = 30, f"att-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:6]}"
    submitter = await Replica.start(
        tmp_path, **config_for(local, redis_server, prefix, role="submit", n=n, batch_id=batch_id,
                     create_rate=5.0)
    )  # fmt: skip
    store = RedisBatchStore(redis_server.url, prefix=prefix, claim_idle=CLAIM_IDLE)
    try:
        assert (await submitter.next_event())["event"] == "stored"
        await until(lambda: len(tasks_by_token(local, batch_id)) >= 5, 60, "5 tasks created")
        async with session_on(local, rate_limits=RateLimits.off()) as braket:
            with pytest.raises(errors.ParameterError, match="no batch 'nope'") as unknown:
                await braket.attach_batch("nope", store=store)
            assert unknown.value.field == "batch_id"
            batch = await braket.attach_batch(batch_id, store=store, take_part=False)
            async with batch:
                assert len(batch) == n
                progress = await batch.refresh()
                assert progress.total == n and 5 <= progress.submitted < n
                assert progress.pending == progress.submitted  # QUEUED: none terminal
                assert set(batch.task_arns.values()) <= {
                    a for arns in tasks_by_token(local, batch_id).values() for a in arns
                }
                cancelled = await batch.cancel()
                outcomes = await asyncio.wait_for(batch.wait(), 60)
        done = await submitter.next_event(within=60)
    finally:
        await submitter.close()
    created = tasks_by_token(local, batch_id)
    assert all(len(arns) == 1 for arns in created.values())
    ledger = local.ledger.snapshot()
    # Every task created, by whichever process, was cancelled: the ones recorded before the
    # request by this process, any recorded after it by the submitter.
    assert ledger["tasks_cancelled"] == ledger["tasks_created"] == len(created)
    assert set(cancelled) <= {a[0] for a in created.values()}
    by_kind = {o.index: o for o in outcomes}
    for index in range(n):
        outcome = by_kind[index]
        if f"{batch_id}-{index}" in created:
            assert outcome.status == QuantumTaskStatus.CANCELLED, outcome
        else:
            assert isinstance(outcome.error, ItemNotSubmitted), outcome
    # The submitting process saw the same outcomes.
    assert done["event"] == "done"
    assert done["outcomes"] == {
        str(o.index): "CANCELLED" if o.task_arn else "ItemNotSubmitted" for o in outcomes
    }


async def test_a_reader_resumes_the_outcome_stream_after_a_position(
    make_local: LocalFactory, redis_server: RedisServer
) -> None:
    local = await make_local(quotas=Quotas.off())
    store = RedisBatchStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex[:6]}")
    n = 12
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        batch = braket.submit_batch(
            [ONE] * n, device_arn=SV1, shots=5, output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="resume", store=store, details=False, options=FAST,
        )  # fmt: skip
        async with batch:
            first = [o async for o in batch]
        # A reader that saw the first five (an SSE client's Last-Event-ID), reconnecting
        # through a batch attached anew: the rest, each once, nothing before it again.
        last_seen = first[4].position
        assert last_seen is not None
        again = await braket.attach_batch(batch.batch_id or "", store=store, take_part=False)
        async with again:
            rest = [o async for o in again.as_completed(after=last_seen)]
            everything = [o async for o in again]
    assert [o.position for o in rest] == [o.position for o in first[5:]]
    assert [o.index for o in rest] == [o.index for o in first[5:]]
    assert all(o.status == QuantumTaskStatus.COMPLETED for o in rest)
    assert [o.index for o in everything] == [o.index for o in first]
    with pytest.raises(errors.ParameterError, match="a position"):
        async with session_on(local) as braket:
            b = await braket.attach_batch(batch.batch_id or "", store=store, take_part=False)
            async with b:
                _ = [o async for o in b.as_completed(after="not-a-position")]


async def test_a_redis_restart_mid_batch_pauses_creation_and_loses_nothing(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local(quotas=Quotas.off())
    server = RedisServer(redis_server_binary(), appendonly=True)
    server.start()
    try:
        store = RedisBatchStore(server.url, prefix="restart", claim_idle=CLAIM_IDLE, timeout=1.0)
        n = 40
        limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(10.0, 2))
        async with session_on(local, rate_limits=limits) as braket:
            batch = braket.submit_batch(
                [ONE] * n, device_arn=SV1, shots=5, output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="restart", store=store, details=False,
                options=BatchOptions(batch_id="restart-1", tracker=FAST.tracker, max_in_flight=4),
            )  # fmt: skip
            async with batch:
                await batch.stored()
                await until(lambda: local.ledger.snapshot()["tasks_created"] >= 10, 60, "10")
                server.stop()  # SIGTERM: Redis writes its AOF and exits
                stopped_at = local.ledger.snapshot()["tasks_created"]
                await asyncio.sleep(1.5)
                # Creation paused: at most the creates under way when Redis went away.
                assert local.ledger.snapshot()["tasks_created"] <= stopped_at + 4
                server.start()
                outcomes = await asyncio.wait_for(batch.wait(), 90)
            retries = batch._state.store.outage_retries  # type: ignore[attr-defined]
    finally:
        server.close()
    assert retries > 0  # the store did see the outage
    created = tasks_by_token(local, "restart-1")
    assert len(created) == n and all(len(a) == 1 for a in created.values())
    assert local.ledger.snapshot()["tasks_created"] == n
    assert sorted(o.index for o in outcomes) == list(range(n))
    assert all(o.status == QuantumTaskStatus.COMPLETED for o in outcomes)
