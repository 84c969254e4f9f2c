"""Follow thousands of quantum tasks at once with few status calls.

:class:`TaskTracker` keeps the registry and hands finished tasks to its consumers; its
statuses come from a :class:`StatusSource`: :class:`SweepStatusSource` (SearchQuantumTasks
and GetQuantumTask, paced to the quotas) or, with an event feed,
:class:`EventStatusSource` (Braket's EventBridge state-change events, with a slow sweep as
safety net). :class:`TrackerOptions` holds every option as one immutable value.
"""

from ._events import EventStatusSource
from ._options import (
    DEFAULT_EVENT_SAFETY_NET,
    DEFAULT_QPU_POLL,
    DEFAULT_TRACKER_POLL,
    SweepPolicy,
    TrackerOptions,
)
from ._registry import UNKNOWN_STATUS, TaskEntry
from ._source import StatusSource
from ._stats import TrackerStats
from ._sweeps import SweepStatusSource
from ._tracker import TaskTracker

__all__ = [
    "DEFAULT_EVENT_SAFETY_NET",
    "DEFAULT_QPU_POLL",
    "DEFAULT_TRACKER_POLL",
    "UNKNOWN_STATUS",
    "EventStatusSource",
    "StatusSource",
    "SweepPolicy",
    "SweepStatusSource",
    "TaskEntry",
    "TaskTracker",
    "TrackerOptions",
    "TrackerStats",
]
