"""TaskTracker: the scheduling logic on an in-memory fake service with a fake clock, then
hundreds of real tasks on the local Braket service with quotas on."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from _common import BELL, create_task

from braket_async import (
    BraketSession,
    InvalidArnError,
    ParameterError,
    QuantumTask,
    QuantumTaskStatus,
    QuantumTaskSummary,
    RateLimits,
    ResourceNotFoundException,
    ThrottlingException,
)
from braket_async.local import LocalBraket, Quotas
from braket_async.polling import PollPolicy, RetryBudget
from braket_async.tracking import UNKNOWN_STATUS, SweepPolicy, TaskTracker, TrackerOptions

from ._fake import SV1, FakeBraket, feed, naive_calls, new_arn

BAD = "OPENQASM 3;\nqubit[2] q;\nnot_a_gate q[0];"

# --------------------------------------------------------------------------- scheduling


async def test_a_single_task_is_polled_with_gets() -> None:
    fake = FakeBraket()
    arn = fake.create(5.0)
    async with TaskTracker(fake) as tracker:
        tracker.add(arn)
        done = [t async for t in tracker.as_completed()]
    assert [t.quantum_task_arn for t in done] == [arn]
    assert isinstance(done[0], QuantumTask) and done[0].status == QuantumTaskStatus.COMPLETED
    assert fake.calls["SearchQuantumTasks"] == 0
    assert tracker.stats.detail_calls == 0  # the get already returned the full task
    assert fake.calls["GetQuantumTask"] == tracker.stats.get_calls


async def test_thousands_of_tasks_cost_a_tenth_of_per_task_polling() -> None:
    fake = FakeBraket()
    durations = [2.0 + (i * 7919 % 13) for i in range(2000)]  # 2-14 s, interleaved
    tracker = TaskTracker(fake)
    async with tracker:
        feeder = asyncio.create_task(feed(fake, tracker, durations, rate=20.0))
        seen = [
            t.quantum_task_arn async for t in tracker.as_completed(details=False, until_sealed=True)
        ]
        arns = await feeder
    assert sorted(seen) == sorted(arns)  # every task exactly once
    status_calls = fake.calls["GetQuantumTask"] + fake.calls["SearchQuantumTasks"]
    assert status_calls == tracker.stats.status_calls
    assert status_calls <= 0.1 * naive_calls(fake, arns)
    # Searches were paced to half the 5/s quota (plus the first sweep).
    span = fake.search_times[-1] - fake.search_times[0]
    assert len(fake.search_times) <= 2.5 * span + 10


async def test_details_cost_one_get_per_task_seen_by_a_sweep() -> None:
    fake = FakeBraket()
    arns = [fake.create(3.0 + i % 5) for i in range(300)]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn)
    tasks = await tracker.wait_all()
    assert [t.quantum_task_arn for t in tasks] == arns  # in the order added
    assert all(isinstance(t, QuantumTask) for t in tasks)
    # Every task was seen finished by a search (no get returned a full task already), so
    # each one costs exactly one detail call.
    assert tracker.stats.get_calls == 0
    assert tracker.stats.detail_calls == 300
    assert fake.calls["GetQuantumTask"] == tracker.stats.get_calls + tracker.stats.detail_calls
    # Asking again costs nothing more.
    before = fake.calls["GetQuantumTask"]
    assert await tracker.wait_all() == tasks
    assert fake.calls["GetQuantumTask"] == before


async def test_failed_and_cancelled_tasks_are_handed_out_with_their_status() -> None:
    fake = FakeBraket()
    ok = fake.create(2.0)
    bad = fake.create(3.0, status="FAILED")
    gone = fake.create(4.0, status="CANCELLED")
    tracker = TaskTracker(fake)
    for arn in (ok, bad, gone):
        tracker.add(arn)
    tasks = {t.quantum_task_arn: t for t in await tracker.wait_all()}
    assert tasks[ok].status == QuantumTaskStatus.COMPLETED
    assert tasks[bad].status == QuantumTaskStatus.FAILED
    assert tasks[bad].failure_reason == "bad program"
    assert tasks[gone].status == QuantumTaskStatus.CANCELLED


async def test_resume_locates_unknown_tasks_with_one_probe_and_one_search() -> None:
    fake = FakeBraket()
    old = [fake.create(1e6, at=-3600.0) for _ in range(95)]  # created an hour ago, still running
    done = [fake.create(1.0, at=-3600.0) for _ in range(5)]
    tracker = TaskTracker.resume(fake, old + done)
    async with tracker:
        finished = []
        async for summary in tracker.as_completed(details=False):
            finished.append(summary.quantum_task_arn)
            if len(finished) == len(done):
                break
    assert sorted(finished) == sorted(done)
    assert fake.calls["GetQuantumTask"] == 0
    # 10 ARNs tell when the tasks were created; one page from then on holds all 100.
    assert tracker.stats.arn_sweeps == 1 and tracker.stats.locate_sweeps == 1
    assert fake.calls["SearchQuantumTasks"] == 2
    assert tracker.last_status(old[0]) == QuantumTaskStatus.QUEUED  # located: status known
    assert tracker.pending == frozenset(old)
    assert tracker._runner is None  # leaving the block stopped the scheduler


async def test_locating_in_a_crowded_window_falls_back_to_arns_ten_per_call() -> None:
    fake = FakeBraket()
    fake.now = 7200.0
    wanted = [fake.create(1.0, at=0.0) for _ in range(40)]  # two hours ago
    for i in range(1000):  # other tasks created since crowd the window
        fake.create(1.0, at=60.0 + i)
    tracker = TaskTracker(fake)
    for arn in wanted:
        tracker.add(arn)
    done = await tracker.wait_all(details=False)
    assert sorted(t.quantum_task_arn for t in done) == sorted(wanted)
    # Probe (1) + at most 40/20 pages of the window, then the other 30 by ARN (3).
    assert tracker.stats.locate_sweeps == 1
    assert fake.calls["SearchQuantumTasks"] <= 1 + 2 + 3
    assert fake.calls["GetQuantumTask"] == 0


async def test_a_wrong_creation_estimate_is_corrected_by_verification() -> None:
    fake = FakeBraket()
    # Created 10 minutes before it is added: window sweeps around "now" cannot see it.
    early = fake.create(900.0, at=-600.0)
    others = [fake.create(10_000.0) for _ in range(30)]
    policy = SweepPolicy(verify_after=60.0)
    tracker = TaskTracker(fake, options=TrackerOptions(sweep=policy))
    tracker.add(early, just_created=True)  # wrongly: it was created before
    for arn in others:
        tracker.add(arn, just_created=True)
    async with tracker:
        first = await anext(aiter(tracker.as_completed(details=False)))
    assert first.quantum_task_arn == early
    assert tracker.stats.window_sweeps > 0 and tracker.stats.arn_sweeps > 0


async def test_tasks_can_be_added_while_it_runs() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    tracker.add(fake.create(2.0))
    seen: list[str] = []
    async with tracker:
        async for task in tracker.as_completed(details=False):
            seen.append(task.quantum_task_arn)
            if len(seen) == 1:
                for _ in range(20):
                    tracker.add(fake.create(3.0))
    assert len(seen) == 21 == len(set(seen)) == len(tracker)


async def test_an_open_ended_stream_outlives_idle_spells_until_sealed() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    seen: list[str] = []
    calls_while_idle: list[int] = []
    async with tracker:
        stream = tracker.as_completed(details=False, until_sealed=True)
        for round_ in range(3):
            arn = fake.create(2.0)
            tracker.add(arn, device_arn=SV1)
            seen.append((await anext(stream)).quantum_task_arn)
            assert seen[-1] == arn and not tracker.pending
            # Nothing pending, not sealed: the stream waits, with no scheduler and no calls.
            before = sum(fake.calls.values())
            await fake.sleep(60.0)
            calls_while_idle.append(sum(fake.calls.values()) - before)
            assert tracker._runner is None or tracker._runner.done(), round_
        tracker.seal()
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
    assert len(seen) == 3 == len(set(seen))
    assert calls_while_idle == [0, 0, 0]
    with pytest.raises(ParameterError, match="sealed"):
        tracker.add(new_arn())


async def test_details_of_one_finished_task_on_demand() -> None:
    fake = FakeBraket()
    arns = [fake.create(3.0) for _ in range(20)] + [fake.create(4.0, status="FAILED")]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn, device_arn=SV1)
    summaries = await tracker.wait_all(details=False)
    assert all(isinstance(s, QuantumTaskSummary) for s in summaries)
    detail_calls = tracker.stats.detail_calls
    task = await tracker.details(arns[-1])
    assert isinstance(task, QuantumTask) and task.failure_reason == "bad program"
    assert tracker.stats.detail_calls - detail_calls <= 1
    assert await tracker.details(arns[-1]) == task  # known now: no second call
    assert tracker.stats.detail_calls - detail_calls <= 1
    with pytest.raises(ParameterError, match="seen finished"):
        await tracker.details(new_arn())


async def test_transient_errors_are_absorbed() -> None:
    fake = FakeBraket()
    arns = [fake.create(3.0) for _ in range(50)]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn)
    fake.throttle_next = 5
    summaries = await tracker.wait_all(details=False)
    assert [s.quantum_task_arn for s in summaries] == arns
    assert tracker.stats.transient_errors == 5


async def test_concurrent_detail_gets_each_have_their_own_retry_budget() -> None:
    """A BudgetState is per poller: 12 gets failing once each are 12 single failures, not 12
    in a row (one shared budget spent its max_consecutive=3 and stopped the tracker)."""
    fake = FakeBraket()
    arns = [fake.create(3.0) for _ in range(20)]
    budget = RetryBudget(max_consecutive=3, initial=0.001, maximum=0.002)
    tracker = TaskTracker(fake, options=TrackerOptions(poll=PollPolicy(budget=budget)))
    for arn in arns:
        tracker.add(arn, device_arn=SV1)
    await tracker.wait_all(details=False)
    fake.throttle_next = 12  # the first attempt of 12 of the concurrent gets
    tasks = await tracker.wait_all(details=True)
    assert [t.quantum_task_arn for t in tasks] == arns
    assert all(isinstance(t, QuantumTask) for t in tasks)


async def test_a_slow_detail_get_holds_back_only_its_own_task() -> None:
    """as_completed yields each task when its own get is back: one get held (a fault's
    retries) does not hold back a task that finished in the same round."""
    fake = FakeBraket()
    slow, quick = fake.create(3.0), fake.create(3.0)
    tracker = TaskTracker(fake)
    for arn in (slow, quick):
        tracker.add(arn, device_arn=SV1)
    await tracker.wait_all(details=False)  # both finished, known by their summaries
    release = asyncio.Event()
    get = fake.get_quantum_task

    async def held(quantum_task_arn: str) -> QuantumTask:
        if quantum_task_arn == slow:
            await release.wait()
        return await get(quantum_task_arn)

    fake.get_quantum_task = held  # type: ignore[method-assign]
    stream = tracker.as_completed()
    async with asyncio.timeout(10):
        assert (await anext(stream)).quantum_task_arn == quick
        release.set()
        assert (await anext(stream)).quantum_task_arn == slow
    await stream.aclose()
    assert fake.calls["GetQuantumTask"] == 2


async def test_spent_budget_stops_the_tracker_with_the_error() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    tracker.add(fake.create(3.0))
    fake.throttle_next = 10_000
    with pytest.raises(ThrottlingException):
        await tracker.wait_all()
    assert tracker._runner is None or tracker._runner.done()


async def test_unknown_task_raises_from_the_consumer() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    tracker.add(new_arn())
    with pytest.raises(ResourceNotFoundException):
        async for _ in tracker.as_completed():
            pass


async def test_add_checks_the_arn() -> None:
    tracker = TaskTracker(FakeBraket())
    with pytest.raises(InvalidArnError, match="quantum task ARN"):
        tracker.add("arn:aws:braket:us-east-1:123456789012:job/abc")
    tracker.add(arn := new_arn())
    tracker.add(arn)
    assert tracker.arns == (arn,)


async def test_cancelling_the_consumer_leaves_nothing_running() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    for _ in range(50):
        tracker.add(fake.create(1e9))
    before = set(asyncio.all_tasks())

    async def consume() -> None:
        async for _ in tracker.as_completed():
            pass

    consumer = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert tracker._runner is not None and not tracker._runner.done()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert tracker._runner is None
    assert {t for t in asyncio.all_tasks() if t is not fake._driver} <= before


async def test_sweeps_can_be_turned_off() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake, options=TrackerOptions(sweep=SweepPolicy(enabled=False)))
    for _ in range(30):
        tracker.add(fake.create(4.0))
    await tracker.wait_all(details=False)
    assert fake.calls["SearchQuantumTasks"] == 0
    assert fake.calls["GetQuantumTask"] >= 30


# --------------------------------------------------------------------------- active statuses


async def test_gets_report_queued_and_running_for_free() -> None:
    fake = FakeBraket()
    arn = fake.create(10.0)
    seen: list[QuantumTaskStatus | None] = []
    tracker = TaskTracker(fake, on_status_change=lambda: seen.append(tracker.last_status(arn)))
    tracker.add(arn)
    assert tracker.last_status(arn) is None
    assert tracker.status_counts() == {UNKNOWN_STATUS: 1}
    await tracker.wait_all(details=False)
    assert seen == [QuantumTaskStatus.QUEUED, QuantumTaskStatus.RUNNING]
    assert tracker.last_status(arn) == QuantumTaskStatus.COMPLETED
    assert tracker.status_counts() == {"COMPLETED": 1}
    assert fake.calls["SearchQuantumTasks"] == 0 and tracker.stats.active_sweeps == 0
    with pytest.raises(ParameterError, match="arn"):
        tracker.last_status(new_arn())


async def run_feed(
    fake: FakeBraket, durations: Sequence[float], **kwargs: Any
) -> tuple[TaskTracker, list[dict[str, int]], float]:
    """Track tasks created at 20/s; the status counts at every change, and the time taken."""
    snapshots: list[dict[str, int]] = []
    tracker = TaskTracker(
        fake, on_status_change=lambda: snapshots.append(tracker.status_counts()), **kwargs
    )
    start = fake.now
    async with tracker:
        feeder = asyncio.create_task(feed(fake, tracker, durations, rate=20.0))
        done = [t async for t in tracker.as_completed(details=False, until_sealed=True)]
        await feeder
    assert len(done) == len(durations)
    return tracker, snapshots, fake.now - start


async def test_observe_active_learns_queued_and_running_from_window_sweeps() -> None:
    durations = [20.0 + (i * 7919 % 13) for i in range(1000)]  # 20-32 s: QUEUED, then RUNNING
    plain, plain_snaps, _ = await run_feed(FakeBraket(), durations)
    fake = FakeBraket()
    active, snaps, span = await run_feed(
        fake,
        durations,
        options=TrackerOptions(observe_active=True, sweep=SweepPolicy(active_interval=5.0)),
    )
    # Without observe_active window sweeps only ever see finished tasks.
    assert plain.stats.active_sweeps == 0
    assert not any(s.get("QUEUED") and s.get("RUNNING") for s in plain_snaps)
    # With it, the pending tasks are seen queued and then running, from the sweeps' pages.
    assert any(s.get("QUEUED", 0) > 100 for s in snaps)
    assert any(s.get("RUNNING", 0) > 100 for s in snaps)
    assert any(s.get("QUEUED", 0) > 0 and s.get("RUNNING", 0) > 0 for s in snaps)
    assert snaps[-1].get("COMPLETED", 0) == len(durations) - sum(
        v for k, v in snaps[-1].items() if k != "COMPLETED"
    )
    # Bounded: at most one unfiltered sweep per active_interval (of fake time), and the whole
    # run stays well inside the tracker's budget of a tenth of a 1 s poller's calls.
    assert 2 <= active.stats.active_sweeps <= span / 5.0 + 1
    calls = fake.calls["SearchQuantumTasks"] + fake.calls["GetQuantumTask"]
    assert active.stats.status_calls == calls
    assert active.stats.status_calls <= 0.1 * naive_calls(fake, list(fake.tasks))
    extra = active.stats.status_calls - plain.stats.status_calls
    # Each unfiltered sweep reads at most every task of the window: ceil(1000 / 100) pages.
    assert extra <= active.stats.active_sweeps * math.ceil(len(durations) / 100)


async def test_a_failing_status_hook_stops_the_tracker() -> None:
    fake = FakeBraket()
    arn = fake.create(10.0)

    def hook() -> None:
        raise RuntimeError("progress display broke")

    tracker = TaskTracker(fake, on_status_change=hook)
    tracker.add(arn)
    with pytest.raises(RuntimeError, match="progress display broke"):
        await tracker.wait_all()


# --------------------------------------------------------------------------- local service

SCALE = 5.0


@pytest.fixture(scope="module")
async def quota_local(
    local_braket: LocalBraket, simulator_executor: Any
) -> AsyncIterator[LocalBraket]:
    """AWS default quotas at 5x (so hundreds of tasks are created in seconds); tasks run 1 s."""
    async with LocalBraket(
        executor=simulator_executor,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        quotas=Quotas.aws_defaults(scale=SCALE),
        run_delay=1.0,
    ) as local:
        yield local


async def open_session(local: LocalBraket) -> BraketSession:
    session = BraketSession(
        endpoint_url=local.endpoint_url,
        s3_endpoint_url=local.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        rate_limits=RateLimits.aws_defaults(scale=SCALE),
    )
    return await session.open()


async def create_many(
    braket: BraketSession, local: LocalBraket, n: int, source: str = BELL
) -> list[str]:
    creates = (create_task(braket, local, source, prefix="tracker") for _ in range(n))
    return list(await asyncio.gather(*creates))


async def test_hundreds_of_local_tasks(quota_local: LocalBraket) -> None:
    braket = await open_session(quota_local)
    try:
        before = quota_local.ledger.snapshot()
        n = 300
        tracker = braket.track()
        seen: list[QuantumTaskSummary] = []
        async with tracker:
            for arn in await create_many(braket, quota_local, n):
                tracker.add(arn, device_arn=SV1)
            async for summary in tracker.as_completed(details=False):
                seen.append(summary)
        after = quota_local.ledger.snapshot()
    finally:
        await braket.close()
    assert len(seen) == n == len({s.quantum_task_arn for s in seen})
    assert {s.status for s in seen} == {QuantumTaskStatus.COMPLETED}
    served = {
        op: after["calls"].get(op, 0) - before["calls"].get(op, 0)
        for op in ("GetQuantumTask", "SearchQuantumTasks")
    }
    assert served["GetQuantumTask"] + served["SearchQuantumTasks"] == tracker.stats.status_calls
    # A one-second poller makes at least 2 calls per task here (tasks run >= 1 s).
    assert tracker.stats.status_calls <= 0.2 * n
    throttled = {
        op: after["throttled"].get(op, 0) - before["throttled"].get(op, 0)
        for op in ("GetQuantumTask", "SearchQuantumTasks")
    }
    assert throttled == {"GetQuantumTask": 0, "SearchQuantumTasks": 0}


async def test_local_failed_tasks_and_resume(quota_local: LocalBraket) -> None:
    braket = await open_session(quota_local)
    try:
        good = await create_many(braket, quota_local, 15)
        bad = await create_many(braket, quota_local, 5, BAD)
        tracker = TaskTracker.resume(braket, good + bad)
        tasks = await tracker.wait_all()
    finally:
        await braket.close()
    by_arn = {t.quantum_task_arn: t for t in tasks}
    assert [t.quantum_task_arn for t in tasks] == good + bad
    assert {by_arn[a].status for a in good} == {QuantumTaskStatus.COMPLETED}
    assert {by_arn[a].status for a in bad} == {QuantumTaskStatus.FAILED}
    assert all(by_arn[a].failure_reason for a in bad)
    # Located together: 10 ARNs, then one search from their creation on finds the rest.
    assert tracker.stats.arn_sweeps == 1 and tracker.stats.locate_sweeps == 1
    assert tracker.stats.get_calls == 0


async def test_poll_policy_is_used_per_task(quota_local: LocalBraket) -> None:
    braket = await open_session(quota_local)
    try:
        (arn,) = await create_many(braket, quota_local, 1)
        tracker = TaskTracker(
            braket, options=TrackerOptions(poll=PollPolicy(initial=0.05, maximum=0.2))
        )
        tracker.add(arn)
        (task,) = await tracker.wait_all()
    finally:
        await braket.close()
    assert task.status == QuantumTaskStatus.COMPLETED
    # Tasks run 1 s; polling at most every 0.2 s means a handful of gets, and no search.
    assert tracker.stats.search_calls == 0
    assert tracker.stats.get_calls >= 2


async def test_local_tasks_are_seen_queued_then_running(make_local: Any) -> None:
    """Through the real service: tasks sit QUEUED, then RUNNING, long enough to be seen."""
    local = await make_local(queue_delay=1.5, run_delay=1.5, quotas=Quotas.off())
    snapshots: list[dict[str, int]] = []
    braket = await open_session(local)
    try:
        n = 40
        tracker = braket.track(  # the session's public door to a tracker
            options=TrackerOptions(
                observe_active=True,
                poll=PollPolicy(initial=0.2, maximum=0.5),
                sweep=SweepPolicy(min_interval=0.2, active_interval=0.5),
            ),
            on_status_change=lambda: snapshots.append(tracker.status_counts()),
        )
        async with tracker:
            for arn in await create_many(braket, local, n):
                tracker.add(arn, device_arn=SV1)
            done = [s async for s in tracker.as_completed(details=False)]
        calls = local.ledger.snapshot()["calls"]
    finally:
        await braket.close()
    assert len({s.quantum_task_arn for s in done}) == n
    assert any(s.get("QUEUED", 0) + s.get("CREATED", 0) > 0 for s in snapshots)
    assert any(s.get("RUNNING", 0) > 0 for s in snapshots)
    assert tracker.status_counts() == {"COMPLETED": n}
    # Every status call is on the ledger; unfiltered sweeps read one page each here.
    searches = calls.get("SearchQuantumTasks", 0)
    assert calls.get("GetQuantumTask", 0) + searches == tracker.stats.status_calls
    assert 1 <= tracker.stats.active_sweeps <= tracker.stats.window_sweeps <= searches


# --------------------------------------------------------------------------- may be unknown


async def test_a_task_that_may_be_unknown_ends_alone_with_its_error() -> None:
    fake = FakeBraket()
    known = [fake.create(3.0) for _ in range(3)]
    missing = new_arn()
    ended: list[tuple[str, BaseException]] = []
    tracker = TaskTracker(fake, on_unknown=lambda arn, error: ended.append((arn, error)))
    for arn in known:
        tracker.add(arn)
    tracker.add(missing, may_be_unknown=True)
    done = [t.quantum_task_arn async for t in tracker.as_completed()]
    assert sorted(done) == sorted(known)
    ((arn, error),) = ended
    assert arn == missing and isinstance(error, ResourceNotFoundException)
    assert dict(tracker.unknown) == {missing: error}
    assert tracker.arns == tuple(known) and missing not in tracker.pending
    with pytest.raises(ParameterError, match="tracked task ARN"):
        tracker.last_status(missing)
    assert [t.quantum_task_arn for t in await tracker.wait_all()] == known
    assert UNKNOWN_STATUS not in tracker.status_counts()  # counted out with it


async def test_resumed_arns_that_may_be_unknown() -> None:
    fake = FakeBraket()
    known = fake.create(2.0)
    missing = new_arn()
    tracker = TaskTracker.resume(fake, [known, missing], may_be_unknown=True)
    finished = await tracker.wait_all(details=False)
    assert [s.quantum_task_arn for s in finished] == [known]
    assert set(tracker.unknown) == {missing}
    assert tracker.pending == frozenset()


async def test_an_error_from_on_unknown_stops_the_tracker() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake, on_unknown=lambda arn, error: 1 / 0)
    tracker.add(fake.create(30.0))
    tracker.add(new_arn(), may_be_unknown=True)
    with pytest.raises(ZeroDivisionError):
        await tracker.wait_all()


async def test_may_be_unknown_with_the_local_service(quota_local: LocalBraket) -> None:
    """A real ResourceNotFoundException from the local service ends that ARN only."""
    braket = await open_session(quota_local)
    try:
        (real,) = await create_many(braket, quota_local, 1)
        missing = real.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        tracker = TaskTracker.resume(
            braket,
            [real, missing],
            may_be_unknown=True,
            options=TrackerOptions(
                poll=PollPolicy(initial=0.05, maximum=0.2), sweep=SweepPolicy(min_interval=0.05)
            ),
        )
        async with tracker:
            done = [t async for t in tracker.as_completed()]
    finally:
        await braket.close()
    assert [t.quantum_task_arn for t in done] == [real]
    assert done[0].status == QuantumTaskStatus.COMPLETED
    error = tracker.unknown[missing]
    assert isinstance(error, ResourceNotFoundException) and error.status_code == 404
