"""Polling policy values: how long to wait between status calls, and how many transient
errors a poller may absorb.

Both are immutable values (google api-core's ``Retry`` is the model): share one between many
waiters, derive variants with :func:`attrs.evolve` or the ``with_*`` helpers.

* :class:`PollPolicy` -- exponential backoff with full jitter between status calls,
  floored by the device's ``getTaskPollIntervalMillis`` when the caller knows it.
* :class:`RetryBudget` -- how many consecutive transient failures (throttling, 5xx,
  dropped connections), how many answers of the same 5xx error, and how much time spent
  failing a poller tolerates before it raises the last error. :meth:`RetryBudget.start`
  gives the mutable per-poll bookkeeping.
* :func:`retry_target` -- the package's one transient-retry loop (api-core's
  ``retry_target`` is the model): a predicate, the budget's backoff sequence, an
  ``on_error`` hook, a :class:`Deadline` that caps every backoff, and a stop event for
  callers whose backoff must be interruptible.
* :class:`PollCadence` -- the one poll cadence (the task and job waiters, the log stream):
  back off between polls, start over on progress or when an event wakes the poller, never
  sleep past the deadline.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import attrs

from . import errors
from ._base import Clock, Sleep

__all__ = [
    "BudgetState",
    "Deadline",
    "DeadlineExceeded",
    "PollCadence",
    "PollPolicy",
    "RetryBudget",
    "RetryStopped",
    "Wake",
    "is_transient",
    "retry_target",
    "server_error_code",
    "sleep_unless_stopped",
]

T = TypeVar("T")


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _at_least_one(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


def is_transient(exc: BaseException) -> bool:
    """True for errors a poller of read-only operations should absorb and retry: throttling,
    the service's 5xx answers, refused connections (``ConnectionFailed``) and responses cut
    short (``ResponseError``: a dropped connection; repeating a read is harmless).

    Args:
        exc: The error a call raised.

    Returns:
        Whether a poller should retry after it.
    """
    if isinstance(exc, errors.ThrottlingException | errors.InternalServiceException):
        return True
    if isinstance(exc, errors.ServiceError):
        status = exc.status_code
        return status is not None and status >= 500
    return isinstance(exc, errors.ConnectionFailed | errors.ResponseError)


def server_error_code(exc: BaseException) -> str | None:
    """The error code of a 5xx answer of the service (``"InternalServiceException"``), else
    ``None`` (throttling, dropped connections, 4xx answers).

    Args:
        exc: The error a call raised.

    Returns:
        The 5xx error code, or ``None``.
    """
    if isinstance(exc, errors.InternalServiceException):
        return exc.code
    if isinstance(exc, errors.ServiceError) and exc.status_code is not None:
        return exc.code if exc.status_code >= 500 else None
    return None


def _optional_at_least_one(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{attribute.name} must be None or an int >= 1, got {value!r}")


@attrs.frozen
class RetryBudget:
    """How many transient errors one poller absorbs before raising the last one.

    ``max_consecutive`` errors in a row, or errors for longer than ``max_seconds`` without a
    success in between, exhaust the budget. So does, when set, ``server_error_attempts``
    answers of the service with the same 5xx error code since the last success: a
    systematic server error (one a request provokes every time) ends after that many
    attempts instead of ``max_consecutive`` (429s and dropped connections in between neither
    count nor reset it; another 5xx code starts it again). Between attempts the poller backs
    off exponentially from ``initial`` by ``multiplier`` up to ``maximum``, each delay drawn
    from ``[cap * (1 - jitter), cap]`` (``jitter=1.0``, the default, is full jitter; ``0.0``
    none). A loop that must never give up (an event feed's receive loop) uses
    :meth:`unlimited`.
    """

    max_consecutive: int = attrs.field(default=8, validator=_at_least_one)
    max_seconds: float = attrs.field(default=120.0, validator=_positive)
    initial: float = attrs.field(default=0.25, validator=_positive)
    multiplier: float = attrs.field(default=2.0, validator=_at_least_one)
    maximum: float = attrs.field(default=10.0, validator=_positive)
    server_error_attempts: int | None = attrs.field(
        default=None, validator=_optional_at_least_one
    )
    jitter: float = attrs.field(
        default=1.0,
        validator=attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0)),
    )

    @classmethod
    def unlimited(
        cls,
        *,
        initial: float = 0.25,
        multiplier: float = 2.0,
        maximum: float = 10.0,
        jitter: float = 1.0,
    ) -> RetryBudget:
        """A budget that never runs out, for a background loop that keeps trying for as long
        as it runs (an event feed's receive loop): only its backoff is set.

        Args:
            initial: The first delay.
            multiplier: The growth of the delay per consecutive failure.
            maximum: The longest delay.
            jitter: The random part of each delay (1.0: full jitter).

        Returns:
            The budget.
        """
        return cls(
            max_consecutive=sys.maxsize,
            max_seconds=math.inf,
            initial=initial,
            multiplier=multiplier,
            maximum=maximum,
            jitter=jitter,
        )

    def start(self, clock: Callable[[], float], rng: random.Random | None = None) -> BudgetState:
        """Fresh bookkeeping for one poller.

        Args:
            clock: The monotonic clock that times ``max_seconds``.
            rng: The random source of the jitter (default: a new ``random.Random``).

        Returns:
            The poller's own :class:`BudgetState`.
        """
        return BudgetState(self, clock, rng or random.Random())


class BudgetState:
    """Mutable per-poller use of a :class:`RetryBudget` (not shared between pollers).

    Args:
        budget: The limits to apply.
        clock: The monotonic clock that times ``max_seconds``.
        rng: The random source of the backoff's jitter.
    """

    def __init__(self, budget: RetryBudget, clock: Callable[[], float], rng: random.Random) -> None:
        self.budget = budget
        self._clock = clock
        self._rng = rng
        self.consecutive = 0
        self.total = 0
        self._first_failure: float | None = None
        self._server_code: str | None = None
        self.server_repeats = 0  # answers with ``_server_code`` since the last success

    def succeeded(self) -> None:
        """A call went through: the consecutive counts start again."""
        self.consecutive = 0
        self._first_failure = None
        self._server_code = None
        self.server_repeats = 0

    def failed(self, exc: BaseException) -> float:
        """Record transient ``exc``; return the delay before the next attempt, or re-raise
        ``exc`` when the budget is spent (with a note saying which limit was hit).

        Args:
            exc: The transient error the last attempt raised.

        Returns:
            The seconds to wait before the next attempt.

        Raises:
            BaseException: ``exc`` itself, once the budget is spent.
        """
        now = self._clock()
        if self._first_failure is None:
            self._first_failure = now
        self.consecutive += 1
        self.total += 1
        b = self.budget
        code = server_error_code(exc)
        if code is not None:
            self.server_repeats = self.server_repeats + 1 if code == self._server_code else 1
            self._server_code = code
            limit = b.server_error_attempts
            if limit is not None and self.server_repeats >= limit:
                exc.add_note(
                    f"retry budget spent: {self.server_repeats} attempts answered {code} "
                    f"(server_error_attempts={limit}); the error looks systematic"
                )
                raise exc
        if self.consecutive > b.max_consecutive:
            exc.add_note(
                f"retry budget spent: {self.consecutive} consecutive transient errors "
                f"(max_consecutive={b.max_consecutive})"
            )
            raise exc
        elapsed = now - self._first_failure
        if elapsed >= b.max_seconds:
            exc.add_note(
                f"retry budget spent: transient errors for {elapsed:.1f}s "
                f"(max_seconds={b.max_seconds})"
            )
            raise exc
        try:  # bounded: a loop that never gives up would overflow a float
            raw = b.initial * b.multiplier ** min(self.consecutive - 1, 1024)
        except OverflowError:
            raw = b.maximum
        cap = min(b.maximum, raw)
        return self._rng.uniform(cap * (1.0 - b.jitter), cap)


class RetryStopped(Exception):
    """:func:`retry_target`'s stop event was set while it backed off; ``last_error`` is the
    transient error it was about to retry (the call's effect may be unknown).

    Args:
        last_error: The transient error that was about to be retried.
    """

    def __init__(self, last_error: BaseException) -> None:
        super().__init__(f"retry stopped after: {last_error!r}")
        self.last_error = last_error


class DeadlineExceeded(Exception):
    """A :class:`Deadline` passed before the work was done; ``last_error`` is the transient
    error :func:`retry_target` was about to retry (None between polls).

    Args:
        last_error: The transient error that was about to be retried, if any.
    """

    def __init__(self, last_error: BaseException | None = None) -> None:
        super().__init__(
            "deadline passed" if last_error is None else f"deadline passed after: {last_error!r}"
        )
        self.last_error = last_error


@attrs.frozen
class Deadline:
    """A point on an injectable monotonic ``clock`` after which a loop stops waiting."""

    at: float
    clock: Clock

    @classmethod
    def after(cls, seconds: float, clock: Clock) -> Deadline:
        """The deadline ``seconds`` from now on ``clock``.

        Args:
            seconds: How long from now.
            clock: The monotonic clock to measure on.

        Returns:
            The new deadline.
        """
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left (<= 0 once passed)."""
        return self.at - self.clock()

    def cap(self, delay: float, last_error: BaseException | None = None) -> float:
        """``delay`` shortened to the time left; raises :class:`DeadlineExceeded` (chained to
        ``last_error``) once none is left.

        Args:
            delay: The pause wanted, in seconds.
            last_error: The error to chain to :class:`DeadlineExceeded`, if any.

        Returns:
            ``delay``, at most the time left.

        Raises:
            DeadlineExceeded: The deadline has passed.
        """
        remaining = self.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(last_error) from last_error
        return min(delay, remaining)


async def retry_target(
    target: Callable[[], Awaitable[T]],
    budget: BudgetState,
    *,
    sleep: Callable[[float], Awaitable[None]],
    predicate: Callable[[BaseException], bool] = is_transient,
    on_error: Callable[[BaseException, float], object] | None = None,
    stop: asyncio.Event | None = None,
    deadline: Deadline | None = None,
) -> T:
    """``await target()`` until it succeeds; the package's one transient-retry loop.

    An error for which ``predicate`` is false propagates at once. A retryable one is charged
    to ``budget`` (:meth:`BudgetState.failed` re-raises it, with a note, once the budget is
    spent), reported to ``on_error(error, delay)``, and followed by ``sleep(delay)``. With a
    ``deadline``, every backoff ends on it, and a retry due after it raises
    :class:`DeadlineExceeded` instead. With a ``stop`` event, a set event ends the loop
    before the next attempt or during the backoff by raising :class:`RetryStopped`.

    Args:
        target: The call to make, as a coroutine function without arguments.
        budget: The poller's retry bookkeeping.
        sleep: The sleep of the backoff.
        predicate: Whether an error is transient (default: :func:`is_transient`).
        on_error: Called with each retried error and the delay before the next attempt.
        stop: An event that ends the loop.
        deadline: The time after which no retry is made.

    Returns:
        What ``target()`` returned.

    Raises:
        RetryStopped: ``stop`` was set.
        DeadlineExceeded: The deadline passed before a retry.
    """
    while True:
        try:
            result = await target()
        except Exception as exc:
            if not predicate(exc):
                raise
            delay = budget.failed(exc)
            if deadline is not None:
                delay = deadline.cap(delay, exc)
            if on_error is not None:
                on_error(exc, delay)
            if stop is None:
                await sleep(delay)
            elif not await sleep_unless_stopped(delay, sleep, stop):
                raise RetryStopped(exc) from exc
            continue
        budget.succeeded()
        return result


async def sleep_unless_stopped(
    delay: float, sleep: Callable[[float], Awaitable[None]], stop: asyncio.Event
) -> bool:
    """Sleep ``delay`` through the injectable ``sleep`` unless ``stop`` is set first; False
    when it was (or already is) set. The one interruptible sleep of the package.

    Args:
        delay: Seconds to sleep.
        sleep: The sleep to use.
        stop: The event that ends the sleep.

    Returns:
        True when the whole delay passed, False when ``stop`` was set.
    """
    if stop.is_set():
        return False
    sleeper = asyncio.ensure_future(sleep(delay))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
        await asyncio.gather(sleeper, stopper, return_exceptions=True)
    return not stop.is_set()


@attrs.frozen
class PollPolicy:
    """Delays between status calls: exponential backoff with optional full jitter.

    The delay after status call ``n`` (0-based) is drawn from
    ``[cap * (1 - jitter), cap]`` with ``cap = min(maximum, initial * multiplier ** n)``:
    ``jitter=1.0`` is full jitter (uniform in ``[0, cap]``), ``0.5`` "equal jitter", ``0.0``
    none. Jitter spreads many pollers apart so they do not call in lockstep. A ``floor`` (the
    device's ``getTaskPollIntervalMillis`` when ``respect_device_interval``) is never
    undercut. ``budget`` bounds the transient errors absorbed while polling.
    """

    initial: float = attrs.field(default=0.5, validator=_positive)
    multiplier: float = attrs.field(default=1.5, validator=_at_least_one)
    maximum: float = attrs.field(default=10.0, validator=_positive)
    jitter: float = attrs.field(
        default=1.0,
        validator=attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0)),
    )
    respect_device_interval: bool = True
    budget: RetryBudget = attrs.field(factory=RetryBudget)

    def __attrs_post_init__(self) -> None:
        if self.maximum < self.initial:
            raise ValueError(
                f"maximum must be >= initial, got maximum={self.maximum!r} initial={self.initial!r}"
            )

    def cap(self, attempt: int) -> float:
        """The un-jittered delay after ``attempt`` (0-based) status calls.

        Args:
            attempt: The number of status calls made (>= 0).

        Returns:
            The delay in seconds, at most ``maximum``.

        Raises:
            ValueError: ``attempt`` is negative.
        """
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt!r}")
        # Bound the exponent: multiplier ** 10_000 overflows a float.
        exponent = min(attempt, 1024)
        try:
            raw = self.initial * self.multiplier**exponent
        except OverflowError:
            raw = self.maximum
        return min(self.maximum, raw)

    def next_delay(
        self, attempt: int, *, floor: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after status call number ``attempt`` (0-based).

        Args:
            attempt: The number of status calls made (>= 0).
            floor: The device's poll interval, the least delay (when ``respect_device_interval``).
            rng: The random source of the jitter (default: the ``random`` module).

        Returns:
            The delay in seconds.
        """
        return self._finish(self.cap(attempt), floor, rng)

    def interval_at(self, elapsed: float) -> float:
        """The un-jittered delay for a poller that started ``elapsed`` seconds ago.

        ``min(maximum, initial + (multiplier - 1) * elapsed)`` gives the same poll times as
        :meth:`cap` by attempt number (``t[n+1] = multiplier * t[n] + initial``), but depends
        only on the time since the start -- for schedulers that may check a task early.

        Args:
            elapsed: Seconds since the poller started.

        Returns:
            The delay in seconds, at most ``maximum``.
        """
        return min(self.maximum, self.initial + (self.multiplier - 1.0) * max(0.0, elapsed))

    def delay_at(
        self, elapsed: float, *, floor: float | None = None, rng: random.Random | None = None
    ) -> float:
        """:meth:`interval_at` with jitter and the device floor, like :meth:`next_delay`.

        Args:
            elapsed: Seconds since the poller started.
            floor: The device's poll interval, the least delay (when ``respect_device_interval``).
            rng: The random source of the jitter (default: the ``random`` module).

        Returns:
            The delay in seconds.
        """
        return self._finish(self.interval_at(elapsed), floor, rng)

    def _finish(self, cap: float, floor: float | None, rng: random.Random | None) -> float:
        delay = cap
        if self.jitter:
            delay = (rng or random).uniform(cap * (1.0 - self.jitter), cap)
        if floor is not None and self.respect_device_interval:
            delay = max(delay, floor)
        return delay

    def delays(
        self, *, floor: float | None = None, rng: random.Random | None = None
    ) -> Iterator[float]:
        """The endless sequence of delays (attempt 0, 1, 2, ...).

        Args:
            floor: The device's poll interval, the least delay (when ``respect_device_interval``).
            rng: The random source of the jitter (default: the ``random`` module).

        Yields:
            The delay in seconds after each status call.
        """
        attempt = 0
        while True:
            yield self.next_delay(attempt, floor=floor, rng=rng)
            attempt += 1

    def unlimited_budget(self) -> RetryBudget:
        """This policy's backoff as a :class:`RetryBudget` that never runs out, for a
        background loop that retries for as long as it runs (an event feed's reader).

        Returns:
            :meth:`RetryBudget.unlimited` with ``initial``, ``multiplier``, ``maximum`` and
            ``jitter`` of this policy (its own ``budget`` is not used).
        """
        return RetryBudget.unlimited(
            initial=self.initial,
            multiplier=self.multiplier,
            maximum=self.maximum,
            jitter=self.jitter,
        )

    def with_delays(self, initial: float | None = None, maximum: float | None = None) -> PollPolicy:
        """A copy with other initial and/or maximum delays.

        Args:
            initial: The new first delay (default: unchanged).
            maximum: The new longest delay (default: unchanged).

        Returns:
            The new policy.
        """
        return attrs.evolve(
            self,
            initial=self.initial if initial is None else initial,
            maximum=self.maximum if maximum is None else maximum,
        )


class Wake(Protocol):
    """Something that can end a poller's pause early (an event for its ARN arrived)."""

    async def sleep(self, delay: float, sleep: Sleep) -> bool:
        """Sleep ``delay`` through ``sleep``, or less; True when woken early.

        Args:
            delay: Seconds to sleep at most.
            sleep: The sleep to use.

        Returns:
            True when woken before ``delay`` passed.
        """
        ...


class PollCadence:
    """The pauses of one poller: ``policy``'s backoff between polls, started over on
    progress (:meth:`progressed`) or when ``wake`` ends a pause early, never past
    ``deadline``. :meth:`retry` runs one status call through :func:`retry_target` on the
    same sleep, budget and deadline, so a retry's backoff obeys the same rules.

    Not shared: one cadence per poll loop (it counts the polls since the last progress).

    Args:
        policy: The backoff between polls and the retry budget.
        sleep: The sleep of every pause.
        clock: The monotonic clock of the retry budget.
        deadline: The time after which the poller stops.
        wake: What may end a pause early.
    """

    def __init__(
        self,
        policy: PollPolicy,
        *,
        sleep: Sleep,
        clock: Clock,
        deadline: Deadline | None = None,
        wake: Wake | None = None,
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self._sleep = sleep
        self._wake = wake
        self._budget = policy.budget.start(clock)
        self._attempt = 0

    def progressed(self) -> None:
        """Something changed: the next pause is the policy's shortest again."""
        self._attempt = 0

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` (a wake-up ends it early and counts as progress).

        Args:
            delay: Seconds to sleep at most.
        """
        if self._wake is None:
            await self._sleep(delay)
        elif await self._wake.sleep(delay, self._sleep):
            self.progressed()

    async def next_poll(self, *, floor: float | None = None, at_most: float | None = None) -> None:
        """Pause before the next poll: the policy's delay for the polls since the last
        progress (at least ``floor``, at most ``at_most``), ended by the deadline, which
        raises :class:`DeadlineExceeded` once it has passed.

        Args:
            floor: The least delay (the device's poll interval).
            at_most: The longest delay.

        Raises:
            DeadlineExceeded: The deadline has passed.
        """
        delay = self.policy.next_delay(self._attempt, floor=floor)
        self._attempt += 1
        if at_most is not None:
            delay = min(delay, at_most)
        if self.deadline is not None:
            delay = self.deadline.cap(delay)
        await self.sleep(delay)

    async def retry(
        self,
        target: Callable[[], Awaitable[T]],
        *,
        on_error: Callable[[BaseException, float], object] | None = None,
    ) -> T:
        """``await target()`` through :func:`retry_target` within ``policy.budget``.

        Args:
            target: The status call, as a coroutine function without arguments.
            on_error: Called with each retried error and the delay before the next attempt.

        Returns:
            What ``target()`` returned.
        """
        return await retry_target(
            target, self._budget, sleep=self.sleep, on_error=on_error, deadline=self.deadline
        )
