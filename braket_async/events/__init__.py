"""Braket state-change events (EventBridge), and the feeds that deliver them."""

from ._memory import InMemoryEventFeed
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
    "EventCallback",
    "EventFeed",
    "InMemoryEventFeed",
    "JobStateChange",
    "TaskStateChange",
    "Unsubscribe",
]
