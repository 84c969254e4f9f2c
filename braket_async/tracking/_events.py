"""The event status source: Braket's state-change events, with a slow sweep as safety net.

Statuses come from an :class:`~braket_async.events.EventFeed` (for example an SQS queue an
EventBridge rule targets): zero Braket calls per status, and a change is known as soon as
the event arrives. Events are delivered at least once and possibly out of order, so an
event for a task no longer pending is dropped, and a pending task's known status only moves
forward (CREATED, QUEUED, RUNNING, CANCELLING, then terminal). A terminal event for an ARN not
tracked yet is remembered (the newest ``early_events`` of them), so a task that finishes
before :meth:`~braket_async.tracking.TaskTracker.add` is still reported at once.

Events can be lost (no rule, a misconfigured target, a purged queue), so the sweep source
keeps running on a slow schedule (``TrackerOptions.event_safety_net``): a lost event delays
a task's report, never hangs it.
"""

from __future__ import annotations

from collections import OrderedDict

from ..events import BraketEvent, EventFeed, TaskStateChange, Unsubscribe
from ..models import QuantumTaskSummary
from ..models.enums import TERMINAL_TASK_STATUSES
from ._registry import Registry, TaskEntry
from ._stats import TrackerStats
from ._sweeps import SweepStatusSource

__all__ = ["EventStatusSource"]


class EventStatusSource:
    """Statuses from ``feed``'s events; ``safety_net`` (a sweep source on a slow schedule)
    catches tasks whose events were lost.

    Args:
        feed: The event feed.
        registry: The tracker's registry.
        safety_net: The slow sweep source.
        stats: The tracker's counters.
        early_events: How many events of tasks not added yet to keep.
    """

    def __init__(
        self,
        feed: EventFeed,
        registry: Registry,
        *,
        safety_net: SweepStatusSource,
        stats: TrackerStats,
        early_events: int,
    ) -> None:
        self._feed = feed
        self._reg = registry
        self._safety_net = safety_net
        self.stats = stats
        self._early_limit = early_events
        self._early: OrderedDict[str, TaskStateChange] = OrderedDict()
        self._unsubscribe: Unsubscribe | None = None

    def open(self) -> None:
        """Subscribe to the feed; idempotent."""
        if self._unsubscribe is None:
            self._unsubscribe = self._feed.subscribe(self._on_event)

    def close(self) -> None:
        """Unsubscribe from the feed; idempotent."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def added(self, entry: TaskEntry, *, check_now: bool = False) -> None:
        """A task was added: apply an event that arrived before it, else hand it to the safety net.

        Args:
            entry: The task's entry.
            check_now: Look at it in the next round rather than after the first poll delay.
        """
        early = self._early.pop(entry.arn, None)
        if early is not None and self._finish(entry, early):
            self.stats.events_applied += 1
            return
        self._safety_net.added(entry, check_now=check_now)

    async def run(self) -> None:
        """Run the safety net (events are applied as they arrive)."""
        await self._safety_net.run()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: BraketEvent) -> None:
        if not isinstance(event, TaskStateChange):
            return
        arn = event.quantum_task_arn
        entry = self._reg.pending.get(arn)
        if entry is None:
            if arn not in self._reg.tracked and event.status in TERMINAL_TASK_STATUSES:
                self._remember(event)
            else:
                self.stats.events_ignored += 1  # a duplicate, or for an untracked task
            return
        if event.status in TERMINAL_TASK_STATUSES:
            if self._finish(entry, event):
                self.stats.events_applied += 1
                self._reg.notify()
            return
        before = entry.status
        self._reg.set_status(entry, event.status)
        if entry.status is before:
            self.stats.events_ignored += 1  # a duplicate, or older than what is known
            return
        self.stats.events_applied += 1
        try:
            self._reg.end_round()
        except Exception as exc:  # the status hook failed: stop the tracker with it
            self._reg.fail(exc)

    def _finish(self, entry: TaskEntry, event: TaskStateChange) -> bool:
        summary = QuantumTaskSummary.view_of(event)
        if summary is None:
            # An event without the fields of a summary: one get fetches the task.
            self._safety_net.check_soon(entry)
            return False
        return self._reg.complete(entry.arn, summary)

    def _remember(self, event: TaskStateChange) -> None:
        if self._early_limit <= 0:
            return
        self._early[event.quantum_task_arn] = event
        self._early.move_to_end(event.quantum_task_arn)
        while len(self._early) > self._early_limit:
            self._early.popitem(last=False)
