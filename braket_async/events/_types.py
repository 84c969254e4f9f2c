"""Braket state-change events as the client sees them, and the feed protocol.

Braket publishes "Braket Task State Change" and "Braket Job State Change" events to
EventBridge (source ``aws.braket``), delivered at least once and possibly out of order.
A feed (for example :class:`~braket_async.events.SqsEventSource`, reading a queue that an
EventBridge rule targets) turns them into these values and hands each to its subscribers.

This module is the contract between the feeds and their consumers (the task tracker, the
waiters): a consumer depends on :class:`EventFeed`, never on a concrete feed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeAlias

import attrs

from ..models.enums import JobStatus, QuantumTaskStatus

__all__ = [
    "BraketEvent",
    "EventCallback",
    "EventFeed",
    "JobStateChange",
    "TaskStateChange",
    "Unsubscribe",
]


@attrs.frozen
class TaskStateChange:
    """One "Braket Task State Change" event (its ``detail``, plus the envelope's id and time)."""

    quantum_task_arn: str
    status: QuantumTaskStatus
    device_arn: str | None = None
    shots: int | None = None
    output_s3_bucket: str | None = None
    output_s3_directory: str | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    #: The EventBridge envelope's ``id``: the same for every delivery of one event.
    event_id: str | None = None
    #: The envelope's ``time``.
    event_time: datetime | None = None


@attrs.frozen
class JobStateChange:
    """One "Braket Job State Change" event (its ``detail``, plus the envelope's id and time)."""

    job_arn: str
    status: JobStatus
    job_name: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    event_id: str | None = None
    event_time: datetime | None = None


BraketEvent: TypeAlias = TaskStateChange | JobStateChange
"""A task's or a job's state-change event."""
EventCallback: TypeAlias = Callable[[BraketEvent], None]
"""Called synchronously, on the event loop, once per distinct event; must not block."""
Unsubscribe: TypeAlias = Callable[[], None]
"""Stops the deliveries to one subscriber. Idempotent."""


class EventFeed(Protocol):
    """A source of Braket state-change events shared by every consumer of one session.

    ``subscribe`` registers a callback and returns the function that removes it. A feed
    delivers each distinct event (by ``event_id``) at most once per subscriber, and only
    after every current subscriber's callback has returned does it consider the event
    processed (an SQS feed deletes the message then). Events can still arrive out of order:
    consumers never move a task or job back out of a terminal status.
    """

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with every new event until the returned function is called.

        Args:
            callback: Called synchronously, on the event loop, once per distinct event.

        Returns:
            The function that removes the subscription.
        """
        ...
