"""SqsEventSource against the embedded moto server: the real PutEvents -> rule -> SQS path."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from _common import BELL, SV1, FakeClock, raw_client
from _event_queue import REGION, EventQueue
from _wire import Reply, wire_server
from aiobotocore.config import AioConfig

from braket_async import BraketSession, QuantumTaskStatus, errors
from braket_async._aws_accessors import SqsQueues
from braket_async.events import (
    BraketEvent,
    EventQueueNotFound,
    SqsEventSource,
    TaskStateChange,
)
from braket_async.local import LocalBraket
from braket_async.polling import PollPolicy, RetryBudget

from .conftest import session_kwargs

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


class Collector:
    """A subscriber that keeps what it is given and can be awaited for a condition."""

    def __init__(self) -> None:
        self.events: list[BraketEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: BraketEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def for_arn(self, arn: str) -> list[TaskStateChange]:
        return [
            e for e in self.events if isinstance(e, TaskStateChange) and e.quantum_task_arn == arn
        ]

    async def until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 30.0,  # noqa: ASYNC109 -- a test's bound
    ) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


async def _create_task(session: BraketSession, bucket: str) -> str:
    return await session.create_quantum_task(
        device_arn=SV1,
        action=json.dumps(
            {
                "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                "source": BELL,
            }
        ),
        shots=10,
        output_s3_bucket=bucket,
        output_s3_key_prefix="events-tests",
    )


def _envelope(
    arn: str, status: str, *, event_id: str | None = None, **detail: Any
) -> dict[str, Any]:
    """An EventBridge envelope as Braket sends it (see docs/events.md)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Braket Task State Change",
        "source": "aws.braket",
        "account": "123456789012",
        "time": "2021-10-28T01:17:45Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "quantumTaskArn": arn,
            "status": status,
            "deviceArn": SV1,
            "shots": "100",
            "outputS3Bucket": "amazon-braket-local",
            "outputS3Directory": f"tests/{arn[-8:]}",
            "createdAt": "2021-10-28T01:17:42.898Z",
            "eventName": "MODIFY",
            **detail,
        },
    }


def _arn() -> str:
    return f"arn:aws:braket:us-east-1:123456789012:quantum-task/{uuid.uuid4()}"


async def eventually(probe: Callable[[], Any], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Poll ``probe()`` (awaited if it returns an awaitable) until it is true."""
    for _ in range(int(timeout / 0.02)):
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached within {timeout}s")


async def _drained(queue: EventQueue) -> None:
    """Wait until the queue holds nothing, visible or in flight."""

    async def empty() -> bool:
        return await queue.counts() == (0, 0)

    await eventually(empty)


def _loop_tasks() -> list[asyncio.Task[Any]]:
    return [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("braket-async-events") and not t.done()
    ]


async def test_a_task_lifecycle_reaches_subscribers_as_typed_events(
    session: BraketSession, queue: EventQueue, local_braket: LocalBraket
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    unsubscribe = source.subscribe(seen)
    arn = await _create_task(session, local_braket.default_bucket)
    await seen.until(lambda: any(e.status == "COMPLETED" for e in seen.for_arn(arn)))
    task = await session.get_quantum_task(arn)
    events = seen.for_arn(arn)
    assert [e.status for e in events] == ["CREATED", "QUEUED", "RUNNING", "COMPLETED"]
    for event in events:
        assert isinstance(event.status, QuantumTaskStatus)
        assert event.device_arn == SV1 and event.shots == 10
        assert event.output_s3_bucket == local_braket.default_bucket
        assert event.output_s3_directory == task.output_s3_directory
        assert event.created_at is not None
        assert abs((event.created_at - task.created_at).total_seconds()) < 0.001
        assert event.event_id is not None and event.event_time is not None
    assert events[-1].ended_at is not None and events[0].ended_at is None
    await _drained(queue)  # every processed message was deleted
    for _ in range(500):  # the last delete's answer may still be on its way back
        if source.stats["deleted"] == source.stats["received"]:
            break
        await asyncio.sleep(0.01)
    assert source.stats["deleted"] == source.stats["received"]
    unsubscribe()
    unsubscribe()  # idempotent
    await source.aclose()
    assert not source.running and _loop_tasks() == []


async def test_duplicates_are_dropped_by_id_and_by_content(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    source.subscribe(seen)
    arn = _arn()
    same = _envelope(arn, "RUNNING")
    await queue.send(same)
    await queue.send(same)  # SQS redelivery: the same envelope, the same id
    republished = {**_envelope(arn, "RUNNING"), "time": "2021-10-28T01:17:46Z"}
    await queue.send(republished)  # the same change published again under a new id
    await queue.send(_envelope(arn, "COMPLETED", endedAt="2021-10-28T01:17:44.735Z"))
    await seen.until(lambda: len(seen.for_arn(arn)) >= 2 and source.stats["received"] >= 4)
    await _drained(queue)
    assert [e.status for e in seen.for_arn(arn)] == ["RUNNING", "COMPLETED"]
    assert source.stats["duplicates"] == 2
    await source.aclose()


async def test_the_dedupe_memory_is_bounded(session: BraketSession, queue: EventQueue) -> None:
    # Two keys per event (id and content): capacity 2 remembers only the last event.
    source = SqsEventSource(queue.url, session=session, linger=0, dedupe_capacity=2)
    seen = Collector()
    source.subscribe(seen)
    first, second = _envelope(_arn(), "RUNNING"), _envelope(_arn(), "RUNNING")
    for body in (first, second, first):
        await queue.send(body)
        await _drained(queue)
    assert [e.event_id for e in seen.events] == [first["id"], second["id"], first["id"]]
    await source.aclose()


async def test_unknown_and_malformed_messages_are_deleted_and_logged(
    session: BraketSession, queue: EventQueue, caplog: pytest.LogCaptureFixture
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    source.subscribe(seen)
    qpu = {**_envelope(_arn(), "ONLINE"), "detail-type": "Braket Device Status Change"}
    await queue.send(qpu)
    await queue.send("not json at all")
    await queue.send(json.dumps({**_envelope(_arn(), "RUNNING"), "detail": "a string"}))
    await queue.send(_envelope(_arn(), "RUNNING", shots="many"))
    good = _envelope(_arn(), "COMPLETED")
    await queue.send(good)
    with caplog.at_level(logging.WARNING, logger="braket_async.events"):
        await seen.until(lambda: len(seen.events) == 1)
        await _drained(queue)
    assert seen.events[0].event_id == good["id"]
    assert source.stats["ignored"] == 1 and source.stats["malformed"] == 3
    assert sum("malformed message" in r.message for r in caplog.records) == 3
    await source.aclose()


async def test_an_sns_wrapped_event_is_read(session: BraketSession, queue: EventQueue) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    source.subscribe(seen)
    inner = _envelope(_arn(), "COMPLETED")
    await queue.send({"Type": "Notification", "MessageId": "m", "Message": json.dumps(inner)})
    await seen.until(lambda: len(seen.events) == 1)
    assert seen.events[0].event_id == inner["id"]
    await source.aclose()


async def test_every_subscriber_gets_each_event_and_a_failing_one_does_not_stop_others(
    session: BraketSession, queue: EventQueue, caplog: pytest.LogCaptureFixture
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    first, second = Collector(), Collector()

    def broken(event: BraketEvent) -> None:
        raise RuntimeError("consumer bug")

    source.subscribe(first)
    source.subscribe(broken)
    source.subscribe(second)
    await queue.send(_envelope(_arn(), "RUNNING"))
    with caplog.at_level(logging.ERROR, logger="braket_async.events"):
        await second.until(lambda: len(second.events) == 1)
    assert len(first.events) == 1
    assert any("subscriber failed" in r.message for r in caplog.records)
    await _drained(queue)
    await source.aclose()


async def test_a_missing_queue_is_a_clear_error_naming_it(
    session: BraketSession, local_braket: LocalBraket
) -> None:
    url = f"{local_braket.s3_endpoint_url}/123456789012/no-such-queue-{uuid.uuid4().hex[:6]}"
    source = SqsEventSource(url, session=session)
    with pytest.raises(EventQueueNotFound, match="no-such-queue") as caught:
        await source.check()
    assert caught.value.queue_url == url
    assert isinstance(caught.value, errors.ConfigurationError)

    # The session checks its queue when it opens.
    kwargs = session_kwargs(local_braket, local_braket.s3_endpoint_url)
    broken = BraketSession(**kwargs, events=url)
    with pytest.raises(EventQueueNotFound, match=url):
        await broken.open()
    assert not broken.is_open

    await source.aclose()


async def test_a_queue_deleted_while_receiving_stops_the_loop_with_the_error(
    session: BraketSession, queue: EventQueue
) -> None:
    url = (await queue.sqs.create_queue(QueueName=f"doomed-{uuid.uuid4().hex[:8]}"))["QueueUrl"]
    source = SqsEventSource(url, session=session, linger=0, wait_time_seconds=1)
    source.subscribe(lambda event: None)
    await asyncio.sleep(0.2)
    await queue.sqs.delete_queue(QueueUrl=url)
    await eventually(lambda: not source.running)
    assert isinstance(source.error, EventQueueNotFound) and url in str(source.error)
    await source.aclose()


def test_bad_arguments_are_refused_before_the_network() -> None:
    with pytest.raises(errors.ParameterError, match="queue_url"):
        SqsEventSource("my-queue", client=object())
    with pytest.raises(errors.ParameterError, match="exactly one of sqs=, session= or client="):
        SqsEventSource(URL)
    with pytest.raises(errors.ParameterError, match="wait_time_seconds"):
        SqsEventSource(URL, client=object(), wait_time_seconds=21)
    with pytest.raises(errors.ParameterError, match="max_messages"):
        SqsEventSource(URL, client=object(), max_messages=11)
    with pytest.raises(errors.ParameterError, match="events"):
        BraketSession(events="braket-async-events")


async def test_cancelling_mid_receive_leaves_nothing_running_and_loses_no_message(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0, visibility_timeout=1)
    source.subscribe(lambda event: None)
    await asyncio.sleep(0.3)  # the loop is now inside a 20 s ReceiveMessage
    assert source.running
    await source.aclose()
    assert not source.running and _loop_tasks() == []

    # The abandoned long poll may still take this message on the server side: it is hidden
    # for the visibility timeout, then delivered to the next consumer, never lost.
    body = _envelope(_arn(), "COMPLETED")
    await queue.send(body)
    again = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    again.subscribe(seen)
    await seen.until(lambda: len(seen.events) == 1)
    assert seen.events[0].event_id == body["id"]
    await again.aclose()


async def test_a_message_is_deleted_only_after_its_callbacks_returned(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0, visibility_timeout=5)
    body = _envelope(_arn(), "COMPLETED")
    delivered: list[BraketEvent] = []

    def cancel_mid_batch(event: BraketEvent) -> None:
        # The loop is cancelled between the fan-out and the delete.
        delivered.append(event)
        for task in _loop_tasks():
            task.cancel()

    source.subscribe(cancel_mid_batch)
    await queue.send(body)
    await eventually(lambda: delivered and not source.running)
    assert await queue.counts() == (0, 1)  # received, not deleted
    await source.aclose()

    again = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    again.subscribe(seen)
    await seen.until(lambda: len(seen.events) == 1)  # back after the visibility timeout
    assert seen.events[0].event_id == body["id"]
    await _drained(queue)
    await again.aclose()


async def test_the_loop_runs_while_there_are_subscribers(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0.2)
    assert not source.running
    unsubscribe = source.subscribe(lambda event: None)
    assert source.running
    unsubscribe()
    assert source.running  # lingers: a waiter following another reuses the loop
    again = source.subscribe(lambda event: None)
    await asyncio.sleep(0.4)
    assert source.running  # came back within the linger
    again()
    await eventually(lambda: not source.running, timeout=5)
    await source.aclose()
    with pytest.raises(errors.SessionStateError):
        source.subscribe(lambda event: None)


async def test_receive_errors_back_off_through_the_injected_sleep() -> None:
    delays: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) >= 4:
            gate.set()
        await asyncio.sleep(0)

    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=1)
    # nothing listens on the discard port
    async with raw_client("sqs", "http://127.0.0.1:9", region=REGION, config=config) as client:
        source = SqsEventSource(
            "http://127.0.0.1:9/123456789012/q",
            client=client,
            linger=0,
            sleep=sleep,
            error_backoff=PollPolicy(initial=1.0, multiplier=2.0, maximum=4.0, jitter=0.0),
        )
        source.subscribe(lambda event: None)
        async with asyncio.timeout(30):
            await gate.wait()
        await source.aclose()
    assert delays[:4] == [1.0, 2.0, 4.0, 4.0]
    assert source.stats["errors"] >= 4 and source.error is None


async def test_receives_retry_through_retry_target_until_the_budget_is_spent() -> None:
    delays: list[float] = []
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.now += seconds
        await asyncio.sleep(0)

    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=1)
    async with raw_client("sqs", "http://127.0.0.1:9", region=REGION, config=config) as client:
        source = SqsEventSource(
            "http://127.0.0.1:9/123456789012/q",
            sqs=SqsQueues.of(client),
            linger=0,
            sleep=sleep,
            clock=clock,
            error_backoff=RetryBudget(
                max_consecutive=3, max_seconds=60.0, initial=1.0, maximum=3.0, jitter=0.0
            ),
        )
        source.subscribe(lambda event: None)
        await eventually(lambda: not source.running)
        await source.aclose()
    # three retries, 1 s doubling to the 3 s cap; the fourth failure spends the budget
    assert delays == [1.0, 2.0, 3.0]
    assert source.stats["errors"] == 3
    assert isinstance(source.error, errors.ConnectionFailed)
    assert any("retry budget spent" in note for note in source.error.__notes__)


async def test_a_missing_queue_stops_the_receive_loop_without_a_retry() -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
    async with wire_server() as wire, raw_client("sqs", wire.url, config=config) as client:
        # real SQS's answer: JSON, and the query protocol's code in x-amzn-query-error
        wire.reply = Reply(
            400,
            json.dumps({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}),
            {
                "Content-Type": "application/x-amz-json-1.0",
                "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
            },
        )
        url = f"{wire.url}/123456789012/gone"
        source = SqsEventSource(url, client=client, linger=0, sleep=sleep)
        source.subscribe(lambda event: None)
        await eventually(lambda: not source.running)
        await source.aclose()
        receives = len(wire.requests)
    assert receives == 1 and delays == []
    assert isinstance(source.error, EventQueueNotFound)
    assert str(source.error).startswith(f"the SQS queue {url} does not exist (gone)")


async def test_a_source_built_from_the_session_accessor_delivers_and_deletes(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(
        queue.url, sqs=session.sqs, sleep=session.sleep, clock=session.clock, linger=0
    )
    assert await source.check() == queue.setup.queue_arn
    seen = Collector()
    source.subscribe(seen)
    arn = _arn()
    await queue.send(_envelope(arn, "COMPLETED"))
    await seen.until(lambda: bool(seen.for_arn(arn)))
    assert [e.status for e in seen.for_arn(arn)] == ["COMPLETED"]
    await _drained(queue)
    await eventually(lambda: source.stats["deleted"] == 1)
    await source.aclose()


async def test_a_feed_whose_session_closes_stops_with_the_error(
    local_braket: LocalBraket, queue: EventQueue
) -> None:
    owner = BraketSession(**session_kwargs(local_braket, local_braket.s3_endpoint_url))
    await owner.open()
    source = SqsEventSource(queue.url, session=owner, linger=0, wait_time_seconds=1)
    await owner.close()
    source.subscribe(lambda event: None)
    await eventually(lambda: not source.running)
    assert isinstance(source.error, errors.SessionStateError)
    await source.aclose()


async def test_the_rest_of_a_batch_is_handed_back_when_the_last_subscriber_leaves_mid_batch(
    session: BraketSession, queue: EventQueue
) -> None:
    # A long visibility timeout: a message the source neither deletes nor hands back stays
    # in flight for the whole test, so (9, 0) below can only come from ChangeMessageVisibility.
    source = SqsEventSource(queue.url, session=session, linger=0, visibility_timeout=300)
    bodies = [_envelope(_arn(), "COMPLETED") for _ in range(10)]
    for body in bodies:
        await queue.send(body)
    first: list[BraketEvent] = []
    unsubscribe: Callable[[], None] = lambda: None  # noqa: E731 -- replaced below

    def take_one_and_leave(event: BraketEvent) -> None:
        first.append(event)
        unsubscribe()  # the only subscriber leaves inside its callback

    unsubscribe = source.subscribe(take_one_and_leave)
    await eventually(lambda: first and not source.running)
    assert len(first) == 1
    assert source.stats["deleted"] == 1
    assert await queue.counts() == (9, 0)  # back at once, none deleted, none in flight

    again = SqsEventSource(queue.url, session=session, linger=0)
    seen = Collector()
    again.subscribe(seen)
    await seen.until(lambda: len(seen.events) == 9)
    await _drained(queue)
    assert {e.event_id for e in first + seen.events} == {b["id"] for b in bodies}
    await source.aclose()
    await again.aclose()


async def test_a_subscriber_removed_by_another_callback_is_not_called(
    session: BraketSession, queue: EventQueue
) -> None:
    source = SqsEventSource(queue.url, session=session, linger=0)
    second = Collector()
    first: list[BraketEvent] = []
    remove_second: Callable[[], None] = lambda: None  # noqa: E731 -- replaced below

    def first_callback(event: BraketEvent) -> None:
        first.append(event)
        remove_second()

    source.subscribe(first_callback)
    remove_second = source.subscribe(second)
    await queue.send(_envelope(_arn(), "COMPLETED"))
    await eventually(lambda: first)
    await _drained(queue)  # delivered to a live subscriber: deleted
    assert second.events == []
    await source.aclose()
