"""Tasks that wait long (QPU queues) with the tracker's default options, verification by
sample, and the sweep source's retry budget: on the in-memory fake service and fake clock."""

from __future__ import annotations

from braket_async import ThrottlingException
from braket_async.polling import PollPolicy, RetryBudget
from braket_async.tracking import DEFAULT_QPU_POLL, SweepPolicy, TaskTracker, TrackerOptions

from ._fake import SV1, FakeBraket

FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
HOUR = 3600.0


def status_calls(fake: FakeBraket) -> int:
    return fake.calls["GetQuantumTask"] + fake.calls["SearchQuantumTasks"]


async def follow(fake: FakeBraket, tracker: TaskTracker) -> dict[str, float]:
    """Each task's ARN -> the fake time the tracker handed it out."""
    tracker.seal()  # no more tasks: the scheduler naps until the next one is due
    async with tracker:
        return {s.quantum_task_arn: fake.now async for s in tracker.as_completed(details=False)}


async def test_qpu_tasks_queued_for_hours_cost_under_a_fiftieth_of_a_call_per_hour() -> None:
    # 200 tasks wait 4 h in a QPU's queue, then run within a minute: with the defaults, each
    # is seen within its 30-minute qpu_poll interval, for at most 0.02 calls per task-hour.
    fake = FakeBraket()
    arns = [fake.create(4 * HOUR + i * 0.3, device=FORTE) for i in range(200)]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn, device_arn=FORTE, just_created=True)
    seen = await follow(fake, tracker)
    assert sorted(seen) == sorted(arns)
    ended = {arn: fake.tasks[arn].created + fake.tasks[arn].duration for arn in arns}
    assert max(seen[a] - ended[a] for a in arns) <= DEFAULT_QPU_POLL.maximum + 1.0
    calls = status_calls(fake)
    assert calls / 200 / 4.0 <= 0.02, (calls, tracker.stats)
    assert tracker.stats.get_calls == 0  # sweeps, not per-task gets


async def test_simulator_tasks_keep_the_fast_schedule() -> None:
    # The same tasks on a simulator, 2 minutes each: seen within the 30 s poll maximum.
    fake = FakeBraket()
    arns = [fake.create(120.0 + i * 0.01, device=SV1) for i in range(200)]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    seen = await follow(fake, tracker)
    ended = {arn: fake.tasks[arn].created + fake.tasks[arn].duration for arn in arns}
    assert max(seen[a] - ended[a] for a in arns) <= 31.0


async def test_a_qpu_task_learned_from_a_get_moves_to_the_qpu_schedule() -> None:
    # Added without its device: the first get tells it is on a QPU; from then on it is
    # checked every few minutes, not every 30 s (one task: plain gets).
    fake = FakeBraket()
    arn = fake.create(2 * HOUR, device=FORTE)
    tracker = TaskTracker(fake)
    tracker.add(arn, just_created=True)
    await follow(fake, tracker)
    # The default poll alone (30 s at most) would make ~240 gets in 2 h.
    assert fake.calls["GetQuantumTask"] <= 20, tracker.stats


async def test_verifying_many_tasks_looks_up_a_sample_of_ten() -> None:
    # 100 simulator tasks running 20 minutes: verified 120, 360 and 840 s after add (the
    # period doubles), each round one ARN search for a sample, not ten searches for all.
    fake = FakeBraket()
    arns = [fake.create(1200.0) for _ in range(100)]
    tracker = TaskTracker(fake)
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    await follow(fake, tracker)
    assert 3 <= tracker.stats.arn_sweeps <= 6, tracker.stats


async def test_tasks_verified_by_the_sample_keep_their_status_checks() -> None:
    # Every task comes due for a status check and for verification at once (100 s); the
    # sampled ones (every third) have finished, the sample verifies the others, and these
    # still get their status check, not only a verification 200 s later.
    fake = FakeBraket()
    arns = [fake.create(90.0 if i % 3 == 0 else 150.0) for i in range(30)]
    poll = PollPolicy(initial=100.0, multiplier=1.0, maximum=100.0, jitter=0.0)
    options = TrackerOptions(poll=poll, sweep=SweepPolicy(verify_after=100.0))
    tracker = TaskTracker(fake, options=options)
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    seen = await follow(fake, tracker)
    assert max(seen.values()) <= 201.0  # at the check 200 s after add, not a verification later
    assert tracker.stats.arn_sweeps == 1


async def test_a_sample_outside_its_estimate_has_every_task_looked_up() -> None:
    # The client's clock is 10 minutes ahead of the service's: every estimate is wrong, the
    # sample shows it, and all 40 tasks are looked up by ARN (4 searches more).
    fake = FakeBraket()
    arns = [fake.create(700.0, at=-600.0) for _ in range(40)]
    policy = SweepPolicy(verify_after=60.0)
    tracker = TaskTracker(fake, options=TrackerOptions(sweep=policy))
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    async with tracker:
        first = await anext(aiter(tracker.as_completed(details=False)))
        assert first.quantum_task_arn in arns
    # the sample (1 search), then the other 30 (3 searches); then each is anchored exactly
    assert tracker.stats.arn_sweeps >= 4


async def test_concurrent_gets_of_a_sweep_source_each_have_their_own_retry_budget() -> None:
    """12 status gets failing once each are 12 single failures, not 12 in a row (one budget
    shared by the source spent its max_consecutive=3 and stopped the tracker)."""
    fake = FakeBraket()
    arns = [fake.create(3.0) for _ in range(20)]
    budget = RetryBudget(max_consecutive=3, initial=0.001, maximum=0.002)
    # no jitter: the 20 come due together, 16 gets at once (max_concurrency)
    poll = PollPolicy(jitter=0.0, budget=budget)
    options = TrackerOptions(poll=poll, sweep=SweepPolicy(enabled=False))
    tracker = TaskTracker(fake, options=options)
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    fake.throttle_next = 12  # the first attempt of 12 of the first round's concurrent gets
    done = await tracker.wait_all(details=False)
    assert [t.quantum_task_arn for t in done] == arns
    assert tracker.stats.transient_errors == 12


async def test_a_spent_budget_of_one_get_still_stops_the_tracker() -> None:
    fake = FakeBraket()
    budget = RetryBudget(max_consecutive=3, initial=0.001, maximum=0.002)
    tracker = TaskTracker(fake, options=TrackerOptions(poll=PollPolicy(budget=budget)))
    tracker.add(fake.create(3.0))
    fake.throttle_next = 4
    try:
        await tracker.wait_all(details=False)
    except ThrottlingException:
        pass
    else:
        raise AssertionError("four failures in a row of one call must spend its budget")
