"""Waiters against the local Braket service, through the public API.

Loops run on a fake clock whose ``sleep`` only advances time, so waits of "minutes" take
milliseconds while every status call is a real HTTP request to the local service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _common import BELL, SV1, create_task, session_on
from botocore.config import Config

from braket_async import (
    BraketSession,
    InternalServiceException,
    Job,
    JobCancelled,
    JobEvent,
    JobFailed,
    ParameterError,
    QuantumTaskCancelled,
    QuantumTaskFailed,
    QuantumTaskStatus,
    RateLimits,
    ResourceNotFoundException,
    Telemetry,
    ThrottlingException,
    WaiterTimeout,
)
from braket_async._operations import Operations
from braket_async.local import (
    FaultConfig,
    FaultSpec,
    JobControl,
    JobSpec,
    LocalBraket,
    NoScriptJobRunner,
)
from braket_async.models import (
    AlgorithmSpecification,
    InstanceConfig,
    InstanceType,
    JobEventType,
    JobOutputDataConfig,
    JobStatus,
)
from braket_async.polling import PollPolicy, RetryBudget
from braket_async.waiters import JobEventGap, Waiters

BAD = "OPENQASM 3;\nqubit[2] q;\nnot_a_gate q[0];"
ROLE = "arn:aws:iam::123456789012:role/braket-local"
FAST = PollPolicy(initial=0.05, multiplier=1.5, maximum=0.5)
# No botocore retries: every injected fault reaches our code, which must absorb it.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
# Injected throttles would make the session's adaptive limiter slow down (its job): off here.
NO_LIMITS = RateLimits.off()


class FakeTime:
    """A clock and a sleep that advances it instantly (yielding to the loop once)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def create(braket: BraketSession, local: LocalBraket, source: str = BELL) -> str:
    return await create_task(braket, local, source, shots=100, prefix="waiters")


def calls(local: LocalBraket, operation: str) -> int:
    return int(local.ledger.snapshot()["calls"].get(operation, 0))


class RouterRunner:
    """Runs each job on the runner registered for its name (default: the real sequence)."""

    def __init__(self) -> None:
        self.default = NoScriptJobRunner(step_delay=0.01)
        self.routes: dict[str, Any] = {}

    async def run(self, job: JobSpec, control: JobControl) -> None:
        await self.routes.get(job.job_name, self.default).run(job, control)

    async def cancel(self, job_arn: str) -> None:
        for runner in (self.default, *self.routes.values()):
            await runner.cancel(job_arn)


@pytest.fixture(scope="module")
async def lab(local_braket: LocalBraket, simulator_executor: Any) -> AsyncIterator[LocalBraket]:
    """A service for this module: tasks run 0.2 s, faults settable, jobs routed by name."""
    router = RouterRunner()
    async with LocalBraket(
        executor=simulator_executor,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        run_delay=0.2,
        job_runner=router,
    ) as local:
        _ROUTERS[local.endpoint_url] = router
        yield local


@contextlib.contextmanager
def injecting(local: LocalBraket, faults: FaultConfig) -> Iterator[None]:
    local.faults = faults
    try:
        yield
    finally:
        local.faults = None


_ROUTERS: dict[str, RouterRunner] = {}


def route(local: LocalBraket, job_name: str, runner: Any) -> None:
    _ROUTERS[local.endpoint_url].routes[job_name] = runner


def fault_count(local: LocalBraket, operation: str) -> int:
    return sum(local.ledger.snapshot()["faults"].get(operation, {}).values())


# --------------------------------------------------------------------------- quantum tasks


async def test_completed_task_is_returned(braket: BraketSession, local_braket: LocalBraket) -> None:
    arn = await create(braket, local_braket)
    task = await braket.wait_for_quantum_task(arn)
    assert task.quantum_task_arn == arn
    assert task.status == QuantumTaskStatus.COMPLETED
    assert task.ended_at is not None


async def test_device_poll_interval_is_fetched_once_per_session(lab: LocalBraket) -> None:
    time = FakeTime()
    before = calls(lab, "GetDevice")
    async with session_on(lab) as braket:
        arns = [await create(braket, lab) for _ in range(3)]
        await asyncio.gather(
            *(braket.wait_for_quantum_task(a, sleep=time.sleep, clock=time.clock) for a in arns)
        )
        interval = await braket.device_poll_interval(SV1)
    assert calls(lab, "GetDevice") == before + 1
    device_floor = interval or 0.0
    assert device_floor > 0
    # No delay between polls went below the device's getTaskPollIntervalMillis.
    assert time.sleeps and min(time.sleeps) >= device_floor


async def test_failed_task_raises_with_reason_and_task(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await create(braket, local_braket, BAD)
    with pytest.raises(QuantumTaskFailed) as info:
        await braket.wait_for_quantum_task(arn, poll=FAST)
    assert info.value.task.quantum_task_arn == arn
    assert info.value.task.status == QuantumTaskStatus.FAILED
    assert info.value.failure_reason
    assert info.value.failure_reason == info.value.task.failure_reason


async def test_cancelled_task_raises(slow: LocalBraket) -> None:
    async with session_on(slow) as braket:
        arn = await create(braket, slow)
        waiting = asyncio.create_task(braket.wait_for_quantum_task(arn, poll=FAST))
        await braket.cancel_quantum_task(arn)
        with pytest.raises(QuantumTaskCancelled) as info:
            await waiting
    assert info.value.task.status == QuantumTaskStatus.CANCELLED


async def test_timeout_raises_waiter_timeout_with_last_status(slow: LocalBraket) -> None:
    time = FakeTime()
    async with session_on(slow) as braket:
        arn = await create(braket, slow)
        with pytest.raises(WaiterTimeout) as info:
            await braket.wait_for_quantum_task(
                arn, timeout=120.0, sleep=time.sleep, clock=time.clock
            )
        await braket.cancel_quantum_task(arn)
    assert info.value.arn == arn
    assert info.value.last_status == "QUEUED"
    assert info.value.waited >= 120.0
    # The deadline is honoured exactly: the last sleep was cut to end on it.
    assert time.now == pytest.approx(120.0)


async def test_zero_timeout_polls_once(slow: LocalBraket) -> None:
    async with session_on(slow) as session:
        arn = await create(session, slow)
        before = calls(slow, "GetQuantumTask")
        with pytest.raises(WaiterTimeout):
            await session.wait_for_quantum_task(arn, timeout=0)
        assert calls(slow, "GetQuantumTask") == before + 1
        await session.cancel_quantum_task(arn)


async def test_transient_faults_are_absorbed(lab: LocalBraket) -> None:
    faults = FaultConfig(
        per_operation={
            "GetQuantumTask": FaultSpec(internal_error=0.3, throttle=0.3, drop_connection=0.2)
        },
        seed=11,
    )
    # Real sleeps (tasks run 0.2 s); no botocore retries: every fault reaches the waiter.
    policy = PollPolicy(
        initial=0.02,
        maximum=0.1,
        budget=RetryBudget(max_consecutive=30, initial=0.01, maximum=0.05),
    )
    before = fault_count(lab, "GetQuantumTask")
    async with session_on(lab, config=NO_RETRIES, rate_limits=NO_LIMITS) as braket:
        arns = [await create(braket, lab) for _ in range(4)]
        with injecting(lab, faults):
            tasks = await asyncio.gather(
                *(braket.wait_for_quantum_task(a, poll=policy) for a in arns)
            )
    assert [t.status for t in tasks] == [QuantumTaskStatus.COMPLETED] * 4
    assert fault_count(lab, "GetQuantumTask") > before


async def test_spent_budget_raises_the_last_transient_error(lab: LocalBraket) -> None:
    faults = FaultConfig(per_operation={"GetQuantumTask": FaultSpec(internal_error=1.0)})
    time = FakeTime()
    policy = PollPolicy(budget=RetryBudget(max_consecutive=3))
    async with session_on(lab, config=NO_RETRIES, rate_limits=NO_LIMITS) as braket:
        arn = await create(braket, lab)
        before = calls(lab, "GetQuantumTask")
        with injecting(lab, faults), pytest.raises(InternalServiceException) as info:
            await braket.wait_for_quantum_task(arn, poll=policy, sleep=time.sleep, clock=time.clock)
        assert calls(lab, "GetQuantumTask") == before + 4
    assert any("max_consecutive=3" in n for n in info.value.__notes__)


async def test_the_timeout_holds_while_transient_errors_are_retried(slow: LocalBraket) -> None:
    failing = FaultConfig(per_operation={"GetQuantumTask": FaultSpec(internal_error=1.0)})
    time = FakeTime()
    # A budget that would retry for far longer than the timeout.
    policy = PollPolicy(
        initial=5.0,
        maximum=5.0,
        jitter=0.0,
        budget=RetryBudget(max_consecutive=1000, max_seconds=1000.0, initial=4.0, maximum=8.0),
    )

    async def sleep(seconds: float) -> None:
        slow.faults = failing  # every status call after the first one fails
        await time.sleep(seconds)

    async with session_on(slow, config=NO_RETRIES, rate_limits=NO_LIMITS) as braket:
        arn = await create(braket, slow)
        faults_before = fault_count(slow, "GetQuantumTask")
        try:
            with pytest.raises(WaiterTimeout) as info:
                await braket.wait_for_quantum_task(
                    arn, timeout=60.0, poll=policy, sleep=sleep, clock=time.clock
                )
        finally:
            slow.faults = None
        assert fault_count(slow, "GetQuantumTask") >= faults_before + 2
        await braket.cancel_quantum_task(arn)
    assert info.value.last_status == "QUEUED"
    # The deadline cut the last retry's backoff: it ended exactly on time.
    assert time.now == pytest.approx(60.0)
    assert info.value.waited == pytest.approx(60.0)


async def test_unknown_task_raises_not_found(braket: BraketSession) -> None:
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ResourceNotFoundException):
        await braket.wait_for_quantum_task(arn)


async def test_cancelling_the_waiter_stops_polling_at_once(slow: LocalBraket) -> None:
    local = slow
    async with session_on(local) as braket:
        arn = await create(braket, local)
        started = asyncio.Event()
        polls = 0

        async def sleep(seconds: float) -> None:
            nonlocal polls
            polls += 1
            started.set()
            await asyncio.sleep(3600)  # cancelled long before

        before = set(asyncio.all_tasks())
        waiter = asyncio.create_task(braket.wait_for_quantum_task(arn, sleep=sleep))
        await started.wait()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        after_cancel = calls(local, "GetQuantumTask")
        await asyncio.sleep(0.05)
        assert calls(local, "GetQuantumTask") == after_cancel
        assert set(asyncio.all_tasks()) <= before | {asyncio.current_task()}
        assert polls == 1
        await braket.cancel_quantum_task(arn)


# --------------------------------------------------------------------------- jobs


class ManyEventsRunner:
    """A job runner that emits ``count`` RUNNING events (in bursts), then completes.

    ``burst_gate`` (if set) is awaited before the events after the first ``first`` ones, so a
    test can make many events appear between two polls.
    """

    def __init__(
        self,
        count: int,
        *,
        step: float = 0.0,
        fail: bool = False,
        first: int = 0,
        burst_gate: asyncio.Event | None = None,
    ) -> None:
        self.count = count
        self.step = step
        self.fail = fail
        self.first = first
        self.burst_gate = burst_gate
        self.bursted = asyncio.Event()

    async def run(self, job: JobSpec, control: JobControl) -> None:
        control.emit("STARTING_INSTANCE", "Provisioning job instance")
        control.set_status("RUNNING")
        for i in range(self.count):
            if self.burst_gate is not None and i == self.first:
                await self.burst_gate.wait()
            control.emit("RUNNING", f"iteration {i}")
            if self.step:
                await asyncio.sleep(self.step)
        if self.burst_gate is not None:
            self.bursted.set()
        if self.fail:
            control.emit("FAILED", "Job failed")
            control.set_status("FAILED", failure_reason="AlgorithmError: iteration diverged")
        else:
            control.emit("UPLOADING_RESULTS", "Uploading job output to S3")
            control.emit("COMPLETED", "Job has completed")
            control.set_status("COMPLETED")

    async def cancel(self, job_arn: str) -> None:
        return None


async def create_job(braket: BraketSession, name: str) -> str:
    return await braket.create_job(
        job_name=name,
        role_arn=ROLE,
        algorithm_specification={
            "scriptModeConfig": {
                "entryPoint": "algo:main",
                "s3Uri": "s3://amazon-braket-local/scripts/algo.py",
                "compressionType": "NONE",
            }
        },
        output_data_config={"s3Path": "s3://amazon-braket-local/jobs/out"},
        instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        device_config={"device": SV1},
    )


async def test_follow_job_yields_the_real_event_sequence(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await create_job(braket, "follow-default")
    events = [e async for e in braket.follow_job(arn, poll=FAST)]
    types = [str(e.event_type) for e in events]
    assert types[-5:] == [
        "STARTING_INSTANCE",
        "DOWNLOADING_DATA",
        "RUNNING",
        "UPLOADING_RESULTS",
        "COMPLETED",
    ]
    assert len(set(map(_key, events))) == len(events)


def _key(event: JobEvent) -> tuple[Any, ...]:
    return (event.time_of_event, event.event_type, event.message)


async def test_follow_job_with_more_than_20_events_yields_each_once(lab: LocalBraket) -> None:
    route(lab, "many-events", ManyEventsRunner(45, step=0.01))
    async with session_on(lab) as braket:
        arn = await create_job(braket, "many-events")
        gaps: list[JobEventGap] = []
        events = [e async for e in braket.follow_job(arn, poll=FAST, on_gap=gaps.append)]
        job = await braket.get_job(arn)
    iterations = [e.message for e in events if e.event_type == "RUNNING"]
    assert iterations == [f"iteration {i}" for i in range(45)]
    assert str(events[-1].event_type) == "COMPLETED"
    assert len(job.events) == 20  # the service shows only the latest 20
    assert gaps == []
    times = [e.time_of_event for e in events if e.time_of_event is not None]
    assert times == sorted(times)


async def test_follow_job_reports_a_gap_it_cannot_fill(lab: LocalBraket) -> None:
    gate = asyncio.Event()
    runner = ManyEventsRunner(40, first=3, burst_gate=gate)
    route(lab, "gap", runner)
    async with session_on(lab) as braket:
        arn = await create_job(braket, "gap")

        async def sleep(seconds: float) -> None:
            # After the first poll: release a burst of 37 events before the next one.
            if not gate.is_set():
                gate.set()
                await runner.bursted.wait()
            await asyncio.sleep(0)

        # Wait until the first 3 events exist, so the first poll sees them.
        for _ in range(1000):
            if len((await braket.get_job(arn)).events) >= 4:
                break
            await asyncio.sleep(0.01)
        gaps: list[JobEventGap] = []
        events = [e async for e in braket.follow_job(arn, sleep=sleep, on_gap=gaps.append)]
    assert len(gaps) == 1
    assert gaps[0].after is not None and gaps[0].after.message == "iteration 2"
    assert gaps[0].before == events[4]
    messages = [e.message for e in events]
    assert len(messages) == len(set(messages))  # nothing twice, even across the gap
    assert messages[-1] == "Job has completed"


async def test_follow_job_since_skips_older_events(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await create_job(braket, "follow-since")
    job = await braket.wait_for_job(arn, poll=FAST)
    cut = job.events[2].time_of_event
    later = [e async for e in braket.follow_job(arn, since=cut)]
    assert later == [
        e for e in job.events if e.time_of_event is not None and cut and e.time_of_event > cut
    ]
    assert later


async def test_wait_for_job_completed(braket: BraketSession, local_braket: LocalBraket) -> None:
    arn = await create_job(braket, "wait-ok")
    job = await braket.wait_for_job(arn, poll=FAST)
    assert job.job_arn == arn
    assert str(job.status) == "COMPLETED"


async def test_wait_for_job_failed(lab: LocalBraket) -> None:
    route(lab, "wait-failed", ManyEventsRunner(3, fail=True))
    async with session_on(lab) as braket:
        arn = await create_job(braket, "wait-failed")
        with pytest.raises(JobFailed) as info:
            await braket.wait_for_job(arn, poll=FAST)
    assert info.value.failure_reason == "AlgorithmError: iteration diverged"
    assert info.value.job.job_arn == arn


async def test_wait_for_job_cancelled_and_timeout(lab: LocalBraket) -> None:
    route(lab, "wait-cancelled", NoScriptJobRunner(step_delay=30.0))
    time = FakeTime()
    async with session_on(lab) as braket:
        arn = await create_job(braket, "wait-cancelled")
        with pytest.raises(WaiterTimeout) as timeout:
            await braket.wait_for_job(arn, timeout=40.0, sleep=time.sleep, clock=time.clock)
        assert timeout.value.last_status in ("QUEUED", "RUNNING")
        await braket.cancel_job(arn)
        with pytest.raises(JobCancelled) as info:
            await braket.wait_for_job(arn, poll=FAST)
    assert str(info.value.job.status) == "CANCELLED"


# --------------------------------------------------------------------------- get_waiter


async def test_waiter_names(braket: BraketSession) -> None:
    assert braket.waiter_names == [
        "job_completed",
        "job_terminal",
        "quantum_task_completed",
        "quantum_task_terminal",
    ]
    with pytest.raises(ValueError, match="quantum_task_completed"):
        braket.get_waiter("task_done")
    assert braket.get_waiter("QuantumTaskCompleted").name == "quantum_task_completed"


async def test_get_waiter_quantum_task_completed(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await create(braket, local_braket)
    waiter = braket.get_waiter("quantum_task_completed")
    task = await waiter.wait(quantumTaskArn=arn, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    assert task.status == QuantumTaskStatus.COMPLETED
    assert task.quantum_task_arn == arn


async def test_get_waiter_failure_states_raise_typed_errors(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await create(braket, local_braket, BAD)
    config = {"Delay": 0.05, "MaxAttempts": 200}
    with pytest.raises(QuantumTaskFailed) as info:
        await braket.get_waiter("quantum_task_completed").wait(
            quantumTaskArn=arn, WaiterConfig=config
        )
    assert info.value.failure_reason
    # The terminal waiter accepts FAILED as success.
    task = await braket.get_waiter("quantum_task_terminal").wait(
        quantumTaskArn=arn, WaiterConfig=config
    )
    assert task.status == QuantumTaskStatus.FAILED


async def test_get_waiter_max_attempts_raise_waiter_timeout(slow: LocalBraket) -> None:
    local = slow
    async with session_on(local) as braket:
        arn = await create(braket, local)
        before = calls(local, "GetQuantumTask")
        with pytest.raises(WaiterTimeout) as info:
            await braket.get_waiter("quantum_task_completed").wait(
                quantumTaskArn=arn, WaiterConfig={"Delay": 0.01, "MaxAttempts": 3}
            )
        assert calls(local, "GetQuantumTask") == before + 3
        await braket.cancel_quantum_task(arn)
    assert info.value.last_status == "QUEUED"


async def test_get_waiter_counts_throttled_attempts_and_keeps_the_last_status(
    slow: LocalBraket,
) -> None:
    throttled = FaultConfig(per_operation={"GetQuantumTask": FaultSpec(throttle=1.0)})
    time = FakeTime()

    async def sleep(seconds: float) -> None:
        slow.faults = throttled  # every status call after the first one is throttled
        await time.sleep(seconds)

    async with session_on(
        slow, config=NO_RETRIES, rate_limits=NO_LIMITS, sleep=sleep, clock=time.clock
    ) as braket:
        arn = await create(braket, slow)
        before, faults_before = calls(slow, "GetQuantumTask"), fault_count(slow, "GetQuantumTask")
        try:
            with pytest.raises(WaiterTimeout) as info:
                await braket.get_waiter("quantum_task_completed").wait(
                    quantumTaskArn=arn, WaiterConfig={"Delay": 2, "MaxAttempts": 5}
                )
        finally:
            slow.faults = None
        # A throttled call is an attempt (a "retry" state): 5 calls in all, 4 of them throttled.
        assert calls(slow, "GetQuantumTask") == before + 5
        assert fault_count(slow, "GetQuantumTask") == faults_before + 4
        await braket.cancel_quantum_task(arn)
    assert info.value.arn == arn
    assert info.value.last_status == "QUEUED"  # the last status seen, not the last throttle's
    assert time.sleeps == [2, 2, 2, 2]
    assert info.value.waited == pytest.approx(8.0)


async def test_get_waiter_defaults_to_the_models_delay_and_max_attempts(slow: LocalBraket) -> None:
    time = FakeTime()
    async with session_on(
        slow, config=NO_RETRIES, rate_limits=NO_LIMITS, sleep=time.sleep, clock=time.clock
    ) as braket:
        arn = await create(braket, slow)
        before = calls(slow, "GetQuantumTask")
        with pytest.raises(WaiterTimeout):
            await braket.get_waiter("quantum_task_completed").wait(quantumTaskArn=arn)
        assert calls(slow, "GetQuantumTask") == before + 600  # maxAttempts of the model
        await braket.cancel_quantum_task(arn)
    assert time.sleeps == [1] * 599  # delay of the model


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"MaxAttempts": 0}, "WaiterConfig.MaxAttempts"),
        ({"MaxAttempts": "3"}, "WaiterConfig.MaxAttempts"),
        ({"Delay": -1}, "WaiterConfig.Delay"),
    ],
)
async def test_get_waiter_rejects_a_bad_waiter_config_before_sending(
    braket: BraketSession, local_braket: LocalBraket, config: dict[str, Any], field: str
) -> None:
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000000"
    before = calls(local_braket, "GetQuantumTask")
    with pytest.raises(ParameterError) as info:
        await braket.get_waiter("quantum_task_terminal").wait(
            quantumTaskArn=arn, WaiterConfig=config
        )
    assert info.value.field == field
    assert calls(local_braket, "GetQuantumTask") == before


async def test_get_waiter_retries_throttles_and_raises_other_errors(lab: LocalBraket) -> None:
    faults = FaultConfig(per_operation={"GetQuantumTask": FaultSpec(throttle=0.5)}, seed=3)
    before = fault_count(lab, "GetQuantumTask")
    async with session_on(lab, config=NO_RETRIES, rate_limits=NO_LIMITS) as braket:
        arn = await create(braket, lab)
        with injecting(lab, faults):
            task = await braket.get_waiter("quantum_task_completed").wait(
                quantumTaskArn=arn, WaiterConfig={"Delay": 0.01, "MaxAttempts": 200}
            )
        assert task.status == QuantumTaskStatus.COMPLETED
        assert fault_count(lab, "GetQuantumTask") > before
        missing = arn[:-12] + "000000000000"
        with pytest.raises(ResourceNotFoundException):
            await braket.get_waiter("quantum_task_terminal").wait(quantumTaskArn=missing)


async def test_get_waiter_for_jobs(lab: LocalBraket) -> None:
    route(lab, "waiter-job", ManyEventsRunner(2, fail=True))
    async with session_on(lab) as braket:
        arn = await create_job(braket, "waiter-job")
        config = {"Delay": 0.05, "MaxAttempts": 200}
        job = await braket.get_waiter("job_terminal").wait(jobArn=arn, WaiterConfig=config)
        assert str(job.status) == "FAILED"
        with pytest.raises(JobFailed):
            await braket.get_waiter("job_completed").wait(jobArn=arn, WaiterConfig=config)


# --------------------------------------------------------------------------- follow_job logic


class ScriptedJobs(Operations):
    """Operations whose GetJob answers come from a script of (status, events) windows."""

    def __init__(self, script: list[tuple[str, list[JobEvent]] | Exception]) -> None:
        super().__init__(self._not_sent)
        self.script = script
        self.polls = 0

    async def get_job(
        self, job_arn: str, *, additional_attribute_names: Sequence[str] | None = None
    ) -> Job:
        step = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        if isinstance(step, Exception):
            raise step
        status, events = step
        return Job(
            status=JobStatus(status),
            job_arn=job_arn,
            role_arn=ROLE,
            job_name="scripted",
            output_data_config=JobOutputDataConfig(s3_path="s3://b/out"),
            algorithm_specification=AlgorithmSpecification(),
            instance_config=InstanceConfig(
                instance_type=InstanceType("ml.m5.large"), volume_size_in_gb=30
            ),
            created_at=T0,
            events=tuple(events[-20:]),  # the service's window
        )

    @staticmethod
    async def _not_sent(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not used")


T0 = datetime(2025, 1, 1, tzinfo=UTC)
JOB_ARN = "arn:aws:braket:us-east-1:123456789012:job/scripted"


def ev(i: int, message: str | None = None, kind: str = "RUNNING") -> JobEvent:
    return JobEvent(
        event_type=JobEventType(kind),
        time_of_event=T0 + timedelta(seconds=i),
        message=message if message is not None else f"event {i}",
    )


async def follow(script: Any, **kwargs: Any) -> tuple[list[JobEvent], list[JobEventGap]]:
    time = FakeTime()
    jobs = Waiters(
        ScriptedJobs(script),
        sleep=time.sleep,
        clock=time.clock,
        telemetry=Telemetry.off(),
        events=lambda: None,
    )
    gaps: list[JobEventGap] = []
    events = [e async for e in jobs.follow_job(JOB_ARN, on_gap=gaps.append, **kwargs)]
    return events, gaps


async def test_windows_are_aligned_even_with_identical_events() -> None:
    same = [ev(1, "tick"), ev(1, "tick")]  # two identical events: both are real
    history = [ev(0), *same, *(ev(i) for i in range(2, 30)), ev(30, "done", "COMPLETED")]
    script: list[Any] = [
        ("RUNNING", history[:2]),
        ("RUNNING", history[:3]),
        ("RUNNING", history[:15]),
        ("RUNNING", history[:25]),  # window slid: the first 5 events are gone
        ("COMPLETED", history),
    ]
    events, gaps = await follow(script)
    assert events == history
    assert gaps == []


async def test_a_full_window_with_nothing_known_is_a_gap() -> None:
    history = [ev(i) for i in range(60)] + [ev(60, "done", "COMPLETED")]
    events, gaps = await follow([("RUNNING", history[:5]), ("COMPLETED", history)])
    assert events == history[:5] + history[-20:]
    assert gaps == [JobEventGap(job_arn=JOB_ARN, after=history[4], before=history[-20])]


async def test_first_full_window_may_hide_older_events_unless_since_covers_them() -> None:
    history = [ev(i) for i in range(25)] + [ev(25, "done", "COMPLETED")]
    _, gaps = await follow([("COMPLETED", history)])
    assert gaps == [JobEventGap(job_arn=JOB_ARN, after=None, before=history[-20])]
    # Resuming from the oldest event shown: nothing can hide before it.
    events, gaps = await follow([("COMPLETED", history)], since=history[-20].time_of_event)
    assert events == history[-19:]
    assert gaps == []
    # Resuming from an older event: events between it and the window may be missing.
    events, gaps = await follow([("COMPLETED", history)], since=history[-21].time_of_event)
    assert events == history[-20:]
    assert gaps == [JobEventGap(job_arn=JOB_ARN, after=None, before=history[-20])]


async def test_follow_job_absorbs_transient_errors_and_waits_for_the_final_event() -> None:
    history = [ev(0), ev(1)]
    throttle = ThrottlingException(message="Rate exceeded", status_code=429)
    script: list[Any] = [
        throttle,
        ("RUNNING", history),
        throttle,
        ("COMPLETED", history),  # terminal, but the final event is not there yet
        ("COMPLETED", [*history, ev(2, "done", "COMPLETED")]),
    ]
    events, gaps = await follow(script)
    assert [e.message for e in events] == ["event 0", "event 1", "done"]
    assert gaps == []
