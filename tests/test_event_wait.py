"""Waiters on a session with an event feed: woken by events (the real PutEvents -> rule -> SQS
path on moto), a slow poll as safety net for lost events and missing rules."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _common import BELL, SV1, create_task
from _event_queue import event_queue

from braket_async import BraketSession, PollPolicy, errors
from braket_async.events import (
    BraketEvent,
    EventCallback,
    JobStateChange,
    SqsEventSource,
    TaskStateChange,
    Unsubscribe,
)
from braket_async.local import LocalBraket, NoScriptJobRunner
from braket_async.local.state._faults import EventFaultSpec, FaultConfig
from braket_async.models import JobEventType, JobStatus, QuantumTaskStatus

ACTION = json.dumps(
    {"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"}, "source": BELL}
)
#: A safety-net poll fast enough for tests.
QUICK = PollPolicy(initial=0.3, multiplier=1.0, maximum=0.3, jitter=0.0)


async def never(_seconds: float) -> None:
    """A sleep that never ends: a waiter using it moves on only when an event wakes it."""
    await asyncio.Event().wait()


def _kwargs(local: LocalBraket, aws: str) -> dict[str, Any]:
    return {
        "endpoint_url": local.endpoint_url,
        "s3_endpoint_url": local.s3_endpoint_url,
        "sqs_endpoint_url": aws,
        "events_endpoint_url": aws,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


@pytest.fixture
async def service(make_local: Any, local_braket: LocalBraket) -> LocalBraket:
    """A service whose tasks spend 0.5 s QUEUED and 0.5 s RUNNING, publishing events."""
    local: LocalBraket = await make_local(
        queue_delay=0.5,
        run_delay=0.5,
        events_endpoint_url=local_braket.s3_endpoint_url,
        job_runner=NoScriptJobRunner(step_delay=0.2),
    )
    return local


@pytest.fixture
async def evented(service: LocalBraket, local_braket: LocalBraket) -> AsyncIterator[BraketSession]:
    """A session on ``service`` with ``events=`` the URL of a fresh rule -> queue."""
    aws = local_braket.s3_endpoint_url
    async with (
        event_queue(aws) as queue,
        BraketSession(**_kwargs(service, aws), events=queue.url) as session,
    ):
        yield session


async def _task(session: BraketSession, local: LocalBraket) -> str:
    return await create_task(session, local, ACTION, prefix="event-wait")


async def test_a_waiter_woken_by_events_makes_fewer_status_calls(
    service: LocalBraket, evented: BraketSession, local_braket: LocalBraket
) -> None:
    assert isinstance(evented.events, SqsEventSource)
    # Polling (no feed): the default policy, 0.5 s growing.
    async with BraketSession(**_kwargs(service, local_braket.s3_endpoint_url)) as polling:
        assert polling.events is None
        arn = await _task(polling, service)
        service.ledger.reset()
        await polling.wait_for_quantum_task(arn)
        polled_calls = service.ledger.calls["GetQuantumTask"]

    # Events: one call to start, one after the terminal event woke it; the injected sleep
    # never returns, so nothing but an event can end the wait.
    arn = await _task(evented, service)
    service.ledger.reset()
    task = await evented.wait_for_quantum_task(arn, sleep=never)
    assert task.status == QuantumTaskStatus.COMPLETED
    evented_calls = service.ledger.calls["GetQuantumTask"]
    assert evented_calls == 2
    assert polled_calls > evented_calls


async def test_a_lost_event_is_caught_by_the_safety_net_poll(
    service: LocalBraket, evented: BraketSession
) -> None:
    service.faults = FaultConfig(events=EventFaultSpec(drop=1.0))
    arn = await _task(evented, service)
    task = await evented.wait_for_quantum_task(arn, poll=QUICK)
    assert task.status == QuantumTaskStatus.COMPLETED
    assert service.ledger.snapshot()["events"]["dropped"] >= 3


async def test_duplicated_reordered_and_delayed_events_still_end_the_wait_right(
    service: LocalBraket, evented: BraketSession
) -> None:
    service.faults = FaultConfig(
        events=EventFaultSpec(duplicate=0.5, reorder=0.5, delay=0.2, delay_probability=0.5),
        seed=11,
    )
    arns = [await _task(evented, service) for _ in range(3)]
    tasks = await asyncio.gather(*(evented.wait_for_quantum_task(a, sleep=never) for a in arns))
    assert [t.status for t in tasks] == [QuantumTaskStatus.COMPLETED] * 3
    cancelled = await _task(evented, service)
    await evented.cancel_quantum_task(cancelled)
    with pytest.raises(errors.QuantumTaskCancelled):
        await evented.wait_for_quantum_task(cancelled, sleep=never)


async def test_a_missing_rule_delays_a_waiter_but_never_hangs_it(
    service: LocalBraket, local_braket: LocalBraket
) -> None:
    aws = local_braket.s3_endpoint_url
    async with (
        event_queue(aws, rule=False) as queue,
        BraketSession(**_kwargs(service, aws), events=queue.url) as session,
    ):
        arn = await _task(session, service)
        task = await session.wait_for_quantum_task(arn, poll=QUICK)
        assert task.status == QuantumTaskStatus.COMPLETED


async def test_wait_for_job_and_follow_job_are_woken_by_job_events(
    service: LocalBraket, evented: BraketSession
) -> None:
    arn = await evented.create_job(
        job_name=f"evented-{uuid.uuid4().hex[:8]}",
        role_arn="arn:aws:iam::123456789012:role/braket-local",
        algorithm_specification={
            "scriptModeConfig": {
                "entryPoint": "algo:main",
                "s3Uri": f"s3://{service.default_bucket}/scripts/algo.py",
                "compressionType": "NONE",
            }
        },
        output_data_config={"s3Path": f"s3://{service.default_bucket}/jobs/out"},
        instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        device_config={"device": SV1},
    )
    events = [e async for e in evented.follow_job(arn, sleep=never)]
    assert [e.event_type for e in events][-1] == JobEventType.COMPLETED
    assert JobEventType.RUNNING in [e.event_type for e in events]
    job = await evented.wait_for_job(arn, sleep=never)
    assert job.status == JobStatus.COMPLETED


class ListFeed:
    """An in-memory EventFeed (the protocol is ours: any feed works with the waiters)."""

    def __init__(self) -> None:
        self.subscribers: list[EventCallback] = []

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        self.subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self.subscribers:
                self.subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: BraketEvent) -> None:
        for callback in list(self.subscribers):
            callback(event)


async def test_any_event_feed_wakes_waiters_and_a_cancelled_waiter_unsubscribes(
    service: LocalBraket, local_braket: LocalBraket
) -> None:
    feed = ListFeed()
    async with BraketSession(
        **_kwargs(service, local_braket.s3_endpoint_url), events=feed
    ) as session:
        assert session.events is feed
        arn = await _task(session, service)
        waiter = asyncio.create_task(session.wait_for_quantum_task(arn, sleep=never))
        await asyncio.sleep(0.1)
        assert len(feed.subscribers) == 1
        # Another task's event, and a non-terminal one, do not wake it.
        feed.publish(TaskStateChange(quantum_task_arn="other", status=QuantumTaskStatus.COMPLETED))
        feed.publish(TaskStateChange(quantum_task_arn=arn, status=QuantumTaskStatus.RUNNING))
        feed.publish(JobStateChange(job_arn=arn, status=JobStatus.COMPLETED))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert feed.subscribers == []

        # The task's terminal event (here published by hand) ends a wait that cannot poll.
        second = await _task(session, service)
        waiter = asyncio.create_task(session.wait_for_quantum_task(second, sleep=never))
        async with BraketSession(**_kwargs(service, local_braket.s3_endpoint_url)) as plain:
            done = await plain.wait_for_quantum_task(second, poll=QUICK)
        assert not waiter.done()
        feed.publish(TaskStateChange(quantum_task_arn=second, status=done.status))
        assert (await waiter).status == QuantumTaskStatus.COMPLETED
        assert feed.subscribers == []
