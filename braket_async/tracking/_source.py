"""Where a tracker's statuses come from: the :class:`StatusSource` protocol.

:class:`~braket_async.tracking.TaskTracker` owns the registry and its consumers; a source
only learns statuses and reports them into the registry (the split of azure-core's
``AsyncLROPoller`` and its ``AsyncPollingMethod``). Two sources ship:
:class:`~braket_async.tracking.SweepStatusSource` (searches and gets, paced to the quotas)
and :class:`~braket_async.tracking.EventStatusSource` (Braket's state-change events from an
:class:`~braket_async.events.EventFeed`, with a slow sweep as its safety net).
"""

from __future__ import annotations

from typing import Protocol

from ._registry import TaskEntry

__all__ = ["StatusSource"]


class StatusSource(Protocol):
    """Learns the statuses of a registry's pending tasks and reports them into it.

    ``added`` is called synchronously when a task is added (``check_now``: look at it in
    the next round rather than after the first poll delay). ``run`` is the tracker's
    background work: it reports statuses (``registry.set_status``, ``registry.complete``,
    then ``registry.notify`` / ``registry.end_round``) and returns once nothing is pending;
    an exception it raises stops the tracker and reaches the consumers. The tracker cancels
    ``run`` when no consumer holds it any more, and starts it again when needed. ``open`` /
    ``close`` take and release outside resources (an event subscription) and are idempotent.
    """

    def added(self, entry: TaskEntry, *, check_now: bool = False) -> None:
        """A task was added.

        Args:
            entry: The task's entry.
            check_now: Look at it in the next round rather than after the first poll delay.
        """
        ...

    async def run(self) -> None:
        """Report statuses into the registry until nothing is pending."""
        ...

    def open(self) -> None:
        """Take outside resources (an event subscription); idempotent."""
        ...

    def close(self) -> None:
        """Release what :meth:`open` took; idempotent."""
        ...
