"""The sweep status source: SearchQuantumTasks and GetQuantumTask, paced to the quotas.

One scheduler (run by the tracker as one asyncio task) serves every pending task. Each task
wants a fresh status every ``poll.interval_at(age)`` seconds; when some are due, the
scheduler checks them the cheapest way it can:

* **window sweep** -- SearchQuantumTasks with ``status`` in (COMPLETED, FAILED, CANCELLED),
  ``createdAt`` BETWEEN the oldest and newest pending task's creation time, and ``deviceArn``
  when known: one page answers up to 100 tasks, and only finished ones come back. It
  refreshes every task whose creation time is known at once; chosen when its pages cost
  no more calls than gets for the tasks due now (and more than one task is pending).
* **ARN sweep** -- SearchQuantumTasks with ``quantumTaskArn`` EQUAL up to 10 ARNs (no status
  filter): status and creation time of 10 tasks per call. For periodic verification.
* **locate** -- for tasks added without a creation time (added late, or resumed): an ARN
  sweep of up to 10 of them (spread over the add order) tells when they were created; one
  search without status filter from just before the oldest of those to now then finds every
  tracked task created since (finished or not), in at most one page per 20 tasks to locate;
  the rest are looked up by ARN, 10 per call. 300 tasks created together cost 4 calls.
* **GetQuantumTask** -- one call per task: for a single task, when the window is crowded
  with other finished tasks, and as the fallback for a task a search did not return.

Tasks on a QPU wait in its queue for minutes to hours: they are checked on the slower
``qpu_poll`` schedule (the interval grows with the time waited, up to 30 minutes by default)
and verified by ARN only every eight of its intervals, so a task queued for hours costs less
than a fiftieth of a call per hour (``docs/tracking.md``).

A search page carries 100 statuses at 5 calls/s, a get carries one at 100 calls/s (see
``docs/tracking.md``). Searches are paced to ``sweep.search_share`` of the SearchQuantumTasks
quota and at most one sweep per ``sweep.min_interval``; every call also goes through the
session's shared rate limiter.

The work per round grows with the tasks that are due, not with all pending tasks: due
times are kept in a heap, a window sweep marks the time it refreshed every anchored task
instead of rescheduling each (a task popped from the heap that a later window covered is
rescheduled then), and the window's bounds come from two more heaps.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from .._base import Clock, Sleep
from .._sdk_retries import sdk_retries_off
from .._searches import SEARCH_QUANTUM_TASKS
from ..models import (
    QuantumTaskFilter,
    QuantumTaskSummary,
    SearchQuantumTasksPage,
)
from ..models.enums import TERMINAL_TASK_STATUSES
from ..paginate import PageLoop
from ..polling import PollPolicy, is_transient, retry_target
from ._options import SweepPolicy
from ._registry import Registry, TaskEntry
from ._stats import TrackerStats

if TYPE_CHECKING:
    from .._client import BraketClient

__all__ = ["SweepStatusSource", "fan_out", "search_rate"]

T = TypeVar("T")

_TERMINAL = tuple(sorted(TERMINAL_TASK_STATUSES, key=str))
ARNS_PER_FILTER = 10  # SearchQuantumTasks: 1-10 values per filter
_DEVICES_PER_FILTER = 10
#: A locate search may read one page per this many tasks to locate before the rest are
#: looked up by ARN (10 per call): never much dearer than ARN sweeps alone.
_TASKS_PER_LOCATE_PAGE = 20
TASK_ARN = re.compile(r"^arn:aws[a-z-]*:braket:[a-z0-9-]*:\d*:quantum-task/[A-Za-z0-9_.:/-]+$")
#: The longest the scheduler naps without looking at newly added tasks.
_MAX_NAP = 1.0
#: The longest a sealed tracker naps (a bound, should nothing be due).
_MAX_SEALED_NAP = 300.0
#: Seconds over which the rate of tasks coming due is averaged.
_RATE_WINDOW = 10.0
#: Recent creation-estimate errors kept, needed before windows are trimmed, and the margin
#: left beyond the smallest of them (seconds).
_GAP_SAMPLES = 256
_MIN_GAP_SAMPLES = 20
_GAP_MARGIN = 1.0
#: Stale heap tuples tolerated beyond twice the pending tasks before the heaps are rebuilt.
_COMPACT_SLACK = 1024
#: A task on a QPU is verified by ARN no sooner than this many of its qpu_poll intervals (8
#: minutes after add, then after 80 minutes, then every 4 hours by default): it may wait
#: hours, and a verification every verify_max would cost more than its sweeps.
_QPU_VERIFY_INTERVALS = 8.0
_QPU_DEVICE = ":device/qpu/"


async def fan_out(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coros`` concurrently; on the first error cancel the rest and raise that error
    itself (not an ExceptionGroup: callers catch braket_async errors)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(coro)
    except BaseExceptionGroup as grouped:
        raise grouped.exceptions[0] from None


def search_rate(session: object, policy: SweepPolicy) -> float:
    """SearchQuantumTasks calls/s the session may make (policy, limiter, else AWS's 5/s)."""
    if policy.search_rate is not None:
        return policy.search_rate
    limiter = getattr(session, "rate_limiter", None)
    limits = getattr(limiter, "limits", None)
    if limits is not None and getattr(limits, "enabled", False):
        rate = limits.operations.get("SearchQuantumTasks")
        if rate is not None and rate.per_second > 0:
            return float(rate.per_second)
    return 5.0  # the AWS default quota (docs/tracking.md)


def _wall(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def on_qpu(device_arn: str | None) -> bool:
    """Whether ``device_arn`` is a QPU's (its tasks wait in a queue for minutes to hours)."""
    return device_arn is not None and _QPU_DEVICE in device_arn


def _where_expected(
    summary: QuantumTaskSummary | None, bounds: tuple[float, float, str | None]
) -> bool:
    """Whether a verified task was where window sweeps look for it: found, created inside its
    estimated bounds (plus the second the sweeps pad), on its recorded device."""
    if summary is None:
        return False
    low, high, device = bounds
    created = summary.created_at.timestamp()
    return low - 1.0 <= created <= high + 1.0 and device in (None, summary.device_arn)


class SweepStatusSource:
    """Statuses from searches and gets (see the module docstring). One per tracker.

    Args:
        session: The session whose calls the source makes.
        registry: The tracker's registry.
        poll: The per-task schedule.
        sweep: The sweep settings.
        qpu_poll: The per-task schedule of tasks on a QPU (the slower of it and ``poll``).
        observe_active: Whether to learn which tasks are QUEUED or RUNNING.
        stats: The tracker's counters.
        sleep: The scheduler's sleep.
        clock: The scheduler's monotonic clock.
        wall_now: The current wall time.
    """

    def __init__(
        self,
        session: BraketClient,
        registry: Registry,
        *,
        poll: PollPolicy,
        sweep: SweepPolicy,
        qpu_poll: PollPolicy | None = None,
        observe_active: bool,
        stats: TrackerStats,
        sleep: Sleep,
        clock: Clock,
        wall_now: Callable[[], datetime],
    ) -> None:
        self._session = session
        self._reg = registry
        self.poll = poll
        self.sweep = sweep
        # Verification by ARN backs off as polling's delays do: verify_after, doubling per
        # round, up to verify_max.
        self._verify_schedule = PollPolicy(
            initial=sweep.verify_after,
            multiplier=2.0,
            maximum=max(sweep.verify_after, sweep.verify_max),
            jitter=0.0,
        )
        self.qpu_poll = qpu_poll
        self.observe_active = observe_active
        self.stats = stats
        self._sleep = sleep
        self._clock = clock
        self._wall_now = wall_now
        self._search_interval = 1.0 / (search_rate(session, sweep) * sweep.search_share)
        self._seq = itertools.count()
        # Lazy heaps: a tuple whose time no longer matches its entry's is stale and skipped.
        self._due: list[tuple[float, int, TaskEntry]] = []
        self._verify: list[tuple[float, int, TaskEntry]] = []
        self._oldest: list[tuple[float, int, TaskEntry]] = []  # created_lo
        self._newest: list[tuple[float, int, TaskEntry]] = []  # -created_hi
        self._unlocated: dict[str, TaskEntry] = {}
        # Unlocated tasks to locate only when their first check comes due (next_due), not at
        # once: beside an event feed, whose events usually settle them before then.
        self._locate_later: list[tuple[float, int, TaskEntry]] = []
        self._locate_now = False  # an unlocated task is to be located in the next round
        # How far inside its estimated creation bounds each recent finished task was
        # created: once known, a window sweep trims the slack it does not need.
        self._gaps: deque[tuple[float, float]] = deque(maxlen=_GAP_SAMPLES)
        self._window_at = -math.inf  # when the last window sweep refreshed every anchored task
        self._window_pages = 1  # pages the last window sweep took
        # Anchored tasks coming due per second (exponentially decayed count): what per-task
        # gets would cost, weighed against a window sweep's pages.
        self._due_rate = 0.0
        self._rate_at = clock()
        self._last_tick = -math.inf
        self._search_ready_at = -math.inf
        self._active_ready_at = -math.inf  # the next window sweep without status filter
        self._napping: asyncio.Future[None] | None = None  # a long nap (see _nap)

    # ----------------------------------------------------------------- protocol
    def open(self) -> None:
        """Nothing to take."""
        pass

    def close(self) -> None:
        """Nothing to release."""
        pass

    def added(self, entry: TaskEntry, *, check_now: bool = False) -> None:
        """Schedule a task that was added.

        Args:
            entry: The task's entry.
            check_now: Look at it in the next round rather than after the first poll delay.
        """
        now = self._clock()
        entry.verify_due = now + self._verify_delay(entry, now)
        if not entry.anchored:
            self._unlocated[entry.arn] = entry
            if check_now:
                entry.next_due = now
                self._locate_now = True
            else:
                entry.next_due = now + self.poll.delay_at(0.0)
                heapq.heappush(self._locate_later, (entry.next_due, next(self._seq), entry))
            return
        entry.next_due = now if check_now else now + self._delay(entry, 0.0)
        self._push(entry)
        self._push_verify(entry)
        self._push_bounds(entry)

    def check_soon(self, entry: TaskEntry) -> None:
        """Ask for ``entry`` directly at the next round (one GetQuantumTask).

        Args:
            entry: The task's entry.
        """
        if self._live(entry):
            self._unlocated.pop(entry.arn, None)
            self._force_get(entry, self._clock())
            self._wake_up()

    async def run(self) -> None:
        """Sweep and get in rounds until nothing is pending or an error stops it."""
        while self._reg.pending and self._reg.error is None:
            await self._tick()
            self._reg.end_round()

    # ----------------------------------------------------------------- heaps
    def _push(self, entry: TaskEntry) -> None:
        heapq.heappush(self._due, (entry.next_due, next(self._seq), entry))

    def _push_verify(self, entry: TaskEntry) -> None:
        heapq.heappush(self._verify, (entry.verify_due, next(self._seq), entry))

    def _push_bounds(self, entry: TaskEntry) -> None:
        seq = next(self._seq)
        heapq.heappush(self._oldest, (entry.created_lo, seq, entry))
        heapq.heappush(self._newest, (-entry.created_hi, seq, entry))

    def _live(self, entry: TaskEntry) -> bool:
        return self._reg.pending.get(entry.arn) is entry

    def _top(self, heap: list[tuple[float, int, TaskEntry]], field: str, sign: float) -> float:
        """The first live time of ``heap`` (inf when none), dropping stale tuples."""
        while heap:
            at, _, entry = heap[0]
            if self._live(entry) and sign * getattr(entry, field) == at:
                return at
            heapq.heappop(heap)
        return math.inf

    def _window(self) -> tuple[float, float] | None:
        lo = self._top(self._oldest, "created_lo", 1.0)
        hi = -self._top(self._newest, "created_hi", -1.0)
        if math.isinf(lo) or math.isinf(hi):
            return None
        if len(self._gaps) >= _MIN_GAP_SAMPLES:
            # Estimated bounds (just_created) are wider than the client/server clock skew
            # turned out to be: trim what no recent task needed, less a margin.
            oldest, newest = self._oldest[0][2], self._newest[0][2]
            if oldest.created_hi > oldest.created_lo:
                lo += max(0.0, min(g[0] for g in self._gaps) - _GAP_MARGIN)
            if newest.created_hi > newest.created_lo:
                hi -= max(0.0, min(g[1] for g in self._gaps) - _GAP_MARGIN)
        return lo, max(lo, hi)

    def _anchored_count(self) -> int:
        return len(self._reg.pending) - len(self._unlocated)

    # ----------------------------------------------------------------- scheduler
    def _compact(self) -> None:
        """Drop stale tuples once the heaps hold more than twice the pending tasks: finished
        tasks deep in a heap are released, at an amortized O(1) per task."""
        limit = 2 * len(self._reg.pending) + _COMPACT_SLACK
        heaps = (
            (self._due, "next_due", 1.0),
            (self._verify, "verify_due", 1.0),
            (self._oldest, "created_lo", 1.0),
            (self._newest, "created_hi", -1.0),
            (self._locate_later, "next_due", 1.0),
        )
        for heap, field, sign in heaps:
            if len(heap) > limit:
                heap[:] = [
                    t for t in heap if self._live(t[2]) and sign * getattr(t[2], field) == t[0]
                ]
                heapq.heapify(heap)

    async def _tick(self) -> None:
        """One round: check whatever is due, the cheapest way, then return."""
        self._compact()
        now = self._clock()
        sweeping = self.sweep.enabled
        search_wait = self._search_ready_at - now
        if self._unlocated and self._locate_at() <= now:
            unlocated = self._take_unlocated(now)
            if not sweeping or len(unlocated) == 1:
                for entry in unlocated:
                    self._force_get(entry, now)
            elif search_wait > 0:
                self._unlocated.update((e.arn, e) for e in unlocated)
                self._locate_now = True
            elif unlocated:
                await self._paced(self._locate(unlocated), now, "locate")
                return

        anchored_due: list[TaskEntry] = []
        by_get: list[TaskEntry] = []
        popped: set[int] = set()
        fresh = 0  # tasks that came due since the last round (not deferred ones again)
        while self._due and self._due[0][0] <= now:
            at, _, entry = heapq.heappop(self._due)
            if not self._live(entry) or entry.next_due != at or id(entry) in popped:
                continue
            popped.add(id(entry))
            if entry.force_get:
                by_get.append(entry)
            elif entry.checked < self._window_at:
                # A window sweep refreshed it since: its next check counts from then.
                entry.checked = self._window_at
                entry.next_due = self._window_at + self._delay(entry, self._window_at - entry.added)
                if entry.next_due <= now:
                    anchored_due.append(entry)
                else:
                    self._push(entry)
                fresh += 1
            else:
                fresh += at > self._last_tick
                anchored_due.append(entry)
        self._count_due(fresh, now)
        by_arn: list[TaskEntry] = []
        if self._top(self._verify, "verify_due", 1.0) <= now:
            # Verify every task due within a quarter period along with the due ones, so
            # verifications share ARN searches instead of trickling out one get at a time.
            horizon = now + self.sweep.verify_after / 4
            verified: set[int] = set()
            while self._top(self._verify, "verify_due", 1.0) <= horizon:
                _, _, entry = heapq.heappop(self._verify)
                if not entry.force_get and id(entry) not in verified:
                    verified.add(id(entry))
                    by_arn.append(entry)
            anchored_due = [e for e in anchored_due if id(e) not in verified]
        if not (sweeping and len(by_arn) > 1):
            # Ten ARNs per search beat one get per task from two tasks on.
            by_get.extend(by_arn)
            by_arn = []
        if sweeping and search_wait > 0 and (by_arn or self._anchored_count() > 1):
            # Searches are paced: what may wait for one stays due (gets need not wait).
            # Due tasks pile up meanwhile, so the choice below weighs a window sweep's
            # pages against every get the tasks due since the last search would cost.
            for entry in anchored_due:
                self._push(entry)
            for entry in by_arn:
                self._push_verify(entry)
            if by_get:
                await self._get_many(by_get)
            elif anchored_due or by_arn:
                await self._sleep(min(search_wait, _MAX_NAP))
            else:
                await self._nap(now)
            return
        if not (anchored_due or by_arn or by_get):
            await self._nap(now)
            return
        # Gets for what is due now, or for what comes due while one sweep is paced.
        gets_per_sweep = max(
            float(len(anchored_due)),
            self._due_rate
            * max(self.sweep.min_interval, self._window_pages * self._search_interval),
        )
        use_window = (
            sweeping
            and bool(anchored_due)
            and self._anchored_count() > 1
            and self._window_pages <= gets_per_sweep
        )
        if not use_window:
            by_get.extend(anchored_due)
            anchored_due = []
        if use_window or by_arn:
            try:
                kind = "window" if use_window else "arn"
                await self._paced(self._searches(use_window, by_arn), now, kind)
            finally:
                # Popped from the heap: back in it, due again after their next delay.
                for entry in anchored_due:
                    if self._live(entry) and entry.checked < now:
                        self._reschedule(entry, self._clock())
        if by_get:
            await self._get_many(by_get)

    def _locate_at(self) -> float:
        """When the next unlocated task is to be located (inf: none is waiting)."""
        if not self._unlocated:
            return math.inf
        if self._locate_now:
            return -math.inf
        return self._top(self._locate_later, "next_due", 1.0)

    def _take_unlocated(self, now: float) -> list[TaskEntry]:
        """The live unlocated tasks due now, taken out of ``_unlocated`` (the others stay)."""
        due: list[TaskEntry] = []
        waiting: dict[str, TaskEntry] = {}
        for entry in self._unlocated.values():
            if not self._live(entry):
                continue
            if entry.next_due <= now:
                due.append(entry)
            else:
                waiting[entry.arn] = entry
        self._unlocated = waiting
        self._locate_now = False
        return due

    def _count_due(self, fresh: int, now: float) -> None:
        elapsed = max(0.0, now - self._rate_at)
        self._due_rate = self._due_rate * math.exp(-elapsed / _RATE_WINDOW) + fresh / _RATE_WINDOW
        self._rate_at = now
        self._last_tick = now

    async def _nap(self, now: float) -> None:
        """Sleep until something is due: at most _MAX_NAP (to see newly added tasks) until the
        registry is sealed, then as long as that (tasks waiting in a QPU's queue may be due
        in half an hour), woken early by :meth:`check_soon`."""
        next_at = min(
            max(self._search_ready_at, self._locate_at()),
            self._top(self._due, "next_due", 1.0),
            self._top(self._verify, "verify_due", 1.0),
        )
        delay = min(max(0.0, next_at - now), _MAX_SEALED_NAP)
        if not self._reg.sealed or delay <= _MAX_NAP:
            await self._sleep(min(delay, _MAX_NAP))
            return
        nap = asyncio.ensure_future(self._sleep(delay))
        self._napping = nap
        try:
            await asyncio.wait((nap,))
        finally:
            self._napping = None
            nap.cancel()

    def _wake_up(self) -> None:
        """End a long nap now (something is to be done at the next round)."""
        if self._napping is not None:
            self._napping.cancel()

    async def _searches(self, use_window: bool, by_arn: list[TaskEntry]) -> None:
        if use_window:
            await self._window_sweep()
        if by_arn:
            await self._verify_by_arn(by_arn)

    async def _verify_by_arn(self, entries: list[TaskEntry]) -> None:
        """Verify ``entries`` by ARN: more than 10 through a sample of 10 (one search) when
        each sampled task is where the window sweeps look for it, else every one."""
        if len(entries) <= ARNS_PER_FILTER:
            await self._arn_sweep(entries)
            return
        step = len(entries) / ARNS_PER_FILTER
        sample = [entries[int(i * step)] for i in range(ARNS_PER_FILTER)]
        expected = {e.arn: (e.created_lo, e.created_hi, e.device_arn) for e in sample}
        found = {s.quantum_task_arn: s for s in await self._arn_sweep(sample)}
        rest = [e for e in entries if e.arn not in expected and self._live(e)]
        if all(_where_expected(found.get(arn), bounds) for arn, bounds in expected.items()):
            # Clock skew and device are what could hide a task from window sweeps, and the
            # sample shows both are as estimated: the others count as verified.
            now = self._clock()
            for entry in rest:
                entry.verify_round += 1
                entry.verify_due = now + self._verify_delay(entry, now)
                self._push_verify(entry)
                if entry.next_due <= now:
                    # due for a status check too (taken off the due heap for this round): it
                    # still needs one, at the next round
                    self._push(entry)
            return
        await self._arn_sweep(rest)

    async def _paced(self, searches: Coroutine[Any, Any, object], now: float, kind: str) -> None:
        """Run ``searches``, then pace the next ones to search_share of the quota and to
        sweep.min_interval."""
        calls_before = self.stats.search_calls
        with self._session.telemetry.span(
            "braket_async.tracker.sweep", {"braket_async.sweep": kind}
        ) as span:
            try:
                await searches
            finally:
                used = self.stats.search_calls - calls_before
                span.set_attribute("braket_async.calls", used)
                self._search_ready_at = max(self._search_ready_at, now) + max(
                    self.sweep.min_interval, used * self._search_interval
                )

    def _reschedule(self, entry: TaskEntry, now: float) -> None:
        # Delays grow with the task's age, not the number of checks: a sweep may check a
        # task early without speeding up its backoff.
        entry.checked = now
        entry.next_due = now + self._delay(entry, now - entry.added)
        self._push(entry)

    def _delay(self, entry: TaskEntry, age: float) -> float:
        """The delay before ``entry``'s next check, ``age`` seconds after it was added."""
        delay = self.poll.delay_at(age)
        if self.qpu_poll is not None and on_qpu(entry.device_arn):
            delay = max(delay, self.qpu_poll.delay_at(age))
        return delay

    def _verify_delay(self, entry: TaskEntry, now: float) -> float:
        """The delay before ``entry``'s next verification by ARN (doubling per round)."""
        delay = self._verify_schedule.cap(entry.verify_round)
        if self.qpu_poll is not None and on_qpu(entry.device_arn):
            interval = self.qpu_poll.interval_at(now - entry.added)
            delay = max(delay, _QPU_VERIFY_INTERVALS * interval)
        return delay

    def _force_get(self, entry: TaskEntry, now: float) -> None:
        entry.force_get = True
        entry.next_due = now
        self._push(entry)

    # ----------------------------------------------------------------- calls
    async def _call(self, count: Callable[[], None], call: Callable[[], Awaitable[T]]) -> T:
        """One status call, retried after transient errors within ``poll.budget``; ``count``
        is run before every attempt (the stats match the calls the service answered)."""

        async def attempt() -> T:
            count()
            try:
                return await call()
            except Exception as exc:
                if is_transient(exc):
                    self.stats.transient_errors += 1
                raise

        # A budget per call (a BudgetState is per poller): one shared by the concurrent gets
        # added their failures up, so a burst of throttles, each absorbed by one retry, spent
        # it and stopped the tracker.
        return await retry_target(attempt, self.poll.budget.start(self._clock), sleep=self._sleep)

    def _count_search(self) -> None:
        self.stats.search_calls += 1

    def _count_get(self) -> None:
        self.stats.get_calls += 1

    async def _search_pages(
        self, filters: list[QuantumTaskFilter], *, max_pages: float = math.inf
    ) -> tuple[list[QuantumTaskSummary], bool]:
        """Pages of one search (at most ``max_pages``) and whether they were all read."""

        async def page_at(token: str | None) -> SearchQuantumTasksPage:
            async def search() -> SearchQuantumTasksPage:
                # One attempt per call: a failed page is retried by _call's budget (its
                # short backoff), not inside botocore (uniform up to 1 s, then 2 s), which
                # held the last tasks of a batch under faults for seconds.
                with sdk_retries_off():
                    return await self._session.search_quantum_tasks(
                        filters=filters, max_results=self.sweep.page_size, next_token=token
                    )

            return await self._call(self._count_search, search)

        pages = PageLoop(SEARCH_QUANTUM_TASKS, page_at, max_pages=max_pages)
        found = [summary async for page in pages for summary in page.quantum_tasks]
        return found, pages.next_token is None

    def _device_filter(self, devices: Iterable[str | None]) -> list[QuantumTaskFilter]:
        known = set(devices)
        if None in known or not known or len(known) > _DEVICES_PER_FILTER:
            return []
        return [QuantumTaskFilter("deviceArn", "EQUAL", sorted(d for d in known if d is not None))]

    def _apply(self, summary: QuantumTaskSummary, now: float, *, direct: bool) -> bool:
        """Report one search result; True if it finished a pending task. ``direct``: the
        search looked for this task (it counts as a verification)."""
        entry = self._reg.pending.get(summary.quantum_task_arn)
        if entry is None:
            return False
        if summary.status in TERMINAL_TASK_STATUSES:
            self._unlocated.pop(entry.arn, None)
            if entry.created_hi > entry.created_lo:  # an estimate: how good was it?
                created = summary.created_at.timestamp()
                self._gaps.append((created - entry.created_lo, entry.created_hi - created))
            return self._reg.complete(entry.arn, summary)
        if direct or not entry.anchored:
            self._observe(entry, summary.created_at, summary.device_arn, now)
        self._reg.set_status(entry, summary.status)
        return False

    async def _window_sweep(self) -> None:
        window = self._window()
        if window is None:
            return
        now = self._clock()
        lo = _wall(window[0]) - timedelta(seconds=1)
        hi = _wall(window[1]) + timedelta(seconds=1)
        # Now and then (observe_active) the same window without the status filter: the
        # pages then also say which pending tasks are QUEUED or RUNNING.
        active = self.observe_active and now >= self._active_ready_at
        filters = [QuantumTaskFilter("createdAt", "BETWEEN", (lo, hi))]
        if not active:
            filters.insert(0, QuantumTaskFilter.status(*_TERMINAL))
        filters.extend(self._device_filter(self._reg.devices))
        self.stats.window_sweeps += 1
        if active:
            self.stats.active_sweeps += 1
            self._active_ready_at = now + self.sweep.active_interval
        found, _ = await self._search_pages(filters)
        # The cost model of terminal sweeps counts finished tasks only.
        terminal = sum(1 for summary in found if summary.status in TERMINAL_TASK_STATUSES)
        self._window_pages = max(1, math.ceil(terminal / self.sweep.page_size))
        finished = sum(self._apply(summary, now, direct=False) for summary in found)
        self._window_at = now
        if finished:
            self._reg.notify()

    async def _arn_sweep(self, entries: Sequence[TaskEntry]) -> list[QuantumTaskSummary]:
        """Look ``entries`` up by ARN, 10 per call; what was found. A task not found is asked
        for directly."""
        now = self._clock()
        finished = 0
        seen_all: list[QuantumTaskSummary] = []
        try:
            for start in range(0, len(entries), ARNS_PER_FILTER):
                chunk = [e for e in entries[start : start + ARNS_PER_FILTER] if self._live(e)]
                if not chunk:
                    continue
                self.stats.arn_sweeps += 1
                found, _ = await self._search_pages(
                    [QuantumTaskFilter.quantum_task_arns(*(e.arn for e in chunk))]
                )
                seen = {s.quantum_task_arn: s for s in found}
                seen_all.extend(seen.values())
                for entry in chunk:
                    summary = seen.get(entry.arn)
                    if summary is None:
                        # Not found by search (not indexed yet, or no such task): ask directly.
                        self._unlocated.pop(entry.arn, None)
                        self._force_get(entry, now)
                    else:
                        finished += self._apply(summary, now, direct=True)
        finally:
            if finished:
                self._reg.notify()
        return seen_all

    async def _locate(self, entries: list[TaskEntry]) -> None:
        """Find tasks added without a creation time (see the module docstring)."""
        for entry in entries:
            self._unlocated[entry.arn] = entry  # until found
        if len(entries) > ARNS_PER_FILTER:
            step = len(entries) / ARNS_PER_FILTER
            probe = [entries[int(i * step)] for i in range(ARNS_PER_FILTER)]
        else:
            probe = entries
        found = await self._arn_sweep(probe)
        rest = [e for e in entries if self._live(e) and not e.anchored and not e.force_get]
        if rest and found:
            oldest = min(s.created_at for s in found)
            slack = timedelta(seconds=self.sweep.created_at_slack)
            filters = [
                QuantumTaskFilter(
                    "createdAt", "BETWEEN", (oldest - slack, self._wall_now() + slack)
                )
            ]
            filters.extend(self._device_filter(e.device_arn for e in rest))
            self.stats.locate_sweeps += 1
            located, _ = await self._search_pages(
                filters, max_pages=max(1, math.ceil(len(rest) / _TASKS_PER_LOCATE_PAGE))
            )
            now = self._clock()
            finished = sum(self._apply(s, now, direct=True) for s in located)
            if finished:
                self._reg.notify()
            rest = [e for e in rest if self._live(e) and not e.anchored and not e.force_get]
        if rest:
            await self._arn_sweep(rest)

    def _observe(self, entry: TaskEntry, created_at: datetime, device_arn: str, now: float) -> None:
        """A direct look at a pending task: anchor it exactly and reschedule it."""
        first = not entry.anchored
        created = created_at.timestamp()
        moved = entry.created_lo != created or entry.created_hi != created
        entry.created_lo = entry.created_hi = created
        self._reg.set_device(entry, device_arn)
        entry.force_get = False
        self._unlocated.pop(entry.arn, None)
        # A direct look is a verification: the next one is due after a doubled period.
        entry.verify_round += 1
        entry.verify_due = now + self._verify_delay(entry, now)
        if first or moved:
            self._push_bounds(entry)
        self._push_verify(entry)
        self._reschedule(entry, now)

    async def _get_many(self, entries: list[TaskEntry]) -> None:
        with self._session.telemetry.span(
            "braket_async.tracker.sweep",
            {"braket_async.sweep": "get", "braket_async.calls": len(entries)},
        ):
            await self._get_each(entries)

    async def _get_each(self, entries: list[TaskEntry]) -> None:
        limit = asyncio.Semaphore(self.sweep.max_concurrency)
        finished = 0

        async def check(entry: TaskEntry) -> None:
            nonlocal finished
            async with limit:
                try:
                    task = await self._call(
                        self._count_get, lambda: self._session.get_quantum_task(entry.arn)
                    )
                except errors.ResourceNotFoundException as exc:
                    if self._reg.end_unknown(entry.arn, exc):
                        return  # the tracker's owner said it may be unknown
                    raise
            if not self._live(entry):
                return
            if task.status in TERMINAL_TASK_STATUSES:
                finished += self._reg.complete(entry.arn, task)
            else:
                self._observe(entry, task.created_at, task.device_arn, self._clock())
                self._reg.set_status(entry, task.status)

        try:
            await fan_out(check(entry) for entry in entries)
        finally:
            if finished:
                self._reg.notify()
