"""The tracker's bookkeeping: tracked ARNs, pending entries, finished tasks, counts.

Status sources (:mod:`._source`) report into one :class:`Registry`; the tracker's consumers
read it. Everything here is synchronous and runs on the event loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from .. import errors
from ..models import QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from ..models.enums import TERMINAL_TASK_STATUSES

__all__ = ["UNKNOWN_STATUS", "Registry", "TaskEntry", "UnknownCallback"]

UNKNOWN_STATUS = "UNKNOWN"
"""The key of :meth:`TaskTracker.status_counts` for pending tasks never seen yet."""

#: How far along its lifecycle a status is: a task never moves back to a lower rank
#: (events arrive out of order; searches may lag behind a get).
_RANK = {
    QuantumTaskStatus.CREATED: 1,
    QuantumTaskStatus.QUEUED: 2,
    QuantumTaskStatus.RUNNING: 3,
    QuantumTaskStatus.CANCELLING: 4,
}


#: Called with the ARN and the service's answer when a task added with ``may_be_unknown``
#: turns out unknown to the service (ResourceNotFoundException on GetQuantumTask).
UnknownCallback = Callable[[str, errors.ResourceNotFoundException], object]


def rank(status: QuantumTaskStatus) -> int:
    """Lifecycle order of ``status`` (terminal statuses rank highest, unknown ones lowest)."""
    if status in TERMINAL_TASK_STATUSES:
        return 9
    return _RANK.get(status, 0)


class TaskEntry:
    """One pending task. Compact (slots, float times) since a tracker may hold 100,000.

    ``created_lo`` / ``created_hi`` bound the creation time (POSIX seconds; NaN while
    unknown); the scheduling fields belong to the sweep source.

    Args:
        arn: The task's ARN.
        now: When it was added (the monotonic clock).
        created: Bounds of its creation time (POSIX seconds), if known.
        device_arn: Its device, if known.
    """

    __slots__ = (
        "added",
        "arn",
        "checked",
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
        created: tuple[float, float] | None,
        device_arn: str | None,
    ) -> None:
        self.arn = arn
        self.added = now
        self.created_lo = created[0] if created else float("nan")
        self.created_hi = created[1] if created else float("nan")
        self.device_arn = device_arn
        self.status: QuantumTaskStatus | None = None  # last seen non-terminal status
        self.force_get = False
        self.next_due = now
        self.verify_due = now
        self.verify_round = 0
        self.checked = now  # when its status was last refreshed (or it was added)

    @property
    def anchored(self) -> bool:
        """Whether the creation time is known (at least within bounds)."""
        return self.created_lo == self.created_lo  # NaN != NaN


class Registry:
    """Tracked tasks, pending and finished, and the change notifications consumers wait on."""

    def __init__(
        self,
        on_status_change: Callable[[], object] | None = None,
        on_unknown: UnknownCallback | None = None,
    ) -> None:
        self.tracked: dict[str, None] = {}  # every ARN, in add order
        self.pending: dict[str, TaskEntry] = {}
        self.finished: dict[str, QuantumTask | QuantumTaskSummary] = {}
        #: Pending ARNs the service may not know (added with ``may_be_unknown``), and those
        #: it turned out not to know, with the service's answer.
        self.may_be_unknown: set[str] = set()
        self.unknown: dict[str, errors.ResourceNotFoundException] = {}
        self.order: list[str] = []  # completion order
        self.error: BaseException | None = None
        self.sealed = False
        #: Pending tasks by device (None: unknown), for the sweeps' device filter.
        self.devices: Counter[str | None] = Counter()
        self._counts: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._status_changed = False
        self._on_status_change = on_status_change
        self._on_unknown = on_unknown

    # ------------------------------------------------------------------ changes
    def add(self, entry: TaskEntry) -> None:
        self.tracked[entry.arn] = None
        self.pending[entry.arn] = entry
        self.devices[entry.device_arn] += 1
        self._count(None, UNKNOWN_STATUS)

    def set_device(self, entry: TaskEntry, device_arn: str) -> None:
        if entry.device_arn != device_arn:
            self._forget_device(entry.device_arn)
            entry.device_arn = device_arn
            self.devices[device_arn] += 1

    def set_status(self, entry: TaskEntry, status: QuantumTaskStatus) -> None:
        """A pending task was seen in non-terminal ``status`` (never moves it backwards)."""
        if entry.status != status and (entry.status is None or rank(status) >= rank(entry.status)):
            old = self.key(entry)
            entry.status = status
            self._count(old, status.value)
            self._status_changed = True

    def complete(self, arn: str, item: QuantumTask | QuantumTaskSummary) -> bool:
        """Task ``arn`` is terminal; False if it was not pending (already finished)."""
        entry = self.pending.pop(arn, None)
        if entry is None:
            return False
        self._forget_device(entry.device_arn)
        self._count(self.key(entry), item.status.value)
        self.may_be_unknown.discard(arn)
        self.finished[arn] = item
        self.order.append(arn)
        return True

    def end_unknown(self, arn: str, error: errors.ResourceNotFoundException) -> bool:
        """The service does not know task ``arn``, added with ``may_be_unknown``: it is no
        longer tracked, ``error`` is its end (reported to ``on_unknown``, whose exception
        stops the tracker). False if ``arn`` may not be unknown (then ``error`` is the
        tracker's) or is not pending."""
        if arn not in self.may_be_unknown:
            return False
        entry = self.pending.pop(arn, None)
        if entry is None:
            return False
        self.may_be_unknown.discard(arn)
        self._forget_device(entry.device_arn)
        self._counts[self.key(entry)] -= 1
        del self.tracked[arn]
        self.unknown[arn] = error
        self.notify()
        if self._on_unknown is not None:
            self._on_unknown(arn, error)
        return True

    def end_round(self) -> None:
        """A source finished a round of updates: call the status hook if a status changed
        (its exception stops the tracker)."""
        if self._status_changed:
            self._status_changed = False
            if self._on_status_change is not None:
                self._on_status_change()

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.notify()

    def notify(self) -> None:
        # Wake every waiter: set the current event and give later waiters a fresh one.
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait(self) -> None:
        await self._changed.wait()

    # ------------------------------------------------------------------ reading
    @staticmethod
    def key(entry: TaskEntry) -> str:
        return UNKNOWN_STATUS if entry.status is None else entry.status.value

    def counts(self) -> dict[str, int]:
        return {key: count for key, count in self._counts.items() if count}

    def _count(self, old: str | None, new: str) -> None:
        if old is not None:
            self._counts[old] -= 1
        self._counts[new] = self._counts.get(new, 0) + 1

    def _forget_device(self, device_arn: str | None) -> None:
        self.devices[device_arn] -= 1
        if self.devices[device_arn] <= 0:
            del self.devices[device_arn]
