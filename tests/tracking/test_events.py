"""EventStatusSource: statuses from an event feed (InMemoryEventFeed), with the slow sweep as
safety net, on the in-memory fake service and fake clock."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from braket_async import QuantumTaskStatus, TrackerOptions
from braket_async.events import InMemoryEventFeed, JobStateChange, TaskStateChange
from braket_async.polling import PollPolicy
from braket_async.tracking import EventStatusSource, TaskTracker

from ._fake import SV1, FakeBraket


def event(
    fake: FakeBraket, arn: str, status: str, *, event_id: str | None = None
) -> TaskStateChange:
    task = fake.tasks[arn]
    terminal = status in ("COMPLETED", "FAILED", "CANCELLED")
    return TaskStateChange(
        quantum_task_arn=arn,
        status=QuantumTaskStatus(status),
        device_arn=task.device,
        shots=100,
        output_s3_bucket="bucket",
        output_s3_directory=f"tasks/{arn[-36:]}",
        created_at=fake.wall(task.created),
        ended_at=fake.wall(fake.now) if terminal else None,
        event_id=event_id or str(uuid.uuid4()),
    )


async def test_events_report_tasks_without_status_calls() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arns = [fake.create(1e6) for _ in range(50)]  # the service would never finish them
    tracker = TaskTracker(fake, events=feed)
    assert isinstance(tracker.source, EventStatusSource)
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    seen: list[str] = []
    async with tracker:
        stream = tracker.as_completed(details=False)
        for arn in arns:
            feed.publish(event(fake, arn, "RUNNING"))
        assert tracker.status_counts() == {"RUNNING": 50}
        for arn in arns:
            feed.publish(event(fake, arn, "COMPLETED"))
        seen = [s.quantum_task_arn async for s in stream]
    assert seen == arns
    assert fake.calls["GetQuantumTask"] + fake.calls["SearchQuantumTasks"] == 0
    assert tracker.stats.status_calls == 0 and tracker.stats.events_applied == 100
    assert feed.subscribers == 0  # leaving the block unsubscribed


async def test_duplicate_and_reordered_events_never_move_a_task_back() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    a, b = fake.create(1e6), fake.create(1e6)
    tracker = TaskTracker(fake, events=feed)
    tracker.add(a, just_created=True)
    tracker.add(b, just_created=True)
    async with tracker:
        running = event(fake, a, "RUNNING")
        feed.publish(running)
        # The same event delivered again by a second feed path (at least once), and an
        # older QUEUED arriving late: neither changes anything.
        tracker.source._on_event(running)  # type: ignore[attr-defined]
        feed.publish(event(fake, a, "QUEUED"))
        assert tracker.last_status(a) == QuantumTaskStatus.RUNNING
        completed = event(fake, a, "COMPLETED")
        feed.publish(completed)
        tracker.source._on_event(completed)  # type: ignore[attr-defined]
        feed.publish(event(fake, a, "RUNNING"))  # out of order, after the terminal one
        feed.publish(event(fake, b, "FAILED"))
        done = [s async for s in tracker.as_completed(details=False)]
    assert [s.quantum_task_arn for s in done] == [a, b]
    assert tracker.last_status(a) == QuantumTaskStatus.COMPLETED
    assert tracker.status_counts() == {"COMPLETED": 1, "FAILED": 1}
    assert tracker.stats.events_applied == 3  # RUNNING, COMPLETED of a; FAILED of b
    assert tracker.stats.events_ignored == 4


async def test_a_task_finished_before_add_is_reported_from_the_remembered_event() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arn = fake.create(1e6)
    tracker = TaskTracker(fake, events=feed)
    feed.publish(event(fake, arn, "COMPLETED"))  # before add: remembered
    feed.publish(event(fake, fake.create(1e6), "RUNNING"))  # non-terminal: not remembered
    tracker.add(arn, just_created=True)
    assert tracker.pending == frozenset()
    done = await tracker.wait_all(details=False)
    assert [s.status for s in done] == [QuantumTaskStatus.COMPLETED]
    assert fake.calls["GetQuantumTask"] + fake.calls["SearchQuantumTasks"] == 0


async def test_remembered_early_events_are_bounded() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    tracker = TaskTracker(fake, events=feed, options=TrackerOptions(early_events=3))
    arns = [fake.create(5.0) for _ in range(5)]
    for arn in arns:
        feed.publish(event(fake, arn, "COMPLETED"))
    for arn in arns:
        tracker.add(arn, just_created=True)
    # The three newest were remembered; the two oldest must be found by the sweep.
    assert tracker.pending == frozenset(arns[:2])
    await tracker.wait_all(details=False)
    assert fake.calls["SearchQuantumTasks"] + fake.calls["GetQuantumTask"] >= 1


async def test_a_lost_event_is_caught_by_the_slow_safety_net_sweep() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arns = [fake.create(3.0) for _ in range(20)]
    safety_net = PollPolicy(initial=20.0, multiplier=1.5, maximum=60.0, jitter=0.0)
    tracker = TaskTracker(fake, events=feed, options=TrackerOptions(event_safety_net=safety_net))
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    lost = arns[7]
    async with tracker:
        stream = tracker.as_completed(details=False)
        await fake.sleep(4.0)  # every task is finished on the service now
        for arn in arns:
            if arn != lost:
                feed.publish(event(fake, arn, "COMPLETED"))
        seen = []
        async for summary in stream:
            seen.append((summary.quantum_task_arn, fake.now))
    assert [arn for arn, _ in seen[:19]] == [a for a in arns if a != lost]
    assert seen[-1][0] == lost
    # Found by the safety net at its first check (20 s after add), with one call (a get:
    # the only task left).
    assert 20.0 <= seen[-1][1] <= 21.0
    assert fake.calls["SearchQuantumTasks"] + fake.calls["GetQuantumTask"] == 1


async def test_tasks_without_creation_time_are_located_when_their_check_is_due() -> None:
    # 30 tasks added with no creation time (a batch's creates that were retried): their
    # events settle 29 of them, with no call; the one whose events were lost is located at
    # its first safety-net check (20 s after add), not at once.
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arns = [fake.create(3.0) for _ in range(30)]
    safety_net = PollPolicy(initial=20.0, multiplier=1.5, maximum=60.0, jitter=0.0)
    tracker = TaskTracker(fake, events=feed, options=TrackerOptions(event_safety_net=safety_net))
    for arn in arns:
        tracker.add(arn, device_arn=SV1)
    lost = arns[11]
    async with tracker:
        stream = tracker.as_completed(details=False)
        await fake.sleep(4.0)
        assert fake.calls["SearchQuantumTasks"] + fake.calls["GetQuantumTask"] == 0
        for arn in arns:
            if arn != lost:
                feed.publish(event(fake, arn, "COMPLETED"))
        seen = [(s.quantum_task_arn, fake.now) async for s in stream]
    assert seen[-1][0] == lost and 20.0 <= seen[-1][1] <= 21.0
    assert fake.calls["SearchQuantumTasks"] + fake.calls["GetQuantumTask"] == 1  # its get


async def test_resumed_tasks_are_located_at_once_even_with_events() -> None:
    # Resumed tasks may have finished while nobody listened: no event will come for them.
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arns = [fake.create(1.0) for _ in range(30)]
    await fake.sleep(2.0)
    tracker = TaskTracker.resume(fake, arns, events=feed)
    async with tracker:
        done = await tracker.wait_all(details=False)
    assert len(done) == 30 and fake.now < 4.0
    assert tracker.stats.locate_sweeps == 1


async def test_a_terminal_event_without_summary_fields_costs_one_get() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arn = fake.create(0.5)
    tracker = TaskTracker(fake, events=feed)
    tracker.add(arn, just_created=True)
    async with tracker:
        stream = tracker.as_completed(details=False)
        await fake.sleep(1.0)
        feed.publish(TaskStateChange(quantum_task_arn=arn, status=QuantumTaskStatus.COMPLETED))
        (done,) = [s async for s in stream]
    assert done.status == QuantumTaskStatus.COMPLETED
    assert fake.calls["GetQuantumTask"] == 1 and fake.calls["SearchQuantumTasks"] == 0


async def test_job_events_are_not_for_the_task_tracker() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arn = fake.create(1e6)
    tracker = TaskTracker(fake, events=feed)
    tracker.add(arn, just_created=True)
    feed.publish(JobStateChange(job_arn="arn:aws:braket:us-east-1:1:job/x", status="COMPLETED"))  # type: ignore[arg-type]
    assert tracker.pending == frozenset({arn})
    await tracker.aclose()


async def test_a_failing_status_hook_from_an_event_stops_the_tracker() -> None:
    fake = FakeBraket()
    feed = InMemoryEventFeed()
    arn = fake.create(1e6)

    def hook() -> None:
        raise RuntimeError("progress display broke")

    tracker = TaskTracker(fake, events=feed, on_status_change=hook)
    tracker.add(arn, just_created=True)
    async with tracker:
        stream = tracker.as_completed(details=False)
        waiting = asyncio.ensure_future(anext(aiter(stream)))
        await asyncio.sleep(0)
        feed.publish(event(fake, arn, "RUNNING"))
        with pytest.raises(RuntimeError, match="progress display broke"):
            await waiting
