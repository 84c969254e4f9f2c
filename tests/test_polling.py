"""PollPolicy and RetryBudget: the delays they produce and the errors they absorb."""

from __future__ import annotations

import asyncio
import math
import random
import sys
from typing import Any

import attrs
import pytest
from _common import FakeClock

from braket_async import errors
from braket_async.polling import (
    Deadline,
    DeadlineExceeded,
    PollCadence,
    PollPolicy,
    RetryBudget,
    RetryStopped,
    is_transient,
    retry_target,
    server_error_code,
)


def test_delays_grow_geometrically_to_the_maximum_without_jitter() -> None:
    policy = PollPolicy(initial=0.5, multiplier=2.0, maximum=5.0, jitter=0.0)
    delays = policy.delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_stays_inside_zero_and_the_cap() -> None:
    policy = PollPolicy(initial=1.0, multiplier=2.0, maximum=8.0, jitter=1.0)
    rng = random.Random(7)
    for attempt in range(10):
        cap = policy.cap(attempt)
        for _ in range(50):
            assert 0.0 <= policy.next_delay(attempt, rng=rng) <= cap
    # Full jitter really spreads: not every draw is the cap.
    draws = {policy.next_delay(3, rng=rng) for _ in range(20)}
    assert len(draws) > 1


def test_partial_jitter_keeps_the_lower_part_of_the_interval() -> None:
    policy = PollPolicy(initial=4.0, maximum=4.0, jitter=0.25)
    rng = random.Random(1)
    assert all(3.0 <= policy.next_delay(0, rng=rng) <= 4.0 for _ in range(100))


def test_device_floor_is_never_undercut_unless_disabled() -> None:
    policy = PollPolicy(initial=0.1, maximum=0.2, jitter=0.0)
    assert policy.next_delay(0, floor=1.5) == 1.5
    assert policy.next_delay(5, floor=0.05) == 0.2
    ignoring = attrs.evolve(policy, respect_device_interval=False)
    assert ignoring.next_delay(0, floor=1.5) == 0.1


def test_huge_attempt_numbers_do_not_overflow() -> None:
    policy = PollPolicy(initial=1.0, multiplier=10.0, maximum=30.0, jitter=0.0)
    assert policy.next_delay(100_000) == 30.0


def test_policy_is_an_immutable_value() -> None:
    policy = PollPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.initial = 3.0  # type: ignore[misc]
    faster = policy.with_delays(initial=0.1, maximum=1.0)
    assert (faster.initial, faster.maximum) == (0.1, 1.0)
    assert (policy.initial, policy.maximum) == (0.5, 10.0)
    assert PollPolicy() == PollPolicy()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"initial": 0.0}, "initial"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"maximum": -1.0}, "maximum"),
        ({"initial": 5.0, "maximum": 1.0}, "maximum"),
        ({"jitter": 1.5}, "jitter"),
    ],
)
def test_invalid_policies_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PollPolicy(**kwargs)


def _throttle() -> errors.ThrottlingException:
    return errors.ThrottlingException(message="Rate exceeded", status_code=429)


def test_transient_errors() -> None:
    assert is_transient(_throttle())
    assert is_transient(errors.InternalServiceException(message="boom", status_code=500))
    assert is_transient(errors.ServiceError("BadGateway", "", status_code=502))
    assert is_transient(errors.ConnectionFailed("refused"))
    assert is_transient(errors.ResponseError("connection dropped"))
    assert not is_transient(errors.ResourceNotFoundException(message="no", status_code=404))
    assert not is_transient(errors.ValidationException(message="bad", status_code=400))
    assert not is_transient(errors.AccessDeniedException(message="no", status_code=403))
    assert not is_transient(ValueError("x"))


def test_budget_gives_backoff_delays_then_raises_the_last_error() -> None:
    clock = FakeClock()
    budget = RetryBudget(max_consecutive=3, max_seconds=1000, initial=1.0, maximum=4.0)
    state = budget.start(clock, random.Random(3))
    delays = [state.failed(_throttle()) for _ in range(3)]
    assert [d <= cap for d, cap in zip(delays, (1.0, 2.0, 4.0), strict=True)] == [True] * 3
    last = _throttle()
    with pytest.raises(errors.ThrottlingException) as info:
        state.failed(last)
    assert info.value is last
    assert any("max_consecutive=3" in note for note in info.value.__notes__)


def test_budget_jitter_narrows_the_delay_and_zero_makes_it_exact() -> None:
    exact = RetryBudget(initial=1.0, maximum=4.0, jitter=0.0).start(FakeClock())
    assert [exact.failed(_throttle()) for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    half = RetryBudget(max_consecutive=50, initial=1.0, maximum=4.0, jitter=0.5)
    state = half.start(FakeClock(), random.Random(7))
    delays = [state.failed(_throttle()) for _ in range(40)]
    assert all(2.0 <= d <= 4.0 for d in delays[2:])  # [cap / 2, cap] once at the cap
    with pytest.raises(ValueError, match="jitter"):
        RetryBudget(jitter=1.5)


def test_a_budget_that_never_gives_up_does_not_overflow() -> None:
    # an event feed's receive loop retries for as long as it runs
    forever = RetryBudget.unlimited(initial=1.0, maximum=30.0, jitter=0.0)
    assert forever.max_consecutive == sys.maxsize and forever.max_seconds == math.inf
    clock = FakeClock()
    state = forever.start(clock)
    delays = []
    for _ in range(2000):
        delays.append(state.failed(_throttle()))
        clock.now += 30.0  # 16 hours failing in all
    assert delays[:3] == [1.0, 2.0, 4.0] and set(delays[1500:]) == {30.0}


def test_a_policy_lends_its_backoff_to_a_budget_that_never_gives_up() -> None:
    # what a feed's reader takes from its PollPolicy: the delays, not the policy's own budget
    policy = PollPolicy(initial=0.2, multiplier=3.0, maximum=5.0, jitter=0.0)
    budget = policy.unlimited_budget()
    assert budget == RetryBudget.unlimited(initial=0.2, multiplier=3.0, maximum=5.0, jitter=0.0)
    state = budget.start(FakeClock())
    assert [state.failed(_throttle()) for _ in range(20)][:4] == pytest.approx([0.2, 0.6, 1.8, 5.0])


def test_budget_success_resets_the_consecutive_count() -> None:
    state = RetryBudget(max_consecutive=2).start(FakeClock())
    for _ in range(5):
        state.failed(_throttle())
        state.failed(_throttle())
        state.succeeded()
    assert state.total == 10
    assert state.consecutive == 0


def test_budget_raises_after_too_long_failing() -> None:
    clock = FakeClock()
    state = RetryBudget(max_consecutive=100, max_seconds=10.0).start(clock)
    state.failed(_throttle())
    clock.now = 9.0
    state.failed(_throttle())
    clock.now = 10.5
    with pytest.raises(errors.ThrottlingException) as info:
        state.failed(_throttle())
    assert any("max_seconds=10.0" in note for note in info.value.__notes__)


def _server_error(code: str = "InternalServiceException", status: int = 500) -> Exception:
    if code == "InternalServiceException":
        return errors.InternalServiceException(message="please try again", status_code=status)
    return errors.ServiceError(code, "", status_code=status)


def test_server_error_code_names_only_5xx_answers() -> None:
    assert server_error_code(_server_error()) == "InternalServiceException"
    assert server_error_code(_server_error("BadGateway", 502)) == "BadGateway"
    assert server_error_code(_throttle()) is None
    assert server_error_code(errors.ResponseError("connection dropped")) is None
    assert server_error_code(errors.ValidationException(message="bad", status_code=400)) is None


def test_budget_ends_a_repeated_server_error_after_server_error_attempts() -> None:
    state = RetryBudget(max_consecutive=30, server_error_attempts=5).start(FakeClock())
    for _ in range(4):
        state.failed(_server_error())
    last = _server_error()
    with pytest.raises(errors.InternalServiceException) as info:
        state.failed(last)
    assert info.value is last and state.total == 5
    assert any("5 attempts answered InternalServiceException" in n for n in last.__notes__)


def test_server_error_streak_ignores_throttles_and_restarts_on_another_code() -> None:
    state = RetryBudget(max_consecutive=30, server_error_attempts=3).start(FakeClock())
    state.failed(_server_error())
    state.failed(_throttle())  # neither counts nor resets the streak
    state.failed(errors.ResponseError("dropped"))
    state.failed(_server_error())
    assert state.server_repeats == 2
    state.failed(_server_error("BadGateway", 502))  # another code: a new streak
    state.failed(_server_error())
    assert state.server_repeats == 1
    state.succeeded()
    assert state.server_repeats == 0
    # without the setting only max_consecutive bounds a server error
    unbounded = RetryBudget(max_consecutive=30).start(FakeClock())
    for _ in range(30):
        unbounded.failed(_server_error())


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "5"])
def test_server_error_attempts_must_be_none_or_a_positive_int(value: Any) -> None:
    with pytest.raises(ValueError, match="server_error_attempts must be None or an int >= 1"):
        RetryBudget(server_error_attempts=value)


class Answers:
    """A call that raises each error of ``script`` in turn, then returns ``"ok"``."""

    def __init__(self, *script: Exception) -> None:
        self.script = list(script)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.script:
            raise self.script.pop(0)
        return "ok"


async def test_retry_target_absorbs_transient_errors_with_backoff_then_resets() -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    state = RetryBudget(max_consecutive=3, initial=1.0, maximum=4.0).start(FakeClock())
    call = Answers(_throttle(), _throttle())
    assert await retry_target(call, state, sleep=sleep) == "ok"
    assert call.calls == 3
    assert len(slept) == 2
    assert all(0.0 <= d <= cap for d, cap in zip(slept, (1.0, 2.0), strict=True))
    assert (state.consecutive, state.total) == (0, 2)


async def test_retry_target_raises_other_errors_at_once() -> None:
    async def sleep(delay: float) -> None:
        raise AssertionError("a non-transient error must not be retried")

    state = RetryBudget().start(FakeClock())
    denied = errors.AccessDeniedException(message="no")
    call = Answers(denied)
    with pytest.raises(errors.AccessDeniedException) as info:
        await retry_target(call, state, sleep=sleep)
    assert info.value is denied
    assert call.calls == 1
    assert state.total == 0


async def test_retry_target_raises_the_error_that_spends_the_budget() -> None:
    async def sleep(delay: float) -> None:
        pass

    state = RetryBudget(max_consecutive=2).start(FakeClock())
    last = _throttle()
    call = Answers(_throttle(), _throttle(), last)
    with pytest.raises(errors.ThrottlingException) as info:
        await retry_target(call, state, sleep=sleep)
    assert info.value is last
    assert call.calls == 3
    assert any("max_consecutive=2" in note for note in info.value.__notes__)


async def test_retry_target_predicate_decides_what_is_retried() -> None:
    async def sleep(delay: float) -> None:
        pass

    denied = errors.AccessDeniedException(message="no")
    call = Answers(denied, denied)
    result = await retry_target(
        call,
        RetryBudget().start(FakeClock()),
        sleep=sleep,
        predicate=lambda exc: isinstance(exc, errors.AccessDeniedException),
    )
    assert (result, call.calls) == ("ok", 3)


async def test_retry_target_reports_each_retried_error_with_its_delay() -> None:
    slept: list[float] = []
    seen: list[tuple[BaseException, float]] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    first, second = _throttle(), _throttle()
    await retry_target(
        Answers(first, second),
        RetryBudget().start(FakeClock()),
        sleep=sleep,
        on_error=lambda exc, delay: seen.append((exc, delay)),
    )
    assert [exc for exc, _ in seen] == [first, second]
    assert [delay for _, delay in seen] == slept


async def test_retry_target_stop_event_interrupts_the_backoff() -> None:
    stop = asyncio.Event()
    sleeping = asyncio.Event()

    async def sleep(delay: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()  # a backoff that would never end by itself

    last = _throttle()
    call = Answers(last)
    retry = asyncio.create_task(
        retry_target(call, RetryBudget(initial=5.0).start(FakeClock()), sleep=sleep, stop=stop)
    )
    await sleeping.wait()
    stop.set()
    with pytest.raises(RetryStopped) as info:
        await retry
    assert info.value.last_error is last
    assert call.calls == 1


async def test_retry_target_with_stop_already_set_does_not_retry() -> None:
    stop = asyncio.Event()
    stop.set()

    async def sleep(delay: float) -> None:
        raise AssertionError("a stopped retry must not back off")

    call = Answers(_throttle())
    with pytest.raises(RetryStopped):
        await retry_target(call, RetryBudget().start(FakeClock()), sleep=sleep, stop=stop)
    assert call.calls == 1


def _advancing_sleep(clock: FakeClock, log: list[float]) -> Any:
    async def sleep(delay: float) -> None:
        log.append(delay)
        clock.now += delay

    return sleep


async def test_retry_target_caps_each_backoff_at_the_deadline_then_raises_past_it() -> None:
    clock = FakeClock()
    slept: list[float] = []
    state = RetryBudget(max_consecutive=100, initial=4.0, multiplier=1.0, maximum=4.0).start(
        clock, random.Random(1)
    )
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        raise _throttle()

    with pytest.raises(DeadlineExceeded) as caught:
        await retry_target(
            call, state, sleep=_advancing_sleep(clock, slept), deadline=Deadline(5.0, clock)
        )
    assert isinstance(caught.value.last_error, errors.ThrottlingException)
    assert caught.value.__cause__ is caught.value.last_error
    assert sum(slept) == pytest.approx(5.0)  # never slept past the deadline
    assert all(delay <= 4.0 for delay in slept)
    assert calls == len(slept) + 1


async def test_poll_cadence_backs_off_starts_over_on_progress_and_stops_at_the_deadline() -> None:
    clock = FakeClock()
    slept: list[float] = []
    policy = PollPolicy(initial=1.0, multiplier=2.0, maximum=8.0, jitter=0.0)
    cadence = PollCadence(
        policy, sleep=_advancing_sleep(clock, slept), clock=clock, deadline=Deadline(10.0, clock)
    )
    await cadence.next_poll()
    await cadence.next_poll()
    cadence.progressed()
    await cadence.next_poll(floor=1.5)
    await cadence.next_poll(at_most=0.5)
    assert slept == [1.0, 2.0, 1.5, 0.5]
    await cadence.next_poll()  # 4.0 wanted, 5.0 left
    with pytest.raises(DeadlineExceeded):
        await cadence.next_poll()  # 1.0 left of an 8.0 delay: capped ...
        await cadence.next_poll()  # ... then nothing left
    assert slept[4:] == [4.0, 1.0]


class _FiringWake:
    """A wake that ends every pause at once, as if an event had arrived."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def sleep(self, delay: float, sleep: Any) -> bool:
        self.pauses.append(delay)
        return True


async def test_poll_cadence_wake_counts_as_progress() -> None:
    clock = FakeClock()
    wake = _FiringWake()
    policy = PollPolicy(initial=1.0, multiplier=3.0, maximum=9.0, jitter=0.0)
    cadence = PollCadence(policy, sleep=_advancing_sleep(clock, []), clock=clock, wake=wake)
    for _ in range(3):
        await cadence.next_poll()
    assert wake.pauses == [1.0, 1.0, 1.0]  # woken each time: the backoff never grew
