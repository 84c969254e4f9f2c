"""Waking a poller when the session's event feed reports a change for its ARN.

The waiters (``waiters.py``) poll with a slow safety-net policy when the session has an
:class:`~braket_async.events.EventFeed`, and sleep through :meth:`ArnWake.sleep`, which
returns early when an event for their task or job arrives. The poll still runs, so a lost
event or a missing EventBridge rule delays a waiter but never hangs it.
"""

from __future__ import annotations

import asyncio

from ._base import AsyncContext, Sleep
from .events import BraketEvent, EventFeed, JobStateChange, TaskStateChange
from .polling import PollPolicy, sleep_unless_stopped

__all__ = ["EVENTS_SAFETY_POLL", "ArnWake"]

#: The poll kept as a safety net when events are on: 5 s growing to 30 s, little jitter (full
#: jitter would often poll within the first second, before any event could help).
EVENTS_SAFETY_POLL = PollPolicy(initial=5.0, multiplier=1.5, maximum=30.0, jitter=0.2)


class ArnWake(AsyncContext):
    """Subscribed to ``feed`` while entered; set by an event for ``arn`` whose status is in
    ``statuses`` (None: any status).

    ``async with ArnWake(feed, arn) as wake: ... await wake.sleep(delay, sleep)``.
    """

    def __init__(
        self,
        feed: EventFeed,
        arn: str,
        *,
        statuses: frozenset[str] | None = None,
    ) -> None:
        self._feed = feed
        self.arn = arn
        self._statuses = statuses
        self._flag = asyncio.Event()
        self._unsubscribe: object = None
        #: The status of the last matching event, if any.
        self.last_status: str | None = None

    def _on_event(self, event: BraketEvent) -> None:
        if isinstance(event, TaskStateChange):
            arn = event.quantum_task_arn
        elif isinstance(event, JobStateChange):
            arn = event.job_arn
        else:  # pragma: no cover - the contract has two kinds
            return
        if arn != self.arn:
            return
        status = str(event.status)
        self.last_status = status
        if self._statuses is None or status in self._statuses:
            self._flag.set()

    async def _enter(self) -> None:
        self._unsubscribe = self._feed.subscribe(self._on_event)

    async def _exit(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if callable(unsubscribe):
            unsubscribe()

    async def sleep(self, delay: float, sleep: Sleep) -> bool:
        """Sleep ``delay`` seconds through ``sleep``, or less if an event arrives; True when
        an event woke it (it is consumed)."""
        await sleep_unless_stopped(delay, sleep, self._flag)
        woken = self._flag.is_set()
        self._flag.clear()
        return woken
