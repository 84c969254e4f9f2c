"""Follow quantum tasks and hybrid jobs to a terminal state (:class:`Waiters`).

* :meth:`Waiters.wait_for_quantum_task` / :meth:`~Waiters.wait_for_job`: poll with a
  :class:`~braket_async.polling.PollPolicy` until terminal; return the COMPLETED model or raise
  ``QuantumTaskFailed`` / ``QuantumTaskCancelled`` / ``JobFailed`` / ``JobCancelled`` /
  ``WaiterTimeout``. Never ``None``. Transient errors are absorbed within the policy's
  :class:`~braket_async.polling.RetryBudget`.
* :meth:`Waiters.follow_job`: every new job event once, in order, as it appears.
* :meth:`Waiters.get_waiter`: boto3-style waiters (``quantum_task_completed``, ...) run by
  aiobotocore's waiter loop over a Braket waiter model (:mod:`braket_async._waiter_model`).

Both kinds of waiter are generic over the operation they poll: :data:`_TARGETS` says, per
status operation (GetQuantumTask, GetJob), which :class:`~braket_async._operations.Operations`
coroutine to call, which statuses are terminal and which error a FAILED or CANCELLED one
raises.

Every loop sleeps through the injectable ``sleep`` and reads the injectable ``clock`` (the
session's by default), so cancelling the awaiting task stops polling at once and tests run in
milliseconds.

When the session has an event feed (``BraketSession(events=...)``), ``wait_for_quantum_task``
and ``wait_for_job`` subscribe before their first status call and sleep until an event says
their task or job reached a terminal status, polling only as a safety net
(:data:`~braket_async._event_wait.EVENTS_SAFETY_POLL` unless ``poll`` is given);
``follow_job`` keeps its poll (job events such as DOWNLOADING_DATA are not pushed) and polls
at once when a status change of its job arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from aiobotocore.waiter import AIOWaiter
from botocore.exceptions import WaiterError
from botocore.waiter import SingleWaiterConfig, WaiterModel, xform_name

from . import errors
from ._base import Clock, Sleep
from ._event_wait import EVENTS_SAFETY_POLL, ArnWake
from ._operations import Operations
from ._waiter_model import WAITER_MODEL
from .models import (
    TERMINAL_JOB_STATUSES,
    TERMINAL_TASK_STATUSES,
    Job,
    JobEvent,
    JobEventType,
    QuantumTask,
)
from .polling import Deadline, DeadlineExceeded, PollCadence, PollPolicy, is_transient

if TYPE_CHECKING:
    from .events import EventFeed
    from .telemetry import Telemetry

__all__ = [
    "DEFAULT_JOB_POLL",
    "DEFAULT_TASK_POLL",
    "MAX_JOB_EVENTS",
    "BraketWaiter",
    "JobEventGap",
    "Waiters",
]

_log = logging.getLogger("braket_async.waiters")

T = TypeVar("T")
#: The model a status operation answers.
M = TypeVar("M", QuantumTask, Job)

MAX_JOB_EVENTS = 20
"""GetJob answers only the latest this-many events."""
#: follow_job's fastest poll when events arrive densely (GetJob's quota is 5 calls/s).
_DENSE_DELAY = 0.25

DEFAULT_TASK_POLL = PollPolicy()
"""Default policy for quantum tasks: 0.5 s growing to 10 s (SV1 asks for 100 ms at least)."""
DEFAULT_JOB_POLL = PollPolicy(initial=1.0, multiplier=1.5, maximum=15.0)
"""Default policy for hybrid jobs (GetJob's quota is 5/s; jobs run minutes to hours)."""

_TERMINAL_EVENTS = frozenset(
    {
        JobEventType.COMPLETED,
        JobEventType.FAILED,
        JobEventType.CANCELLED,
        JobEventType.MAX_RUNTIME_EXCEEDED,
    }
)


@attrs.frozen
class _Target(Generic[M]):
    """How to follow one kind of resource to a terminal status through one operation."""

    #: The status operation (the waiter model's ``operation``).
    operation: str
    #: Its coroutine on :class:`Operations` (the ARN positional, wire extras as keywords).
    fetch: Callable[..., Awaitable[M]]
    #: The wire member holding the ARN (``quantumTaskArn``).
    arn_member: str
    terminal: frozenset[str]
    #: The errors a terminal status other than COMPLETED raises.
    failed: Callable[[M], errors.BraketError]
    cancelled: Callable[[M], errors.BraketError]
    #: The poll of ``wait_for_*`` without events.
    default_poll: PollPolicy
    #: The telemetry span of ``wait_for_*``.
    span: str

    def failure(self, model: M) -> errors.BraketError:
        """The error for ``model`` in a terminal status other than COMPLETED."""
        return (self.cancelled if str(model.status) == "CANCELLED" else self.failed)(model)


_TASKS: _Target[QuantumTask] = _Target(
    operation="GetQuantumTask",
    fetch=Operations.get_quantum_task,
    arn_member="quantumTaskArn",
    terminal=TERMINAL_TASK_STATUSES,
    failed=errors.QuantumTaskFailed,
    cancelled=errors.QuantumTaskCancelled,
    default_poll=DEFAULT_TASK_POLL,
    span="braket_async.wait_for_quantum_task",
)
_JOBS: _Target[Job] = _Target(
    operation="GetJob",
    fetch=Operations.get_job,
    arn_member="jobArn",
    terminal=TERMINAL_JOB_STATUSES,
    failed=errors.JobFailed,
    cancelled=errors.JobCancelled,
    default_poll=DEFAULT_JOB_POLL,
    span="braket_async.wait_for_job",
)
#: Status operation -> how to follow it; the one table both kinds of waiter read.
_TARGETS: dict[str, _Target[Any]] = {t.operation: t for t in (_TASKS, _JOBS)}


@attrs.frozen
class JobEventGap:
    """Events of a job may have been missed between ``after`` and ``before``.

    GetJob answers only the latest :data:`MAX_JOB_EVENTS` events. When a poll finds a full
    window of events none of which it saw before, earlier ones may have fallen out of the
    window unseen; nothing the service offers recovers them (job events are not in the job's
    CloudWatch logs). ``after`` is the last event yielded before (None: the start of the job),
    ``before`` the first one yielded after.
    """

    job_arn: str
    after: JobEvent | None
    before: JobEvent


class _Waiter(AIOWaiter):  # type: ignore[misc]
    """aiobotocore's waiter loop, sleeping through the session's injectable sleep."""

    def __init__(self, name: str, config: SingleWaiterConfig, operation: Any, sleep: Sleep):
        super().__init__(name, config, operation)
        self._inject_sleep = sleep

    async def _sleep(self, sleep_amount: float) -> None:
        await self._inject_sleep(sleep_amount)


class BraketWaiter(Generic[T]):
    """A named, boto3-style waiter: ``await waiter.wait(quantumTaskArn=..., WaiterConfig=...)``.

    Runs aiobotocore's :class:`~aiobotocore.waiter.AIOWaiter` over the Braket waiter model,
    calling the operation through the session (rate limiter, typed errors). ``wait`` takes
    the operation's wire parameters plus ``WaiterConfig={"Delay": s, "MaxAttempts": n}``
    (defaults: the model's) and returns the model (``QuantumTask`` / ``Job``) that matched
    the success state. A failure state raises ``QuantumTaskFailed`` /
    ``QuantumTaskCancelled`` / ``JobFailed`` / ``JobCancelled``; ``MaxAttempts`` status calls
    without a success or failure state raise ``WaiterTimeout``; an error response the model
    does not retry raises the service's error.

    Args:
        operations: The session's operations (the status calls).
        model_name: The waiter's name in Braket's waiter model (``"QuantumTaskCompleted"``).
        sleep: The sleep between status calls.
        clock: The monotonic clock.
    """

    def __init__(
        self, operations: Operations, model_name: str, *, sleep: Sleep, clock: Clock
    ) -> None:
        self._operations = operations
        self._model_name = model_name
        self._sleep = sleep
        self._clock = clock
        self.name = xform_name(model_name)
        self.config = _MODEL.get_waiter(model_name)
        self.operation: str = self.config.operation
        self._target: _Target[Any] = _TARGETS[self.operation]

    def __repr__(self) -> str:
        return f"<BraketWaiter {self.name} ({self.operation})>"

    def _checked_max_attempts(self, waiter_config: object) -> int:
        """Check ``WaiterConfig`` before any call; return its ``MaxAttempts`` (default: the
        model's)."""
        if waiter_config is None:
            waiter_config = {}
        if not isinstance(waiter_config, dict):
            raise errors.ParameterError(
                "WaiterConfig", f"must be a dict with Delay / MaxAttempts, got {waiter_config!r}"
            )
        value = waiter_config.get("MaxAttempts", self.config.max_attempts)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise errors.ParameterError(
                "WaiterConfig.MaxAttempts", f"must be an integer >= 1, got {value!r}"
            )
        delay = waiter_config.get("Delay", self.config.delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise errors.ParameterError(
                "WaiterConfig.Delay", f"must be a number of seconds >= 0, got {delay!r}"
            )
        return value

    async def wait(self, **kwargs: Any) -> T:
        """Poll until a success state (see the class docstring).

        Args:
            **kwargs: The operation's wire parameters (``quantumTaskArn=...``) and ``WaiterConfig``.

        Returns:
            The model that matched the success state.

        Raises:
            ParameterError: ``WaiterConfig`` breaks its rules.
            WaiterTimeout: ``MaxAttempts`` status calls without a success or failure state.
        """
        target = self._target
        max_attempts = self._checked_max_attempts(kwargs.get("WaiterConfig"))
        arn = str(kwargs.get(target.arn_member) or "")
        attempts = 0
        last_status: str | None = None

        async def operation(**params: Any) -> dict[str, Any]:
            nonlocal attempts, last_status
            attempts += 1
            snake = {xform_name(k): v for k, v in params.items()}
            try:
                model = await target.fetch(self._operations, **snake)
            except errors.ServiceError as exc:
                # botocore's error matchers read this shape. An error the model does not
                # retry is raised as the typed error at once.
                response = {"Error": {"Code": exc.code, "Message": str(exc)}}
                if not any(a.matcher_func(response) for a in self.config.acceptors):
                    raise
                return response
            last_status = str(model.status)
            return {"status": last_status, "model": model}

        waiter = _Waiter(self._model_name, self.config, operation, self._sleep)
        started = self._clock()
        try:
            response = await waiter.wait(**kwargs)
        except WaiterError as exc:
            model = (exc.last_response or {}).get("model")
            if model is not None and str(model.status) in target.terminal:
                raise target.failure(model) from None  # a failure state of the model
            if attempts < max_attempts:  # pragma: no cover - no other state in our model
                raise
            raise errors.WaiterTimeout(arn, last_status, self._clock() - started) from None
        matched: T = response["model"]
        return matched


_MODEL = WaiterModel(WAITER_MODEL)
_WAITER_NAMES: dict[str, str] = {xform_name(n): n for n in _MODEL.waiter_names}


async def _poll_until(
    fetch: Callable[[], Awaitable[T]],
    status_of: Callable[[T], str],
    terminal: frozenset[str],
    *,
    arn: str,
    policy: PollPolicy,
    timeout: float | None,  # noqa: ASYNC109 -- measured on the injectable clock
    sleep: Sleep,
    clock: Clock,
    floor: Callable[[T], Awaitable[float | None]] | None = None,
    wake: ArnWake | None = None,
) -> T:
    """Call ``fetch`` until ``status_of`` its answer is in ``terminal``; return that answer.

    The pauses are one :class:`~braket_async.polling.PollCadence`: transient errors are
    retried within ``policy.budget``, every pause (between polls or before a retry) ends on
    the deadline, past which ``WaiterTimeout`` is raised, and an event for the ARN (``wake``)
    ends a pause early and starts the backoff over (the event may have raced ahead of the
    status the service answers)."""
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
    started = clock()
    deadline = None if timeout is None else Deadline(started + timeout, clock)
    cadence = PollCadence(policy, sleep=sleep, clock=clock, deadline=deadline, wake=wake)
    last_status: str | None = None
    floor_value: float | None = None
    floor_known = floor is None or not policy.respect_device_interval

    def log_retry(exc: BaseException, delay: float) -> None:
        _log.debug("transient error polling %s (%s); retrying in %.2fs", arn, exc, delay)

    try:
        while True:
            item = await cadence.retry(fetch, on_error=log_retry)
            last_status = str(status_of(item))
            if last_status in terminal:
                return item
            if not floor_known and floor is not None:
                floor_value = await floor(item)
                floor_known = True
            await cadence.next_poll(floor=floor_value)
    except DeadlineExceeded:
        raise errors.WaiterTimeout(arn, last_status, clock() - started) from None


def _event_key(event: JobEvent) -> tuple[Any, ...]:
    return (event.time_of_event, str(event.event_type), event.message)


def _new_events(previous: Sequence[tuple[Any, ...]], current: Sequence[tuple[Any, ...]]) -> int:
    """How many leading events of ``current`` were already in ``previous``.

    ``current`` is the service's latest window: it continues ``previous`` after dropping some
    of its oldest events, so find the longest suffix of ``previous`` that is a prefix of
    ``current``. Aligning sequences (not a set of keys) keeps two identical events apart.
    """
    n = len(previous)
    for start in range(n):
        overlap = n - start
        if overlap <= len(current) and list(previous[start:]) == list(current[:overlap]):
            return overlap
    return 0


class Waiters:
    """The waiters of :class:`~braket_async.BraketSession` (see the module docstring).

    ``operations`` sends the status calls; ``sleep`` / ``clock`` are the defaults of every
    loop; ``events`` returns the session's event feed (resolved when the session opens), or
    None to poll only.

    Args:
        operations: The session's operations (the status calls).
        sleep: The default sleep of every loop.
        clock: The default monotonic clock of every loop.
        telemetry: Where the waiters' spans go.
        events: Returns the session's event feed, or None to poll only.
    """

    def __init__(
        self,
        operations: Operations,
        *,
        sleep: Sleep,
        clock: Clock,
        telemetry: Telemetry,
        events: Callable[[], EventFeed | None],
    ) -> None:
        self._operations = operations
        self._sleep = sleep
        self._clock = clock
        self._telemetry = telemetry
        self._events = events
        # Devices' getTaskPollIntervalMillis in seconds (None: unknown), one GetDevice each.
        self._device_intervals: dict[str, float | None] = {}
        self._device_locks: dict[str, asyncio.Lock] = {}

    # ---------------------------------------------------------------- devices
    async def device_poll_interval(self, device_arn: str) -> float | None:
        """Seconds the device asks clients to wait between status calls
        (``service.getTaskPollIntervalMillis`` of its capabilities), or None when unknown.

        One GetDevice per device per session; concurrent callers share it.

        Args:
            device_arn: The device's ARN.

        Returns:
            Seconds between status calls, or None.
        """
        cache = self._device_intervals
        if device_arn in cache:
            return cache[device_arn]
        async with self._device_locks.setdefault(device_arn, asyncio.Lock()):
            if device_arn in cache:
                return cache[device_arn]
            try:
                device = await self._operations.get_device(device_arn)
            except Exception as exc:
                if is_transient(exc):
                    return None  # not cached: ask again next time
                if not isinstance(exc, errors.ServiceError):
                    raise
                _log.debug("no poll interval for %s: %s", device_arn, exc)
                cache[device_arn] = None
                return None
            millis = (device.capabilities.get("service") or {}).get("getTaskPollIntervalMillis")
            value = float(millis) / 1000.0 if isinstance(millis, int | float) else None
            cache[device_arn] = value
            return value

    # ---------------------------------------------------------------- tasks and jobs
    async def wait_for_quantum_task(
        self,
        quantum_task_arn: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 -- measured on the injectable clock
        poll: PollPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> QuantumTask:
        """Poll GetQuantumTask until the task is terminal; return it when COMPLETED.

        Raises ``QuantumTaskFailed`` (with ``failure_reason`` and the task),
        ``QuantumTaskCancelled``, or ``WaiterTimeout`` after ``timeout`` seconds. Delays follow
        ``poll`` (default :data:`DEFAULT_TASK_POLL`), never below the device's
        ``getTaskPollIntervalMillis``. Throttling, 5xx and dropped connections are retried
        within ``poll.budget``. Cancelling the awaiting task stops at once.

        With the session's event feed, it wakes on the task's terminal event; ``poll``
        (default :data:`~braket_async._event_wait.EVENTS_SAFETY_POLL`) is then the safety net.

        Args:
            quantum_task_arn: The task's ARN.
            timeout: Seconds to wait at most (default: no limit), on ``clock``.
            poll: The delays between status calls (see above).
            sleep: The sleep between status calls (default: the session's).
            clock: The monotonic clock of ``timeout`` (default: the session's).

        Returns:
            The COMPLETED task.

        Raises:
            QuantumTaskFailed: The task ended FAILED.
            QuantumTaskCancelled: The task ended CANCELLED.
            WaiterTimeout: ``timeout`` passed first.
        """

        async def floor(task: QuantumTask) -> float | None:
            return await self.device_poll_interval(task.device_arn)

        return await self._wait(_TASKS, quantum_task_arn, timeout, poll, sleep, clock, floor=floor)

    async def wait_for_job(
        self,
        job_arn: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 -- measured on the injectable clock
        poll: PollPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> Job:
        """Poll GetJob until the job is terminal; return it when COMPLETED.

        Raises ``JobFailed`` (with ``failure_reason`` and the job), ``JobCancelled`` or
        ``WaiterTimeout``; transient errors are absorbed like
        :meth:`wait_for_quantum_task`'s, and events are used like there.

        Args:
            job_arn: The job's ARN.
            timeout: Seconds to wait at most (default: no limit), on ``clock``.
            poll: The delays between status calls (default: :data:`DEFAULT_JOB_POLL`, or
                the safety-net poll with events).
            sleep: The sleep between status calls (default: the session's).
            clock: The monotonic clock of ``timeout`` (default: the session's).

        Returns:
            The COMPLETED job.

        Raises:
            JobFailed: The job ended FAILED.
            JobCancelled: The job ended CANCELLED.
            WaiterTimeout: ``timeout`` passed first.
        """
        return await self._wait(_JOBS, job_arn, timeout, poll, sleep, clock)

    async def _wait(
        self,
        target: _Target[M],
        arn: str,
        timeout: float | None,  # noqa: ASYNC109 -- measured on the injectable clock
        poll: PollPolicy | None,
        sleep: Sleep | None,
        clock: Clock | None,
        *,
        floor: Callable[[M], Awaitable[float | None]] | None = None,
    ) -> M:
        """Poll ``target``'s operation for ``arn`` until terminal, in one span, woken by the
        session's events when it has a feed; return the COMPLETED model or raise."""
        with self._telemetry.span(target.span, {"braket_async.arn": arn}) as span:
            async with contextlib.AsyncExitStack() as stack:
                wake = await self._event_wake(stack, arn, target.terminal)
                model = await _poll_until(
                    lambda: target.fetch(self._operations, arn),
                    lambda m: m.status,
                    target.terminal,
                    arn=arn,
                    policy=poll or (target.default_poll if wake is None else EVENTS_SAFETY_POLL),
                    timeout=timeout,
                    sleep=sleep or self._sleep,
                    clock=clock or self._clock,
                    floor=floor,
                    wake=wake,
                )
            span.set_attribute("braket_async.status", str(model.status))
            span.set_attribute("braket_async.events", wake is not None)
            if str(model.status) != "COMPLETED":
                raise target.failure(model)
            return model

    async def follow_job(
        self,
        job_arn: str,
        *,
        poll: PollPolicy | None = None,
        since: datetime | None = None,
        on_gap: Callable[[JobEventGap], None] | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> AsyncIterator[JobEvent]:
        """Yield each new event of a job once, in order, as it appears; end when the job is
        terminal (after its last events).

        ``since``: skip events at or before this time (resume a follower). GetJob answers only
        the latest :data:`MAX_JOB_EVENTS` events, so events are matched between polls by
        aligning windows on (time, type, message); polling speeds back up to ``poll.initial``
        whenever events arrive, and beyond it (down to 0.25 s) when half a window arrives at
        once. If more than 20 events still appear between two polls, the ones in between
        cannot be recovered from the service (job events are not in the job's logs):
        ``on_gap`` is called with a :class:`JobEventGap` (default: a warning is logged) and
        following goes on.
        Transient errors are absorbed within ``poll.budget``; other errors propagate.
        With the session's event feed, a status change of the job triggers a poll at once.

        Args:
            job_arn: The job's ARN.
            poll: The delays between status calls (default: :data:`DEFAULT_JOB_POLL`).
            since: Skip events at or before this time.
            on_gap: Called when events may have been missed (default: a warning is logged).
            sleep: The sleep between status calls (default: the session's).
            clock: The monotonic clock (default: the session's).

        Yields:
            Each new event of the job, once, in order.
        """
        async with contextlib.AsyncExitStack() as stack:
            wake = await self._event_wake(stack, job_arn, None)
            async for event in self._follow_job(job_arn, poll, since, on_gap, sleep, clock, wake):
                yield event

    async def _follow_job(
        self,
        job_arn: str,
        poll: PollPolicy | None,
        since: datetime | None,
        on_gap: Callable[[JobEventGap], None] | None,
        sleep: Sleep | None,
        clock: Clock | None,
        wake: ArnWake | None,
    ) -> AsyncIterator[JobEvent]:
        ops = self._operations
        policy = poll or DEFAULT_JOB_POLL
        do_sleep = sleep or self._sleep
        cadence = PollCadence(policy, sleep=do_sleep, clock=clock or self._clock, wake=wake)
        report = on_gap or _log_gap
        previous: list[tuple[Any, ...]] = []
        last_yielded: JobEvent | None = None
        settle_polls = 1  # polls allowed after a terminal status whose final event is missing
        while True:
            job = await cadence.retry(lambda: ops.get_job(job_arn))
            events = list(job.events)
            keys = [_event_key(e) for e in events]
            seen = _new_events(previous, keys)
            fresh = events[seen:]
            if since is not None:
                fresh = [e for e in fresh if e.time_of_event is None or e.time_of_event > since]
            # A full window that shares nothing with the last one (or, first time, starts
            # after ``since``) may have pushed unseen events out: report, cannot recover.
            oldest = events[0].time_of_event if events else None
            if (
                fresh
                and seen == 0
                and len(events) >= MAX_JOB_EVENTS
                and (since is None or oldest is None or oldest > since)
            ):
                report(JobEventGap(job_arn=job_arn, after=last_yielded, before=fresh[0]))
            for event in fresh:
                last_yielded = event
                yield event
            previous = keys
            if job.status in TERMINAL_JOB_STATUSES:
                ends_cleanly = bool(events) and events[-1].event_type in _TERMINAL_EVENTS
                if ends_cleanly or settle_polls <= 0:
                    return
                settle_polls -= 1  # the final event may trail the status by a moment
                await do_sleep(policy.initial)
                continue
            # Events arriving: poll fast again; quiet: back off. Half a window or more in one
            # poll means events outrun the window: poll faster than the policy's fastest.
            if fresh:
                cadence.progressed()
            dense = len(fresh) >= MAX_JOB_EVENTS // 2
            await cadence.next_poll(
                at_most=max(_DENSE_DELAY, policy.initial / 2) if dense else None
            )

    async def _event_wake(
        self, stack: contextlib.AsyncExitStack, arn: str, statuses: frozenset[str] | None
    ) -> ArnWake | None:
        """An :class:`ArnWake` on the session's feed, entered on ``stack`` (None: no feed)."""
        feed = self._events()
        if feed is None:
            return None
        return await stack.enter_async_context(ArnWake(feed, arn, statuses=statuses))

    # ---------------------------------------------------------------- boto3-style
    @property
    def waiter_names(self) -> list[str]:
        """Names :meth:`get_waiter` accepts (snake_case, as boto3 lists them)."""
        return sorted(_WAITER_NAMES)

    def get_waiter(self, name: str) -> BraketWaiter[Any]:
        """A boto3-style waiter by name (snake_case or the model's PascalCase); the session's
        ``get_waiter`` types it by name.

        Args:
            name: The waiter's snake_case or PascalCase name.

        Returns:
            The waiter.

        Raises:
            ValueError: No waiter has that name.
        """
        model_name = _WAITER_NAMES.get(name) or (name if name in _MODEL.waiter_names else None)
        if model_name is None:
            raise ValueError(f"name must be one of {self.waiter_names}, got {name!r}")
        return BraketWaiter(self._operations, model_name, sleep=self._sleep, clock=self._clock)


def _log_gap(gap: JobEventGap) -> None:
    _log.warning(
        "job %s: events between %s and %s may have been missed (GetJob shows only the latest %d)",
        gap.job_arn,
        gap.after.time_of_event if gap.after else "the job's start",
        gap.before.time_of_event,
        MAX_JOB_EVENTS,
    )
