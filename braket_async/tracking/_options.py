"""The tracker's options: one immutable value (:class:`TrackerOptions`) and its parts."""

from __future__ import annotations

import attrs

from ..polling import PollPolicy

__all__ = [
    "DEFAULT_EVENT_SAFETY_NET",
    "DEFAULT_QPU_POLL",
    "DEFAULT_TRACKER_POLL",
    "SweepPolicy",
    "TrackerOptions",
]

DEFAULT_TRACKER_POLL = PollPolicy(initial=1.0, multiplier=1.5, maximum=30.0)
"""Per-task schedule of a tracker: first check 1 s after ``add``, backing off to 30 s."""

DEFAULT_EVENT_SAFETY_NET = PollPolicy(initial=15.0, multiplier=1.5, maximum=120.0, jitter=0.5)
"""Per-task schedule of the slow sweep kept beside an event feed: it only catches tasks
whose events were lost (a missing or misconfigured rule), so it may be slow.
Equal jitter: the first look comes 7.5-15 s after ``add``, not at once."""

DEFAULT_QPU_POLL = PollPolicy(initial=60.0, multiplier=2.0, maximum=1800.0, jitter=0.0)
"""Per-task schedule of a tracker for tasks on a QPU (``device/qpu/`` ARNs), whose tasks wait
minutes to hours in the device's queue: first check a minute after ``add``, then each after
as long again as the task has waited (the interval doubles), up to 30 minutes. No jitter:
one window sweep serves every due task, so tasks due together should stay together."""


@attrs.frozen
class SweepPolicy:
    """How a :class:`~braket_async.tracking.TaskTracker` uses SearchQuantumTasks.

    ``enabled=False`` makes it a plain (but shared and quota-aware) GetQuantumTask poller.
    Sweeps start at most every ``min_interval`` seconds and use at most ``search_share`` of
    the SearchQuantumTasks rate (``search_rate`` calls/s; None: the session's configured
    limit, else 5/s). ``created_at_slack`` widens creation-time estimates for clock skew.
    A task unresolved by window sweeps is verified by ARN after ``verify_after`` seconds, then
    at doubling intervals up to ``verify_max`` (a task on a QPU: not before eight of its
    ``qpu_poll`` intervals). Verifying more than 10 tasks at once looks up a sample of 10
    (one search); if each is where its window sweeps look (created inside its estimated
    bounds, on its device), the others count as verified too, else all are looked up.
    ``max_concurrency`` bounds concurrent gets.
    With ``TaskTracker(observe_active=True)`` a window sweep learns QUEUED / RUNNING
    statuses (no status filter) at most every ``active_interval`` seconds.
    """

    enabled: bool = True
    min_interval: float = attrs.field(default=1.0, validator=attrs.validators.ge(0.0))
    search_share: float = attrs.field(
        default=0.5, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)]
    )
    search_rate: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0.0))
    )
    created_at_slack: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))
    verify_after: float = attrs.field(default=120.0, validator=attrs.validators.gt(0.0))
    verify_max: float = attrs.field(default=900.0, validator=attrs.validators.gt(0.0))
    max_concurrency: int = attrs.field(default=16, validator=attrs.validators.ge(1))
    page_size: int = attrs.field(
        default=100, validator=[attrs.validators.ge(1), attrs.validators.le(100)]
    )
    active_interval: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))


@attrs.frozen
class TrackerOptions:
    """Everything that tunes a :class:`~braket_async.tracking.TaskTracker`, as one value.

    ``poll`` is each task's status schedule when statuses come from sweeps; a task on a QPU
    is checked on the slower ``qpu_poll`` schedule (and verified by ARN rarely, see
    :class:`SweepPolicy`), since QPU tasks wait in a queue for minutes to hours (``None``:
    on ``poll`` like the others); ``sweep`` how
    sweeps use SearchQuantumTasks; ``observe_active`` makes window sweeps also learn QUEUED
    and RUNNING now and then (see ``TaskTracker.status_counts``). With an event feed,
    statuses come from events and a sweep on the slower ``event_safety_net`` schedule only
    catches tasks whose events were lost; ``early_events`` bounds how many terminal events
    for ARNs not (yet) added are remembered, so a task that finishes before ``add`` is
    still reported. Derive variants with :func:`attrs.evolve`.
    """

    poll: PollPolicy = DEFAULT_TRACKER_POLL
    sweep: SweepPolicy = attrs.field(factory=SweepPolicy)
    observe_active: bool = False
    event_safety_net: PollPolicy = DEFAULT_EVENT_SAFETY_NET
    early_events: int = attrs.field(default=10_000, validator=attrs.validators.ge(0))
    qpu_poll: PollPolicy | None = DEFAULT_QPU_POLL
