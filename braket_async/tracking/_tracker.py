"""Follow thousands of quantum tasks at once with few status calls (:class:`TaskTracker`).

The tracker keeps the registry (tracked ARNs, pending and finished tasks, last statuses),
hands finished tasks to its consumers (:meth:`~TaskTracker.as_completed`,
:meth:`~TaskTracker.wait_all`) and runs one status source in one background asyncio task:
:class:`~braket_async.tracking.SweepStatusSource` (searches and gets paced to the quotas,
the default) or, given an :class:`~braket_async.events.EventFeed`,
:class:`~braket_async.tracking.EventStatusSource` (state-change events, with a slow sweep as
safety net). Options come as one immutable :class:`~braket_async.tracking.TrackerOptions`.

A task's creation time sharpens sweeps: pass ``created_at`` to :meth:`~TaskTracker.add`, or
``just_created=True`` when the caller created it just before (now, give or take
``sweep.created_at_slack``). A task added with neither is located in the first sweep (see
:mod:`braket_async.tracking`), however long ago it was created.

The last status each pending task was seen in (CREATED, QUEUED, RUNNING) is kept:
:meth:`TaskTracker.status_counts` and :meth:`TaskTracker.last_status`. Gets, ARN sweeps and
events report it for free; window sweeps ask only for finished tasks, so with
``TrackerOptions(observe_active=True)`` a window sweep drops its status filter at most once every
``sweep.active_interval`` seconds. ``on_status_change`` is called after a round in which a
pending task's known status changed.

Finished tasks are handed out as full ``QuantumTask`` models (one GetQuantumTask per task
that was seen finished by a search or an event) or, with ``details=False``, as the
``QuantumTaskSummary`` the search or event gave (no extra call; :meth:`~TaskTracker.details`
fetches one task's full model on demand). With ``until_sealed=True`` a consumer and a
producer that adds tasks as it creates them share one open-ended stream: it waits (with no
scheduler running and no calls) while nothing is pending, and ends once nothing is pending
after :meth:`~TaskTracker.seal`. The scheduler runs only while an ``async with`` block or a
consumer holds it and tasks are pending; leaving the block or cancelling the consumer stops
it and leaves nothing running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, overload

from .. import errors
from .._base import AsyncContext, Clock, Sleep
from .._sdk_retries import sdk_retries_off
from ..events import EventFeed
from ..models import QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from ..polling import PollPolicy, is_transient, retry_target
from ._events import EventStatusSource
from ._options import SweepPolicy, TrackerOptions
from ._registry import Registry, TaskEntry, UnknownCallback
from ._source import StatusSource
from ._stats import TrackerStats
from ._sweeps import TASK_ARN, SweepStatusSource, fan_out

if TYPE_CHECKING:
    from .._client import BraketClient

__all__ = ["TaskTracker"]

_log = logging.getLogger("braket_async.tracking")


class TaskTracker(AsyncContext):
    """Follow many quantum tasks to a terminal state with one quota-aware status source.

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

    ``options`` (a :class:`TrackerOptions`) tunes it; ``poll``, ``sweep`` and
    ``observe_active``, when given, replace the matching option. ``events`` takes statuses
    from an event feed (subscribed while the tracker runs; :meth:`aclose` unsubscribes).
    ``on_status_change`` is called (no arguments) after a round in which a pending task's
    known status changed (an exception from it stops the scheduler).

    A task added with ``may_be_unknown=True`` (an ARN read back from a file, say) that the
    service does not know (ResourceNotFoundException on GetQuantumTask) does not stop the
    tracker: it stops being tracked, its error is kept in :attr:`unknown` and passed to
    ``on_unknown(arn, error)`` (an exception from it stops the scheduler).

    Args:
        session: The session whose calls the tracker makes.
        options: The tracker's settings (default: ``TrackerOptions()``).
        sleep: The sleep of the scheduler (default: the session's).
        clock: The monotonic clock of the scheduler (default: the session's).
        on_status_change: Called after a round in which a pending task's status changed.
        events: An event feed to take statuses from.
        on_unknown: Called with the ARN and the error of a task the service does not know.
    """

    def __init__(
        self,
        session: BraketClient,
        *,
        options: TrackerOptions | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        on_status_change: Callable[[], object] | None = None,
        events: EventFeed | None = None,
        on_unknown: UnknownCallback | None = None,
    ) -> None:
        self.options = options or TrackerOptions()
        self._session = session
        self._sleep: Sleep = sleep or session.sleep
        self._clock: Clock = clock or session.clock
        self.stats = TrackerStats()
        self._reg = Registry(on_status_change, on_unknown)
        # Wall time read once, then advanced by the (injectable, monotonic) clock: creation
        # estimates follow the scheduler's notion of time and ignore wall-clock jumps.
        self._wall0 = datetime.now(UTC)
        self._mono0 = self._clock()
        self._sweeps = SweepStatusSource(
            session,
            self._reg,
            poll=self.options.event_safety_net if events is not None else self.options.poll,
            sweep=self.options.sweep,
            qpu_poll=self.options.qpu_poll,
            observe_active=self.options.observe_active,
            stats=self.stats,
            sleep=self._sleep,
            clock=self._clock,
            wall_now=self._wall_now,
        )
        self._source: StatusSource = self._sweeps
        if events is not None:
            self._source = EventStatusSource(
                events,
                self._reg,
                safety_net=self._sweeps,
                stats=self.stats,
                early_events=self.options.early_events,
            )
            self._source.open()
        self._runner: asyncio.Task[None] | None = None
        self._holders = 0
        self._generation = 0
        self._consumers: weakref.WeakSet[Any] = weakref.WeakSet()
        # The tracked-tasks gauge counts this tracker while it lives.
        session.telemetry.watch_tracker(self)

    @property
    def poll(self) -> PollPolicy:
        return self.options.poll

    @property
    def sweep(self) -> SweepPolicy:
        return self.options.sweep

    @property
    def observe_active(self) -> bool:
        return self.options.observe_active

    @property
    def source(self) -> StatusSource:
        """Where statuses come from (a sweep or an event source)."""
        return self._source

    def _wall_now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._clock() - self._mono0)

    # ------------------------------------------------------------------ public
    @classmethod
    def resume(
        cls,
        session: BraketClient,
        arns: Iterable[str],
        *,
        created_after: datetime | None = None,
        may_be_unknown: bool = False,
        options: TrackerOptions | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        on_status_change: Callable[[], object] | None = None,
        events: EventFeed | None = None,
        on_unknown: UnknownCallback | None = None,
    ) -> TaskTracker:
        """A tracker following ``arns`` created earlier (e.g. saved before a restart).

        They are located in the first sweep (see :mod:`braket_async.tracking`) unless
        ``created_after`` bounds their creation time. ``may_be_unknown`` applies to each
        (see :meth:`add`).

        Args:
            session: The session whose calls the tracker makes.
            arns: The tasks' ARNs.
            created_after: A bound on the tasks' creation time.
            may_be_unknown: Whether an ARN the service does not know is tolerated.
            options: The tracker's settings.
            sleep: The sleep of the scheduler (default: the session's).
            clock: The monotonic clock of the scheduler (default: the session's).
            on_status_change: See :class:`TaskTracker`.
            events: See :class:`TaskTracker`.
            on_unknown: See :class:`TaskTracker`.

        Returns:
            The tracker.
        """
        tracker = cls(
            session,
            options=options,
            sleep=sleep,
            clock=clock,
            on_status_change=on_status_change,
            events=events,
            on_unknown=on_unknown,
        )
        now = tracker._wall_now().timestamp()
        bounds = None if created_after is None else (_posix(created_after, "created_after"), now)
        for arn in arns:
            tracker._add(arn, bounds, None, check_now=True, may_be_unknown=may_be_unknown)
        return tracker

    def add(
        self,
        arn: str,
        *,
        created_at: datetime | None = None,
        device_arn: str | None = None,
        just_created: bool = False,
        may_be_unknown: bool = False,
    ) -> None:
        """Follow task ``arn`` (again adding an ARN already tracked does nothing).

        ``created_at`` (the task's creation time) or ``just_created=True`` (the caller
        created it just before: now, give or take ``sweep.created_at_slack``) and
        ``device_arn`` sharpen sweeps. With neither, the task is located in the first
        sweep, however long ago it was created (a few calls for hundreds of tasks); with
        an event feed, when its first safety-net check comes due (its events usually come
        first; :meth:`resume` locates at once). ``may_be_unknown=True``: if the service
        does not know ``arn``, it ends in :attr:`unknown` (and ``on_unknown``) instead of
        stopping the tracker.

        Args:
            arn: The task's ARN.
            created_at: The task's creation time.
            device_arn: The task's device.
            just_created: Whether the caller created it just before.
            may_be_unknown: Whether an ARN the service does not know is tolerated.

        Raises:
            ParameterError: Both ``created_at`` and ``just_created`` were given.
        """
        if created_at is not None:
            if just_created:
                raise errors.ParameterError("just_created", "give created_at or just_created")
            ts = _posix(created_at, "created_at")
            bounds: tuple[float, float] | None = (ts, ts)
        elif just_created:
            now = self._wall_now().timestamp()
            slack = self.sweep.created_at_slack
            bounds = (now - slack, now + slack)
        else:
            bounds = None
        # Beside an event feed, a task without a creation time is located only when its first
        # safety-net check comes due: its events usually settle it before then.
        locate_now = bounds is None and self._source is self._sweeps
        self._add(arn, bounds, device_arn, check_now=locate_now, may_be_unknown=may_be_unknown)

    @property
    def pending(self) -> frozenset[str]:
        """ARNs not yet seen in a terminal state."""
        return frozenset(self._reg.pending)

    @property
    def unknown(self) -> Mapping[str, errors.ResourceNotFoundException]:
        """ARNs added with ``may_be_unknown`` that the service does not know, with its
        answer; they are no longer tracked (not in :attr:`arns`)."""
        return MappingProxyType(self._reg.unknown)

    def last_status(self, arn: str) -> QuantumTaskStatus | None:
        """The status task ``arn`` was last seen in: its terminal status once finished,
        else CREATED / QUEUED / RUNNING, or ``None`` while it was never seen.

        Args:
            arn: The task's ARN.

        Returns:
            The status, or ``None``.

        Raises:
            ParameterError: ``arn`` is not tracked.
        """
        if arn in self._reg.finished:
            return self._reg.finished[arn].status
        entry = self._reg.pending.get(arn)
        if entry is None:
            raise errors.ParameterError("arn", f"must be a tracked task ARN, got {arn!r}")
        return entry.status

    def status_counts(self) -> dict[str, int]:
        """Tracked tasks by last seen status (:meth:`last_status`); pending tasks never
        seen count under :data:`UNKNOWN_STATUS`. Statuses with no task are left out."""
        return self._reg.counts()

    @property
    def arns(self) -> tuple[str, ...]:
        """Every tracked ARN, in the order added."""
        return tuple(self._reg.tracked)

    def __len__(self) -> int:
        return len(self._reg.tracked)

    def seal(self) -> None:
        """No more tasks will be added: iterators waiting with ``until_sealed`` may end."""
        self._reg.sealed = True
        self._reg.notify()

    @property
    def sealed(self) -> bool:
        """Whether :meth:`seal` was called."""
        return self._reg.sealed

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
        no per-task detail call.

        Args:
            details: Whether to yield full ``QuantumTask`` s (one get each) rather than summaries.
            until_sealed: Whether to go on until :meth:`seal` was called.

        Returns:
            The async iterator of finished tasks.
        """
        if details:
            full = self._iter_full(until_sealed)
            self._consumers.add(full)
            return full
        summaries = self._iter_summaries(until_sealed)
        self._consumers.add(summaries)
        return summaries

    async def details(self, arn: str) -> QuantumTask:
        """The full ``QuantumTask`` of finished task ``arn`` (one GetQuantumTask, unless a
        get already returned it): for a consumer of summaries that needs one task's details,
        e.g. the failure reason of a FAILED task.

        Args:
            arn: The task's ARN.

        Returns:
            The task.

        Raises:
            ParameterError: The tracker has not seen ``arn`` finished.
        """
        if arn not in self._reg.finished:
            raise errors.ParameterError(
                "arn", f"must be a task this tracker has seen finished, got {arn!r}"
            )
        (task,) = await self._fetch_details([arn])
        return task

    @overload
    async def wait_all(self, *, details: Literal[True] = ...) -> list[QuantumTask]: ...
    @overload
    async def wait_all(self, *, details: Literal[False]) -> list[QuantumTaskSummary]: ...
    @overload
    async def wait_all(self, *, details: bool) -> list[QuantumTask] | list[QuantumTaskSummary]: ...
    async def wait_all(
        self, *, details: bool = True
    ) -> list[QuantumTask] | list[QuantumTaskSummary]:
        """Wait until every tracked task is terminal; return them in the order added.

        Args:
            details: Whether to return full ``QuantumTask`` s (one get each) rather than summaries.

        Returns:
            Every tracked task, in the order added.

        Raises:
            SessionStateError: The tracker was closed while waiting.
        """
        async with self._hold() as generation:
            while self._reg.pending:
                if not await self._wait_change(generation):
                    raise errors.SessionStateError(
                        "the tracker was closed while wait_all() was waiting"
                    )
        if self._reg.error is not None:
            raise self._reg.error
        tracked = list(self._reg.tracked)
        if details:
            return await self._fetch_details(tracked)
        return [self._as_summary(a) for a in tracked]

    async def _enter(self) -> None:
        self._holders += 1
        self._ensure_running()

    async def _exit(self) -> None:
        # Iterators left suspended in the block (``break``) are closed now, not whenever
        # the garbage collector finalizes them, so leaving the block stops the scheduler.
        for iterator in list(self._consumers):
            if not iterator.ag_running:
                await iterator.aclose()
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the scheduler now and release the event subscription. Pending tasks stay
        pending; iterators still waiting in other tasks end, ``wait_all`` raises. Consuming
        again starts a new scheduler (and subscribes again)."""
        self._generation += 1
        self._holders = 0
        await self._stop()
        self._source.close()
        self._reg.notify()

    # --------------------------------------------------------------- consumers
    async def _iter_full(self, until_sealed: bool) -> AsyncIterator[QuantumTask]:
        # Each task is yielded as soon as its own get is back, and tasks finishing meanwhile
        # start theirs at once: a get retried after a fault holds back only its own task
        # (waiting for a whole round of gets stretched the tail of a batch's details).
        async with self._hold() as generation:
            index = 0
            limit = asyncio.Semaphore(self.sweep.max_concurrency)
            fetching: set[asyncio.Task[QuantumTask]] = set()
            try:
                while True:
                    ready = self._reg.order[index:]
                    index += len(ready)
                    for arn in ready:
                        if isinstance(self._reg.finished[arn], QuantumTask):
                            yield self._full(arn)
                        else:
                            fetching.add(asyncio.create_task(self._fetch_one(arn, limit)))
                    if ready:
                        continue
                    if not fetching:
                        if not await self._more_coming(until_sealed, generation):
                            return
                        continue
                    change = asyncio.create_task(self._wait_change(generation))
                    try:
                        done, _ = await asyncio.wait(
                            {*fetching, change}, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        change.cancel()
                    for task in [t for t in fetching if t in done]:
                        fetching.discard(task)
                        yield task.result()  # raises the get's error, after its retries
                    if change in done and not change.cancelled() and not change.result():
                        return  # the tracker was closed
            finally:
                for task in fetching:
                    task.cancel()
                if fetching:
                    await asyncio.gather(*fetching, return_exceptions=True)

    async def _iter_summaries(self, until_sealed: bool) -> AsyncIterator[QuantumTaskSummary]:
        async with self._hold() as generation:
            index = 0
            order = self._reg.order
            while True:
                while index < len(order):
                    arn = order[index]
                    index += 1
                    yield self._as_summary(arn)
                if not await self._more_coming(until_sealed, generation):
                    return

    async def _more_coming(self, until_sealed: bool, generation: int) -> bool:
        """Wait for a change; False once nothing is pending or the tracker was closed
        (raises the scheduler's error)."""
        if self._reg.error is not None:
            raise self._reg.error
        if not self._reg.pending and (self._reg.sealed or not until_sealed):
            return False
        return await self._wait_change(generation)

    async def _wait_change(self, generation: int) -> bool:
        """Wait for the next change; False if the tracker was closed meanwhile."""
        if self._reg.error is not None:
            raise self._reg.error
        if generation != self._generation:
            return False
        self._ensure_running()
        await self._reg.wait()
        if self._reg.error is not None:
            raise self._reg.error
        return generation == self._generation

    def _as_summary(self, arn: str) -> QuantumTaskSummary:
        item = self._reg.finished[arn]
        return QuantumTaskSummary.view_of(item) if isinstance(item, QuantumTask) else item

    async def _fetch_details(self, arns: Sequence[str]) -> list[QuantumTask]:
        """The full tasks of finished ``arns``: summaries are replaced by full tasks (one
        GetQuantumTask each, concurrently)."""
        finished = self._reg.finished
        missing = [a for a in arns if not isinstance(finished[a], QuantumTask)]
        if missing:
            limit = asyncio.Semaphore(self.sweep.max_concurrency)

            async def fetch(arn: str) -> None:
                await self._fetch_one(arn, limit)

            await fan_out(fetch(arn) for arn in missing)
        return [self._full(arn) for arn in arns]

    async def _fetch_one(self, arn: str, limit: asyncio.Semaphore) -> QuantumTask:
        """The full task of finished ``arn`` (one GetQuantumTask, retried), kept in place of
        its summary."""

        async def get() -> QuantumTask:
            self.stats.detail_calls += 1
            try:
                # one attempt per call: retry_target's budget retries it (botocore's
                # backoff, up to 1 s then 2 s, stretched the tail of a batch's details)
                with sdk_retries_off():
                    return await self._session.get_quantum_task(arn)
            except Exception as exc:
                if is_transient(exc):
                    self.stats.transient_errors += 1
                raise

        # A budget per get (a BudgetState is per poller): with one shared by the concurrent
        # gets, their failures added up, stretching every get's backoff (and could spend it
        # while each get failed only once or twice).
        budget = self.poll.budget.start(self._clock)
        async with limit:
            task = await retry_target(get, budget, sleep=self._sleep)
        self._reg.finished[arn] = task
        return task

    def _full(self, arn: str) -> QuantumTask:
        item = self._reg.finished[arn]
        assert isinstance(item, QuantumTask)  # _fetch_details replaced every summary
        return item

    # -------------------------------------------------------------- lifecycle
    def _add(
        self,
        arn: str,
        created: tuple[float, float] | None,
        device_arn: str | None,
        *,
        check_now: bool,
        may_be_unknown: bool = False,
    ) -> None:
        if not isinstance(arn, str) or not TASK_ARN.match(arn):
            raise errors.InvalidArnError(
                "arn",
                f"must be a quantum task ARN (arn:aws:braket:...:quantum-task/...), got {arn!r}",
            )
        if arn in self._reg.tracked:
            return
        if self._reg.sealed:
            raise errors.ParameterError("arn", f"the tracker is sealed: cannot add {arn}")
        entry = TaskEntry(arn, self._clock(), created, device_arn)
        self._reg.add(entry)
        if may_be_unknown:
            self._reg.may_be_unknown.add(arn)
        self._source.added(entry, check_now=check_now)
        self._ensure_running()
        self._reg.notify()

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
        if self._holders <= 0 or not self._reg.pending or self._reg.error is not None:
            return
        self._source.open()
        if self._runner is None or self._runner.done():
            _log.info(
                "tracker started: %d tasks pending (%s)",
                len(self._reg.pending),
                "events" if self._source is not self._sweeps else "sweeps",
                extra={"tasks": len(self._reg.pending)},
            )
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name="braket-async TaskTracker"
            )

    async def _stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def _run(self) -> None:
        try:
            await self._source.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._reg.fail(exc)
        finally:
            _log.info(
                "tracker stopped: %d tasks pending, %d status calls, %d events applied",
                len(self._reg.pending),
                self.stats.status_calls,
                self.stats.events_applied,
                extra={"tasks": len(self._reg.pending), "status_calls": self.stats.status_calls},
            )
            self._reg.notify()


def _posix(moment: datetime, field: str) -> float:
    if moment.tzinfo is None:
        raise errors.ParameterError(field, "must be timezone-aware")
    return moment.timestamp()
