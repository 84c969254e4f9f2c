"""The Redis event fan-out (braket_async.events_redis) on a real redis-server: two fan-outs in
one process stand for two replicas, each with its own source (what its SQS receives)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from _common import BELL, create_task
from _event_queue import event_queue
from _redis import RedisServer, free_port, running_redis

from braket_async import BraketSession, errors
from braket_async.events import (
    BraketEvent,
    EventQueueNotFound,
    InMemoryEventFeed,
    JobStateChange,
    SqsEventSource,
    TaskStateChange,
)
from braket_async.events._codec import event_from_json, event_to_json
from braket_async.events._parse import MalformedEvent
from braket_async.events_redis import RedisEventFanout
from braket_async.local import LocalBraket
from braket_async.polling import PollPolicy


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def key() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


class Replica:
    """A fan-out on its own in-memory source, and what its subscriber and applier got."""

    def __init__(self, url: str, key: str, **kwargs: Any) -> None:
        self.source = InMemoryEventFeed()
        self.fanout = RedisEventFanout(
            self.source, redis_url=url, key=key, block=0.2, linger=0, **kwargs
        )
        self.events: list[BraketEvent] = []
        self.applied: list[BraketEvent] = []
        self._changed = asyncio.Event()

    def on_event(self, event: BraketEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def apply(self, event: BraketEvent) -> None:
        self.applied.append(event)

    def subscribe(self) -> Callable[[], None]:
        return self.fanout.subscribe(self.on_event)

    async def until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked on each event and every 10 ms)."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.01):
                        await self._changed.wait()

    def ids(self) -> list[str | None]:
        return [e.event_id for e in self.events]


@pytest.fixture
async def replicas(redis_server: RedisServer, key: str) -> AsyncIterator[tuple[Replica, Replica]]:
    a, b = Replica(redis_server.url, key), Replica(redis_server.url, key)
    try:
        yield a, b
    finally:
        await a.fanout.aclose()
        await b.fanout.aclose()


def task_event(status: str = "COMPLETED", *, event_id: str | None = None) -> TaskStateChange:
    return TaskStateChange(
        quantum_task_arn=f"arn:aws:braket:us-east-1:123456789012:quantum-task/{uuid.uuid4()}",
        status=status,  # type: ignore[arg-type]
        shots=100,
        event_id=event_id or str(uuid.uuid4()),
    )


async def eventually(probe: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``probe()`` until it is true."""
    for _ in range(int(within / 0.01)):
        if probe():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached within {within}s")


async def started(*replicas: Replica) -> None:
    """Wait until every fan-out's reader has its place in the stream (it starts after the
    newest entry there)."""
    await eventually(lambda: all(r.fanout._last_id is not None for r in replicas))


async def test_an_event_received_by_one_replica_reaches_every_replica_once(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    a.subscribe()
    b.subscribe()
    a.fanout.add_applier(a.apply)
    b.fanout.add_applier(b.apply)
    await started(a, b)
    event = task_event()
    a.source.publish(event)  # A's SQS receive got it
    await b.until(lambda: len(b.events) == 1)
    await a.until(lambda: a.fanout.stats["published"] == 1 and a.fanout.stats["read"] == 1)
    assert a.events == [event] and b.events == [event]  # once each, A's from its own receive
    assert a.applied == [event] and b.applied == []  # applied once, where it was received
    assert a.fanout.stats["duplicates"] == 1  # A's copy read back from the stream


async def test_a_duplicate_received_by_both_replicas_is_applied_once_and_delivered_once_each(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    a.subscribe()
    b.subscribe()
    a.fanout.add_applier(a.apply)
    b.fanout.add_applier(b.apply)
    await started(a, b)
    event = task_event()
    a.source.publish(event)
    b.source.publish(event)  # SQS delivered it twice, once to each replica
    later = task_event("RUNNING")
    b.source.publish(later)
    for replica in (a, b):
        await replica.until(lambda r=replica: len(r.events) == 2)  # type: ignore[misc]
    await asyncio.sleep(0.3)  # anything more would have arrived by now
    assert a.ids() == [event.event_id, later.event_id] or a.ids() == [
        later.event_id,
        event.event_id,
    ]
    assert sorted(b.ids(), key=str) == sorted([event.event_id, later.event_id], key=str)
    applied = [e.event_id for e in a.applied + b.applied]
    assert sorted(applied, key=str) == sorted([event.event_id, later.event_id], key=str)
    assert a.fanout.stats["redelivered"] + b.fanout.stats["redelivered"] == 1


async def test_a_replica_that_was_away_catches_up_from_the_stream(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    a.subscribe()
    unsubscribe_b = b.subscribe()
    await started(a, b)
    first = task_event("RUNNING")
    a.source.publish(first)
    await b.until(lambda: len(b.events) == 1)
    unsubscribe_b()  # B stops reading (a reconnect, a pause)
    await eventually(lambda: not b.fanout.running)
    missed = [task_event() for _ in range(3)]
    for event in missed:
        a.source.publish(event)
    await a.until(lambda: a.fanout.stats["published"] == 4)
    b.subscribe()  # reads on from its last entry: nothing lost, nothing repeated
    await b.until(lambda: len(b.events) == 4)
    assert b.ids() == [first.event_id, *(e.event_id for e in missed)]


async def test_the_stream_is_capped(redis_server: RedisServer, key: str) -> None:
    replica = Replica(redis_server.url, key, maxlen=10)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        replica.subscribe()
        for _ in range(300):
            replica.source.publish(task_event())
        await replica.until(lambda: replica.fanout.stats["published"] == 300)
        # XADD MAXLEN ~ trims whole macro nodes: about maxlen, never all 300
        assert await client.xlen(replica.fanout.redis.stream_key()) < 300
        assert await client.pttl(replica.fanout.redis.claim_key(str(replica.ids()[0]))) > 0
    finally:
        await replica.fanout.aclose()
        await client.aclose()


async def test_without_redis_the_receiving_replica_still_gets_its_events(key: str) -> None:
    replica = Replica(f"redis://127.0.0.1:{free_port()}/0", key, timeout=0.3)
    try:
        replica.subscribe()
        event = task_event()
        replica.source.publish(event)
        assert replica.events == [event]  # at once, not through Redis
        await eventually(lambda: replica.fanout.stats["publish_failed"] >= 1)
        assert replica.fanout.stats["read_errors"] >= 1
    finally:
        started_at = time.monotonic()
        await replica.fanout.aclose()
        assert time.monotonic() - started_at < 5.0


async def test_failed_reads_back_off_through_retry_target_with_the_injected_sleep(
    key: str,
) -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    backoff = PollPolicy(initial=0.2, multiplier=2.0, maximum=0.8, jitter=0.0)
    replica = Replica(
        f"redis://127.0.0.1:{free_port()}/0", key, timeout=0.3, read_backoff=backoff, sleep=sleep
    )
    try:
        replica.subscribe()
        await eventually(lambda: len(delays) >= 4)
        # every failed read retried, 0.2 s doubling to the 0.8 s cap (no Redis: none succeed)
        assert delays[:4] == [0.2, 0.4, 0.8, 0.8]
        assert replica.fanout.stats["read_errors"] >= 4
    finally:
        await replica.fanout.aclose()


async def test_a_redis_restart_loses_nothing_published_after_it(key: str) -> None:
    with running_redis() as server:
        a, b = Replica(server.url, key, timeout=0.3), Replica(server.url, key, timeout=0.3)
        try:
            a.subscribe()
            b.subscribe()
            await started(a, b)
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            event = task_event()
            # the first relay may meet the dropped connection: publish until B has it
            async with asyncio.timeout(20):
                while not b.events:
                    a.source.publish(event)  # a redelivery: dropped by id if relayed before
                    await asyncio.sleep(0.2)
            assert b.ids() == [event.event_id]
        finally:
            await a.fanout.aclose()
            await b.fanout.aclose()


async def test_a_failing_applier_is_logged_and_the_event_still_reaches_every_replica(
    replicas: tuple[Replica, Replica], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = replicas

    async def broken(event: BraketEvent) -> None:
        raise RuntimeError("store bug")

    a.fanout.add_applier(broken)
    b.subscribe()
    await started(a, b)
    event = task_event()
    with caplog.at_level(logging.ERROR, logger="braket_async.events_redis"):
        a.source.publish(event)
        await b.until(lambda: b.events == [event])
    assert a.fanout.stats["apply_failed"] == 1 and a.fanout.stats["published"] == 1
    assert any("applier failed" in r.getMessage() for r in caplog.records)


async def test_a_session_builds_the_sqs_source_checks_the_queue_and_closes_the_fanout(
    local_braket: LocalBraket, redis_server: RedisServer, key: str
) -> None:
    aws = local_braket.s3_endpoint_url
    kwargs: dict[str, Any] = {
        "endpoint_url": local_braket.endpoint_url, "s3_endpoint_url": aws,
        "sqs_endpoint_url": aws, "region_name": "us-east-1",
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
    }  # fmt: skip
    missing = f"{aws}/123456789012/no-such-queue-{uuid.uuid4().hex[:6]}"
    fanout = RedisEventFanout(missing, redis_url=redis_server.url, key=key)
    with pytest.raises(EventQueueNotFound, match="no-such-queue"):
        await BraketSession(**kwargs, events=fanout).open()

    async with event_queue(aws) as queue:
        fanout = RedisEventFanout(queue.url, redis_url=redis_server.url, key=key, linger=0)
        async with BraketSession(**kwargs, events=fanout) as braket:
            assert braket.events is fanout
            assert isinstance(fanout.source, SqsEventSource)
            fanout.subscribe(lambda event: None)
            assert fanout.running and fanout.source.running
        assert not fanout.running and not fanout.source.running
        with pytest.raises(errors.SessionStateError):
            fanout.subscribe(lambda event: None)


def test_bad_arguments_are_refused_naming_the_parameter() -> None:
    source = InMemoryEventFeed()
    with pytest.raises(errors.ParameterError, match="redis_url") as caught:
        RedisEventFanout(source, redis_url="http://x", key="k")
    assert caught.value.field == "redis_url"
    with pytest.raises(errors.ParameterError, match="key"):
        RedisEventFanout(source, redis_url="redis://x", key="a b")
    with pytest.raises(errors.ParameterError, match="maxlen"):
        RedisEventFanout(source, redis_url="redis://x", key="k", maxlen=0)
    with pytest.raises(errors.ParameterError, match="source"):
        RedisEventFanout("my-queue", redis_url="redis://x", key="k")
    with pytest.raises(errors.ParameterError, match="source"):
        RedisEventFanout(object(), redis_url="redis://x", key="k")  # type: ignore[arg-type]
    fanout = RedisEventFanout(
        "https://sqs.us-east-1.amazonaws.com/1/q", redis_url="redis://x", key="k"
    )
    with pytest.raises(errors.SessionStateError, match="no source yet"):
        fanout.subscribe(lambda event: None)


def test_events_survive_the_wire_form_and_hostile_entries_are_refused() -> None:
    task = task_event()
    job = JobStateChange(job_arn="arn:aws:braket:us-east-1:1:job/j", status="RUNNING")  # type: ignore[arg-type]
    assert event_from_json(event_to_json(task)) == task
    assert event_from_json(event_to_json(job)) == job
    for bad in (
        "[]",
        "{",
        '{"kind": "task"}',
        '{"kind": "other", "status": "x"}',
        '{"kind": "task", "quantum_task_arn": "a", "status": "X", "shots": "many"}',
        '{"kind": "task", "quantum_task_arn": "a", "status": "X", "created_at": "never"}',
        '{"kind": "job", "job_arn": "a", "status": 3}',
    ):
        with pytest.raises(MalformedEvent):
            event_from_json(bad)


# -- two real processes on one SQS queue -------------------------------------------------------

REPLICA = Path(__file__).resolve().parent / "_events_replica.py"
ACTION = json.dumps(
    {"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"}, "source": BELL}
)


class ReplicaProcess:
    """``tests/_events_replica.py`` in its own process, spoken to over its stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, config: dict[str, Any], log: Path) -> ReplicaProcess:
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(REPLICA), json.dumps(config),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
        return cls(process)

    async def read(self, within: float = 120.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            line = await self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the replica exited ({await self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.send("exit")
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture
async def evented_service(make_local: Any, local_braket: LocalBraket) -> LocalBraket:
    """A service whose tasks spend 1.5 s QUEUED and 0.5 s RUNNING, publishing events to the
    embedded moto (EventBridge -> SQS)."""
    local: LocalBraket = await make_local(
        queue_delay=1.5, run_delay=0.5, events_endpoint_url=local_braket.s3_endpoint_url
    )
    return local


async def test_replicas_on_one_queue_wake_each_others_waiters_and_apply_each_event_once(
    evented_service: LocalBraket, local_braket: LocalBraket, key: str, tmp_path: Path
) -> None:
    aws = local_braket.s3_endpoint_url
    session = {
        "endpoint_url": evented_service.endpoint_url, "s3_endpoint_url": aws,
        "sqs_endpoint_url": aws, "events_endpoint_url": aws, "region_name": "us-east-1",
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
    }  # fmt: skip
    reports: dict[int, dict[str, Any]] = {}
    terminal: dict[str, str] = {}  # task ARN -> its COMPLETED event's id
    with running_redis() as redis_server:
        async with (
            event_queue(aws) as queue,
            BraketSession(**{k: v for k, v in session.items() if "sqs" not in k}) as creator,
        ):
            config = {"queue_url": queue.url, "redis_url": redis_server.url, "key": key}
            replicas = [
                await ReplicaProcess.start(
                    {**config, "session": session}, tmp_path / f"replica{i}.log"
                )
                for i in range(2)
            ]
            try:
                for replica in replicas:
                    assert (await replica.read()) == {"ready": True}
                for _round in range(4):  # which replica receives what is up to SQS
                    arns = [
                        await create_task(creator, evented_service, ACTION, prefix="fanout")
                        for _ in range(6)
                    ]
                    for replica in replicas:
                        await replica.send(json.dumps({"arns": arns}))
                    for i, replica in enumerate(replicas):
                        reports[i] = await replica.read()
                        assert reports[i]["statuses"] == ["COMPLETED"] * 6
                    applied = reports[0]["applied"] + reports[1]["applied"]
                    terminal |= {arn: e for e, arn, status in applied if status == "COMPLETED"}
                    if all(crossed(reports, i, terminal) for i in (0, 1)):
                        break
            finally:
                for replica in replicas:
                    await replica.stop()
    applied = reports[0]["applied"] + reports[1]["applied"]
    ids = [event_id for event_id, _arn, _status in applied]
    assert len(ids) == len(set(ids))  # each event applied once, by one replica
    for i in (0, 1):  # each replica's subscribers got each event once
        assert len(reports[i]["delivered"]) == len(set(reports[i]["delivered"]))
        assert set(terminal.values()) <= set(reports[i]["delivered"])
    # a waiter in each process woke on an event that the other process received
    assert crossed(reports, 0, terminal) and crossed(reports, 1, terminal), reports


def crossed(reports: dict[int, dict[str, Any]], i: int, terminal: dict[str, str]) -> bool:
    """Replica ``i`` was handed a terminal event that only the other replica received."""
    other = reports[1 - i]
    return any(
        event_id in reports[i]["delivered"]
        and event_id not in reports[i]["own"]
        and event_id in other["own"]
        for event_id in terminal.values()
    )
