"""Braket state-change events (EventBridge), and the feeds that deliver them.

:class:`SqsEventSource` reads the SQS queue an EventBridge rule sends Braket's "Braket Task
State Change" / "Braket Job State Change" events to (``braket-async events setup`` creates
both); ``BraketSession(events=queue_url)`` makes the waiters and the tracker use it. Its SQS
calls go through :class:`SqsQueues` (a session's ``braket.sqs``); ``events setup``'s
EventBridge calls through :class:`EventBridge` (``braket.eventbridge``).
"""

from .._aws_accessors import EventBridge, SqsBatchResult, SqsQueues
from ._memory import InMemoryEventFeed
from ._setup import EventQueueSetup, ensure_event_queue
from ._sqs import EventQueueNotFound, SqsEventSource
from ._types import (
    BraketEvent,
    EventCallback,
    EventFeed,
    JobStateChange,
    TaskStateChange,
    Unsubscribe,
)

__all__ = [
    "BraketEvent",
    "EventBridge",
    "EventCallback",
    "EventFeed",
    "EventQueueNotFound",
    "EventQueueSetup",
    "InMemoryEventFeed",
    "JobStateChange",
    "SqsBatchResult",
    "SqsEventSource",
    "SqsQueues",
    "TaskStateChange",
    "Unsubscribe",
    "ensure_event_queue",
]
