"""Follow thousands of quantum tasks at once with few status calls (:class:`TaskTracker`).

One background asyncio task (the scheduler) serves every tracked task. Each task wants a
fresh status every ``poll.interval_at(age)`` seconds (a :class:`~braket_async.polling.PollPolicy`
backoff that grows with the task's age); when some are due, the scheduler checks them the
cheapest way it can:

* **window sweep** -- SearchQuantumTasks with ``status`` in (COMPLETED, FAILED, CANCELLED),
  ``createdAt`` BETWEEN the oldest and newest pending task's creation time, and ``deviceArn``
  when known: one page answers up to 100 tasks, and only finished ones come back. One sweep
  costs ``ceil(W / 100)`` calls (W: finished tasks in that window, estimated from the last
  sweep) and refreshes every pending task at once. Chosen when sweeps at the pace of the most
  urgent task cost fewer calls per second than per-task gets would.
* **ARN sweep** -- SearchQuantumTasks with ``quantumTaskArn`` EQUAL up to 10 ARNs (no status
  filter): status and creation time of 10 tasks per call. For tasks whose creation time is
  unknown (:meth:`TaskTracker.resume`) and for periodic verification.
* **GetQuantumTask** -- one call per task: for a single task, when the window is crowded
  with other finished tasks, and as the fallback for a task a search did not return.

The arithmetic (DESIGN.md): a search page carries 100 statuses at 5 calls/s, a get carries
one at 100 calls/s. Searches are paced to ``sweep.search_share`` of the SearchQuantumTasks
quota (the session's :class:`~braket_async.ratelimit.RateLimits`, else the AWS default 5/s)
and at most one sweep per ``sweep.min_interval``; every call also goes through the session's
shared rate limiter, so the tracker stays inside the per-operation and account-wide quotas
together with everything else the session does.

A task's creation time is learned from the service (a get or an ARN sweep), given to
:meth:`TaskTracker.add`, or estimated as the time :meth:`~TaskTracker.add` was called plus or
minus ``sweep.created_at_slack`` (``add`` is meant for tasks created just before). Every task
is also looked at directly (ARN sweep) ``sweep.verify_after`` seconds after it was added, then
at doubling intervals: that finds a task whose creation estimate was wrong, or that searches
missed.

The last status each pending task was seen in (CREATED, QUEUED, RUNNING) is kept:
:meth:`TaskTracker.status_counts` and :meth:`TaskTracker.last_status`. Gets and ARN sweeps
report it for free; window sweeps ask only for finished tasks, so with ``observe_active=True``
a window sweep drops its status filter at most once every ``sweep.active_interval`` seconds
and learns every pending task's status from the same pages (it costs ``ceil(N / 100)`` calls
for N tasks in the window instead of ``ceil(W / 100)``, paced like every search).
``on_status_change`` is called after a round in which a pending task's known status changed.

Finished tasks are handed out by :meth:`~TaskTracker.as_completed` and
:meth:`~TaskTracker.wait_all`, as full ``QuantumTask`` models (one GetQuantumTask per task
that was seen finished by a search) or, with ``details=False``, as the
``QuantumTaskSummary`` the search returned (no extra call; :meth:`~TaskTracker.details`
fetches one task's full model on demand). With ``until_sealed=True`` a consumer and a
producer that adds tasks as it creates them share one open-ended stream: it waits (with no
scheduler running and no calls) while nothing is pending, and ends once nothing is pending
after :meth:`~TaskTracker.seal`. The scheduler runs only while an
``async with`` block or a consumer holds it and tasks are pending; leaving the block or
cancelling the consumer stops it and leaves nothing running.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, overload

import attrs

from . import errors
from ._base import Clock, Sleep
from .models import (
    QuantumTask,
    QuantumTaskFilter,
    QuantumTaskStatus,
    QuantumTaskSummary,
    SearchQuantumTasksPage,
)
from .polling import BudgetState, PollPolicy, is_transient

if TYPE_CHECKING:
    from .ratelimit import RateLimiter

__all__ = [
    "DEFAULT_TRACKER_POLL",
    "UNKNOWN_STATUS",
    "SweepPolicy",
    "TaskTracker",
    "TrackerStats",
]

#: Per-task schedule of a tracker: first check 1 s after ``add``, backing off to 30 s.
DEFAULT_TRACKER_POLL = PollPolicy(initial=1.0, multiplier=1.5, maximum=30.0)

_TERMINAL = (
    QuantumTaskStatus.COMPLETED,
    QuantumTaskStatus.FAILED,
    QuantumTaskStatus.CANCELLED,
)
_TERMINAL_SET = frozenset(_TERMINAL)
#: The key of :meth:`TaskTracker.status_counts` for pending tasks never seen yet.
UNKNOWN_STATUS = "UNKNOWN"
_ARNS_PER_FILTER = 10  # SearchQuantumTasks: 1-10 values per filter
_DEVICES_PER_FILTER = 10
_TASK_ARN = re.compile(r"^arn:aws[a-z-]*:braket:[a-z0-9-]*:\d*:quantum-task/[A-Za-z0-9_.:/-]+$")
#: The longest the scheduler naps without looking at newly added tasks.
_MAX_NAP = 1.0


class _Session(Protocol):
    """What the tracker needs of a :class:`~braket_async.BraketSession`."""

    async def get_quantum_task(self, quantum_task_arn: str) -> QuantumTask: ...

    async def search_quantum_tasks(
        self,
        *,
        filters: Sequence[QuantumTaskFilter],
        max_results: int | None = ...,
        next_token: str | None = ...,
    ) -> SearchQuantumTasksPage: ...

    @property
    def sleep(self) -> Sleep: ...

    @property
    def clock(self) -> Clock: ...


@attrs.frozen
class SweepPolicy:
    """How a :class:`TaskTracker` uses SearchQuantumTasks.

    ``enabled=False`` makes it a plain (but shared and quota-aware) GetQuantumTask poller.
    Sweeps start at most every ``min_interval`` seconds and use at most ``search_share`` of
    the SearchQuantumTasks rate (``search_rate`` calls/s; None: the session's configured
    limit, else 5/s). ``created_at_slack`` widens creation-time estimates for clock skew.
    A task unresolved by window sweeps is verified by ARN after ``verify_after`` seconds, then
    at doubling intervals up to ``verify_max``. ``max_concurrency`` bounds concurrent gets.
    With ``TaskTracker(observe_active=True)`` a window sweep learns QUEUED / RUNNING
    statuses (no status filter) at most every ``active_interval`` seconds.
    """

    enabled: bool = True
    min_interval: float = attrs.field(default=1.0, validator=attrs.validators.ge(0.0))
    search_share: float = attrs.field(
        default=0.5, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)]
    )
    search_rate: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0.0))
    )
    created_at_slack: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))
    verify_after: float = attrs.field(default=120.0, validator=attrs.validators.gt(0.0))
    verify_max: float = attrs.field(default=900.0, validator=attrs.validators.gt(0.0))
    max_concurrency: int = attrs.field(default=16, validator=attrs.validators.ge(1))
    page_size: int = attrs.field(
        default=100, validator=[attrs.validators.ge(1), attrs.validators.le(100)]
    )
    active_interval: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))


@attrs.define
class TrackerStats:
    """Calls a tracker made, by kind (status calls and detail fetches are counted apart)."""

    get_calls: int = 0
    search_calls: int = 0
    window_sweeps: int = 0
    active_sweeps: int = 0  # window sweeps without a status filter (observe_active)
    arn_sweeps: int = 0
    detail_calls: int = 0
    transient_errors: int = 0

    @property
    def status_calls(self) -> int:
        """Calls made to learn statuses (gets + searches), detail fetches excluded."""
        return self.get_calls + self.search_calls


class _Entry:
    """Scheduler bookkeeping of one pending task."""

    __slots__ = (
        "added",
        "arn",
        "created_hi",
        "created_lo",
        "device_arn",
        "force_get",
        "next_due",
        "status",
        "verify_due",
        "verify_round",
    )

    def __init__(
        self,
        arn: str,
        now: float,
        created: tuple[datetime, datetime] | None,
        device_arn: str | None,
    ) -> None:
        self.arn = arn
        self.added = now
        self.created_lo: datetime | None = created[0] if created else None
        self.created_hi: datetime | None = created[1] if created else None
        self.device_arn = device_arn
        self.status: QuantumTaskStatus | None = None  # last seen non-terminal status
        self.force_get = False
        self.next_due = now
        self.verify_due = now
        self.verify_round = 0

    @property
    def anchored(self) -> bool:
        return self.created_lo is not None

    def anchor(self, created_at: datetime, device_arn: str) -> None:
        self.created_lo = self.created_hi = created_at
        self.device_arn = device_arn


def _summary_of(task: QuantumTask) -> QuantumTaskSummary:
    return QuantumTaskSummary(
        quantum_task_arn=task.quantum_task_arn,
        status=task.status,
        device_arn=task.device_arn,
        shots=task.shots,
        output_s3_bucket=task.output_s3_bucket,
        output_s3_directory=task.output_s3_directory,
        created_at=task.created_at,
        ended_at=task.ended_at,
        tags=dict(task.tags),
    )


async def _all(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coros`` concurrently; on the first error cancel the rest and raise that error
    itself (not an ExceptionGroup: callers catch braket_async errors)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(coro)
    except BaseExceptionGroup as grouped:
        raise grouped.exceptions[0] from None


def _search_rate(session: object, policy: SweepPolicy) -> float:
    if policy.search_rate is not None:
        return policy.search_rate
    limiter: RateLimiter | None = getattr(session, "rate_limiter", None)
    limits = getattr(limiter, "limits", None)
    if limits is not None and getattr(limits, "enabled", False):
        rate = limits.operations.get("SearchQuantumTasks")
        if rate is not None and rate.per_second > 0:
            return float(rate.per_second)
    return 5.0  # the AWS default quota (DESIGN.md)


class TaskTracker:
    """Follow many quantum tasks to a terminal state with one quota-aware scheduler.

    ::

        async with TaskTracker(braket) as tracker:
            for arn in arns:
                tracker.add(arn)
            async for task in tracker.as_completed():
                ...

    Tasks may be added while it runs. FAILED and CANCELLED tasks are handed out like
    COMPLETED ones (check ``task.status``). An error the tracker cannot absorb (a task the
    service does not know, access denied, transient errors beyond ``poll.budget``) stops the
    scheduler and is raised by the consumers.

    ``observe_active=True`` also learns which pending tasks are QUEUED or RUNNING from
    window sweeps (see :meth:`status_counts`), at most every ``sweep.active_interval``
    seconds; ``on_status_change`` is called (no arguments) after a round in which a pending
    task's known status changed (an exception from it stops the scheduler).
    """

    def __init__(
        self,
        session: Any,
        *,
        poll: PollPolicy | None = None,
        sweep: SweepPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        observe_active: bool = False,
        on_status_change: Callable[[], object] | None = None,
    ) -> None:
        self._session = cast(_Session, session)
        self.poll = poll or DEFAULT_TRACKER_POLL
        self.sweep = sweep or SweepPolicy()
        self._sleep: Sleep = sleep or self._session.sleep
        self._clock: Clock = clock or self._session.clock
        self.stats = TrackerStats()
        self._search_interval = 1.0 / (_search_rate(session, self.sweep) * self.sweep.search_share)
        self._tracked: dict[str, None] = {}  # every ARN, in add order
        self._pending: dict[str, _Entry] = {}
        self._finished: dict[str, QuantumTask | QuantumTaskSummary] = {}
        self._order: list[str] = []  # completion order
        self._changed = asyncio.Event()
        self._error: BaseException | None = None
        self._runner: asyncio.Task[None] | None = None
        self._holders = 0
        self._sealed = False
        self._generation = 0
        self._consumers: weakref.WeakSet[Any] = weakref.WeakSet()
        self._budget: BudgetState = self.poll.budget.start(self._clock)
        # Wall time read once, then advanced by the (injectable, monotonic) clock: creation
        # estimates follow the scheduler's notion of time and ignore wall-clock jumps.
        self._wall0 = datetime.now(UTC)
        self._mono0 = self._clock()
        self._search_ready_at = -math.inf
        self._window_pages = 1  # pages the last window sweep took
        self.observe_active = observe_active
        self._on_status_change = on_status_change
        self._active_ready_at = -math.inf  # the next window sweep without status filter
        self._status_changed = False
        # Tracked tasks by last seen status, kept up to date (progress reads it often).
        self._counts: dict[str, int] = {}

    def _wall_now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._clock() - self._mono0)

    # ------------------------------------------------------------------ public
    @classmethod
    def resume(
        cls,
        session: Any,
        arns: Iterable[str],
        *,
        created_after: datetime | None = None,
        poll: PollPolicy | None = None,
        sweep: SweepPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        observe_active: bool = False,
        on_status_change: Callable[[], object] | None = None,
    ) -> TaskTracker:
        """A tracker following ``arns`` created earlier (e.g. saved before a restart).

        Their creation times are learned by ARN sweeps (10 tasks per call) unless
        ``created_after`` bounds them.
        """
        tracker = cls(
            session,
            poll=poll,
            sweep=sweep,
            sleep=sleep,
            clock=clock,
            observe_active=observe_active,
            on_status_change=on_status_change,
        )
        now = tracker._wall_now()
        for arn in arns:
            if created_after is None:
                tracker._add(arn, None, None, check_now=True)
            else:
                tracker._add(arn, (created_after, now), None, check_now=True)
        return tracker

    def add(
        self,
        arn: str,
        *,
        created_at: datetime | None = None,
        device_arn: str | None = None,
    ) -> None:
        """Follow task ``arn`` (again adding an ARN already tracked does nothing).

        ``created_at`` (the task's creation time) and ``device_arn`` sharpen sweeps; without
        ``created_at`` the task is taken to have been created just now.
        """
        if created_at is not None:
            if created_at.tzinfo is None:
                raise errors.ParameterError("created_at", "must be timezone-aware")
            window = (created_at, created_at)
        else:
            now = self._wall_now()
            slack = timedelta(seconds=self.sweep.created_at_slack)
            window = (now - slack, now + slack)
        self._add(arn, window, device_arn, check_now=False)

    @property
    def pending(self) -> frozenset[str]:
        """ARNs not yet seen in a terminal state."""
        return frozenset(self._pending)

    def last_status(self, arn: str) -> QuantumTaskStatus | None:
        """The status task ``arn`` was last seen in: its terminal status once finished,
        else CREATED / QUEUED / RUNNING, or ``None`` while it was never seen."""
        if arn in self._finished:
            return self._finished[arn].status
        entry = self._pending.get(arn)
        if entry is None:
            raise errors.ParameterError("arn", f"must be a tracked task ARN, got {arn!r}")
        return entry.status

    def status_counts(self) -> dict[str, int]:
        """Tracked tasks by last seen status (:meth:`last_status`); pending tasks never
        seen count under :data:`UNKNOWN_STATUS`. Statuses with no task are left out."""
        return {key: count for key, count in self._counts.items() if count}

    @property
    def arns(self) -> tuple[str, ...]:
        """Every tracked ARN, in the order added."""
        return tuple(self._tracked)

    def __len__(self) -> int:
        return len(self._tracked)

    def seal(self) -> None:
        """No more tasks will be added: iterators waiting with ``until_sealed`` may end."""
        self._sealed = True
        self._notify()

    @property
    def sealed(self) -> bool:
        """Whether :meth:`seal` was called."""
        return self._sealed

    @overload
    def as_completed(
        self, *, details: Literal[True] = ..., until_sealed: bool = ...
    ) -> AsyncIterator[QuantumTask]: ...
    @overload
    def as_completed(
        self, *, details: Literal[False], until_sealed: bool = ...
    ) -> AsyncIterator[QuantumTaskSummary]: ...
    @overload
    def as_completed(
        self, *, details: bool, until_sealed: bool = ...
    ) -> AsyncIterator[QuantumTask] | AsyncIterator[QuantumTaskSummary]: ...
    def as_completed(
        self, *, details: bool = True, until_sealed: bool = False
    ) -> AsyncIterator[QuantumTask] | AsyncIterator[QuantumTaskSummary]:
        """Finished tasks as they finish (first those already finished), until none is
        pending -- or, with ``until_sealed``, until none is pending after :meth:`seal` (for
        a producer adding tasks concurrently). ``details=False`` yields summaries and makes
        no per-task detail call."""
        iterator: Any = (
            self._iter_full(until_sealed) if details else self._iter_summaries(until_sealed)
        )
        self._consumers.add(iterator)
        return cast(AsyncIterator[QuantumTask] | AsyncIterator[QuantumTaskSummary], iterator)

    async def details(self, arn: str) -> QuantumTask:
        """The full ``QuantumTask`` of finished task ``arn`` (one GetQuantumTask, unless a
        get already returned it): for a consumer of summaries that needs one task's details,
        e.g. the failure reason of a FAILED task."""
        if arn not in self._finished:
            raise errors.ParameterError(
                "arn", f"must be a task this tracker has seen finished, got {arn!r}"
            )
        await self._fetch_details([arn])
        return cast(QuantumTask, self._finished[arn])

    @overload
    async def wait_all(self, *, details: Literal[True] = ...) -> list[QuantumTask]: ...
    @overload
    async def wait_all(self, *, details: Literal[False]) -> list[QuantumTaskSummary]: ...
    @overload
    async def wait_all(self, *, details: bool) -> list[QuantumTask] | list[QuantumTaskSummary]: ...
    async def wait_all(
        self, *, details: bool = True
    ) -> list[QuantumTask] | list[QuantumTaskSummary]:
        """Wait until every tracked task is terminal; return them in the order added."""
        async with self._hold() as generation:
            while self._pending:
                if not await self._wait_change(generation):
                    raise errors.SessionStateError(
                        "the tracker was closed while wait_all() was waiting"
                    )
        if details:
            await self._fetch_details(list(self._tracked))
            return [cast(QuantumTask, self._finished[a]) for a in self._tracked]
        return [self._as_summary(a) for a in self._tracked]

    async def __aenter__(self) -> TaskTracker:
        self._holders += 1
        self._ensure_running()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Iterators left suspended in the block (``break``) are closed now, not whenever
        # the garbage collector finalizes them, so leaving the block stops the scheduler.
        for iterator in list(self._consumers):
            if not iterator.ag_running:
                await iterator.aclose()
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the scheduler now. Pending tasks stay pending; iterators still waiting in
        other tasks end, ``wait_all`` raises. Consuming again starts a new scheduler."""
        self._generation += 1
        self._holders = 0
        await self._stop()
        self._notify()

    # --------------------------------------------------------------- consumers
    async def _iter_full(self, until_sealed: bool) -> AsyncIterator[QuantumTask]:
        async with self._hold() as generation:
            index = 0
            while True:
                ready = self._order[index:]
                if ready:
                    index += len(ready)
                    await self._fetch_details(ready)
                    for arn in ready:
                        yield cast(QuantumTask, self._finished[arn])
                    continue
                if not await self._more_coming(until_sealed, generation):
                    return

    async def _iter_summaries(self, until_sealed: bool) -> AsyncIterator[QuantumTaskSummary]:
        async with self._hold() as generation:
            index = 0
            while True:
                while index < len(self._order):
                    arn = self._order[index]
                    index += 1
                    yield self._as_summary(arn)
                if not await self._more_coming(until_sealed, generation):
                    return

    async def _more_coming(self, until_sealed: bool, generation: int) -> bool:
        """Wait for a change; False once nothing is pending or the tracker was closed
        (raises the scheduler's error)."""
        if self._error is not None:
            raise self._error
        if not self._pending and (self._sealed or not until_sealed):
            return False
        return await self._wait_change(generation)

    async def _wait_change(self, generation: int) -> bool:
        """Wait for the next change; False if the tracker was closed meanwhile."""
        if self._error is not None:
            raise self._error
        if generation != self._generation:
            return False
        self._ensure_running()
        await self._changed.wait()
        if self._error is not None:
            raise self._error
        return generation == self._generation

    def _as_summary(self, arn: str) -> QuantumTaskSummary:
        item = self._finished[arn]
        return _summary_of(item) if isinstance(item, QuantumTask) else item

    async def _fetch_details(self, arns: Sequence[str]) -> None:
        """Replace finished summaries by full tasks (one GetQuantumTask each, concurrently)."""
        missing = [a for a in arns if not isinstance(self._finished[a], QuantumTask)]
        if not missing:
            return
        budget = self.poll.budget.start(self._clock)
        limit = asyncio.Semaphore(self.sweep.max_concurrency)

        async def fetch(arn: str) -> None:
            async with limit:
                while True:
                    try:
                        task = await self._session.get_quantum_task(arn)
                    except Exception as exc:
                        if not is_transient(exc):
                            raise
                        self.stats.transient_errors += 1
                        await self._sleep(budget.failed(exc))
                        continue
                    finally:
                        self.stats.detail_calls += 1
                    budget.succeeded()
                    self._finished[arn] = task
                    return

        await _all(fetch(arn) for arn in missing)

    # -------------------------------------------------------------- lifecycle
    def _add(
        self,
        arn: str,
        created: tuple[datetime, datetime] | None,
        device_arn: str | None,
        *,
        check_now: bool,
    ) -> None:
        if not isinstance(arn, str) or not _TASK_ARN.match(arn):
            raise errors.InvalidArnError(
                "arn",
                f"must be a quantum task ARN (arn:aws:braket:...:quantum-task/...), got {arn!r}",
            )
        if arn in self._tracked:
            return
        now = self._clock()
        entry = _Entry(arn, now, created, device_arn)
        if not check_now:
            entry.next_due = now + self.poll.delay_at(0.0)
        entry.verify_due = now + self.sweep.verify_after
        if self._sealed:
            raise errors.ParameterError("arn", f"the tracker is sealed: cannot add {arn}")
        self._tracked[arn] = None
        self._pending[arn] = entry
        self._count(None, UNKNOWN_STATUS)
        self._ensure_running()
        self._notify()

    @contextlib.asynccontextmanager
    async def _hold(self) -> AsyncIterator[int]:
        """Keep the scheduler running while a consumer runs; yields the generation (bumped
        by :meth:`aclose`, after which a stale consumer's release changes nothing)."""
        generation = self._generation
        self._holders += 1
        self._ensure_running()
        try:
            yield generation
        finally:
            if generation == self._generation:
                await self._release()

    async def _release(self) -> None:
        self._holders = max(0, self._holders - 1)
        if self._holders == 0:
            await self._stop()

    def _ensure_running(self) -> None:
        if self._holders <= 0 or not self._pending or self._error is not None:
            return
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name="braket-async TaskTracker"
            )

    async def _stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    def _notify(self) -> None:
        # Wake every waiter: set the current event and give later waiters a fresh one.
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    # -------------------------------------------------------------- scheduler
    async def _run(self) -> None:
        try:
            while self._pending:
                await self._tick()
                if self._status_changed:
                    self._status_changed = False
                    if self._on_status_change is not None:
                        self._on_status_change()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = exc
        finally:
            self._notify()

    async def _tick(self) -> None:
        """One round: check whatever is due, the cheapest way, then return."""
        now = self._clock()
        anchored_due: list[_Entry] = []
        by_arn: list[_Entry] = []  # creation time unknown, or due for verification
        by_get: list[_Entry] = []
        next_at = now + _MAX_NAP
        get_rate = 0.0  # status calls/s that per-task gets would cost for anchored tasks
        shortest = math.inf  # the most urgent anchored task's interval
        anchored = 0
        verifying = False
        for entry in self._pending.values():
            if entry.anchored and not entry.force_get:
                interval = self.poll.interval_at(now - entry.added)
                get_rate += 1.0 / interval
                shortest = min(shortest, interval)
                anchored += 1
                verifying = verifying or entry.verify_due <= now
            if entry.force_get:
                if entry.next_due <= now:
                    by_get.append(entry)
                else:
                    next_at = min(next_at, entry.next_due)
            elif not entry.anchored and entry.next_due <= now:
                by_arn.append(entry)
            elif entry.next_due <= now:
                anchored_due.append(entry)
            else:
                next_at = min(next_at, entry.next_due)
        if verifying:
            # Verify every task due within a quarter period along with the due ones, so
            # verifications share ARN searches instead of trickling out one get at a time.
            horizon = now + self.sweep.verify_after / 4
            queued = {id(e) for e in by_arn}
            for entry in self._pending.values():
                if (
                    entry.anchored
                    and not entry.force_get
                    and entry.verify_due <= horizon
                    and id(entry) not in queued
                ):
                    by_arn.append(entry)
            verified = {id(e) for e in by_arn}
            anchored_due = [e for e in anchored_due if id(e) not in verified]
        if not (anchored_due or by_arn or by_get):
            await self._sleep(max(0.0, next_at - now))
            return

        sweeping = self.sweep.enabled
        # A window sweep refreshes every anchored task; run at the most urgent task's pace
        # it costs pages / interval calls/s, against the sum of 1 / interval for gets.
        sweep_rate = self._window_pages / max(shortest, self.sweep.min_interval, 1e-9)
        use_window = sweeping and bool(anchored_due) and anchored > 1 and sweep_rate <= get_rate
        if not use_window:
            by_get.extend(anchored_due)
        # Ten ARNs per search beat one get per task from two tasks on.
        if not (sweeping and len(by_arn) > 1):
            by_get.extend(by_arn)
            by_arn = []
        if use_window or by_arn:
            wait = self._search_ready_at - now
            if wait > 0:
                # Searches are paced; gets that are due need not wait for them.
                if by_get:
                    await self._get_many(by_get)
                else:
                    await self._sleep(min(wait, _MAX_NAP))
                return
            calls_before = self.stats.search_calls
            if use_window:
                await self._window_sweep()
            if by_arn:
                await self._arn_sweep(by_arn)
            # Pace searches to search_share of the quota, and sweeps to min_interval.
            used = self.stats.search_calls - calls_before
            self._search_ready_at = max(self._search_ready_at, now) + max(
                self.sweep.min_interval, used * self._search_interval
            )
        if by_get:
            await self._get_many(by_get)

    def _reschedule(self, entry: _Entry, now: float) -> None:
        # Delays grow with the task's age, not the number of checks: a sweep may check a
        # task early without speeding up its backoff.
        entry.next_due = now + self.poll.delay_at(now - entry.added)

    def _count(self, old: str | None, new: str) -> None:
        if old is not None:
            self._counts[old] -= 1
        self._counts[new] = self._counts.get(new, 0) + 1

    @staticmethod
    def _key(entry: _Entry) -> str:
        return UNKNOWN_STATUS if entry.status is None else entry.status.value

    def _set_status(self, entry: _Entry, status: QuantumTaskStatus) -> None:
        if entry.status != status:
            old = self._key(entry)
            entry.status = status
            self._count(old, status.value)
            self._status_changed = True

    def _complete(self, arn: str, item: QuantumTask | QuantumTaskSummary) -> None:
        entry = self._pending.pop(arn, None)
        if entry is None:
            return
        self._count(self._key(entry), item.status.value)
        self._finished[arn] = item
        self._order.append(arn)

    async def _call(self, coro_fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One status call; transient errors -> None after a backoff sleep (within budget)."""
        try:
            result = await coro_fn(*args, **kwargs)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.stats.transient_errors += 1
            await self._sleep(self._budget.failed(exc))
            return None
        self._budget.succeeded()
        return result

    async def _search_pages(
        self, filters: list[QuantumTaskFilter]
    ) -> list[QuantumTaskSummary] | None:
        """All pages of one search (None when a transient error interrupted it)."""
        found: list[QuantumTaskSummary] = []
        token: str | None = None
        while True:
            self.stats.search_calls += 1
            page = await self._call(
                self._session.search_quantum_tasks,
                filters=filters,
                max_results=self.sweep.page_size,
                next_token=token,
            )
            if page is None:
                return None
            found.extend(page.quantum_tasks)
            token = page.next_token
            if token is None:
                return found

    async def _window_sweep(self) -> None:
        anchored = [e for e in self._pending.values() if e.anchored]
        if not anchored:
            return
        now = self._clock()
        lo = min(cast(datetime, e.created_lo) for e in anchored) - timedelta(seconds=1)
        hi = max(cast(datetime, e.created_hi) for e in anchored) + timedelta(seconds=1)
        # Now and then (observe_active) the same window without the status filter: the
        # pages then also say which pending tasks are QUEUED or RUNNING.
        active = self.observe_active and now >= self._active_ready_at
        filters = [QuantumTaskFilter("createdAt", "BETWEEN", (lo, hi))]
        if not active:
            filters.insert(0, QuantumTaskFilter.status(*_TERMINAL))
        devices = {e.device_arn for e in anchored}
        if None not in devices and len(devices) <= _DEVICES_PER_FILTER:
            filters.append(QuantumTaskFilter("deviceArn", "EQUAL", sorted(cast(set[str], devices))))
        self.stats.window_sweeps += 1
        if active:
            self.stats.active_sweeps += 1
            self._active_ready_at = now + self.sweep.active_interval
        found = await self._search_pages(filters)
        if found is None:
            return
        # The cost model of terminal sweeps counts finished tasks only.
        terminal = sum(1 for summary in found if summary.status in _TERMINAL_SET)
        self._window_pages = max(1, math.ceil(terminal / self.sweep.page_size))
        finished = 0
        for summary in found:
            entry = self._pending.get(summary.quantum_task_arn)
            if entry is None:
                continue
            if summary.status in _TERMINAL_SET:
                self._complete(summary.quantum_task_arn, summary)
                finished += 1
            else:
                self._set_status(entry, summary.status)
        for entry in anchored:
            if entry.arn in self._pending:
                self._reschedule(entry, now)
        if finished:
            self._notify()

    async def _arn_sweep(self, entries: list[_Entry]) -> None:
        now = self._clock()
        finished = 0
        for start in range(0, len(entries), _ARNS_PER_FILTER):
            chunk = entries[start : start + _ARNS_PER_FILTER]
            self.stats.arn_sweeps += 1
            found = await self._search_pages(
                [QuantumTaskFilter.quantum_task_arns(*(e.arn for e in chunk))]
            )
            if found is None:
                return  # transient error: the rest stay due
            seen = {s.quantum_task_arn: s for s in found}
            for entry in chunk:
                summary = seen.get(entry.arn)
                if summary is None:
                    # Not found by search (not indexed yet, or no such task): ask directly.
                    entry.force_get = True
                elif summary.status in _TERMINAL_SET:
                    self._complete(entry.arn, summary)
                    finished += 1
                else:
                    self._observe(entry, summary.created_at, summary.device_arn, now)
                    self._set_status(entry, summary.status)
        if finished:
            self._notify()

    def _observe(self, entry: _Entry, created_at: datetime, device_arn: str, now: float) -> None:
        """A direct look at a pending task: anchor it exactly and reschedule it."""
        entry.anchor(created_at, device_arn)
        entry.force_get = False
        # A direct look is a verification: the next one is due after a doubled period.
        entry.verify_round += 1
        entry.verify_due = now + min(
            self.sweep.verify_max, self.sweep.verify_after * 2 ** min(entry.verify_round, 32)
        )
        self._reschedule(entry, now)

    async def _get_many(self, entries: list[_Entry]) -> None:
        limit = asyncio.Semaphore(self.sweep.max_concurrency)
        finished = 0

        async def check(entry: _Entry) -> None:
            nonlocal finished
            async with limit:
                self.stats.get_calls += 1
                task = await self._call(self._session.get_quantum_task, entry.arn)
            if task is None or entry.arn not in self._pending:
                return
            if task.status in _TERMINAL_SET:
                self._complete(entry.arn, task)
                finished += 1
            else:
                self._observe(entry, task.created_at, task.device_arn, self._clock())
                self._set_status(entry, task.status)

        await _all(check(entry) for entry in entries)
        if finished:
            self._notify()
