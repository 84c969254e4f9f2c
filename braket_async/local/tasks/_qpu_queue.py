"""QPU queues and availability windows, on a clock that can run faster than real time.

A QPU runs one task at a time, only inside its execution windows
(``service.executionWindows`` of its capability document, UTC). Each QPU gets a lane: two FIFO
deques (``Priority`` for tasks of hybrid jobs, served first, and ``Normal``, as the Braket
developer guide describes priority queueing for jobs with a QPU device) and one coroutine that
starts the next task when the device is free and inside a window. Tasks wait QUEUED meanwhile;
their ``queueInfo.position`` is their place in their deque. A task holds the QPU (RUNNING) for
its simulated duration, ``task_seconds + shots * shot_seconds``.

``backlog``: simulated seconds of other users' work ahead of the first task (a queue that is an
hour long when the service starts); it drains as simulated time passes, also while the device
is outside its windows, and counts in ``GetDevice``'s queue size as that many tasks of
``task_seconds``.

Simulated time: ``simulated_start`` (UTC, default: now) at the first QPU task, plus
``time_scale`` times the real seconds since (``time_scale=3600``: an hour passes in a second);
the windows and durations are simulated, the waits are real seconds divided by ``time_scale``.
``clock`` and ``sleep`` are injectable (the scheduler's; ``QpuQueue.clock`` overrides the
clock).

The QPU is busy for a task's simulated duration; its simulation (on the worker processes) may
take longer in real time, so a lane keeps up to ``MAX_IN_FLIGHT`` simulations going while it
starts the next tasks on schedule; a task ends when both are over.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import attrs

from ..state._store import TaskRecord

__all__ = ["QpuLanes", "QpuQueue", "in_window", "next_window_start"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: The longest a lane sleeps at once (real seconds), so a changed clock is noticed.
_MAX_NAP = 0.5
#: Simulations one lane keeps going at once (their tasks RUNNING).
MAX_IN_FLIGHT = 8


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.append(0)
    hours, minutes, seconds = parts[:3]
    return hours * 3600 + minutes * 60 + seconds


def _day_matches(day: str, weekday: int) -> bool:
    if day == "Everyday":
        return True
    if day == "Weekdays":
        return weekday < 5
    if day == "Weekend":
        return weekday >= 5
    return day in _DAYS and _DAYS.index(day) == weekday


def _spans(
    windows: Sequence[Mapping[str, Any]], moment: datetime
) -> list[tuple[datetime, datetime]]:
    """The window spans that start on the day of ``moment``, the day before or the 7 after."""
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    spans = []
    for offset in range(-1, 8):
        day = midnight + timedelta(days=offset)
        for window in windows:
            if not _day_matches(str(window.get("executionDay", "Everyday")), day.weekday()):
                continue
            start = _seconds(str(window.get("windowStartHour", "00:00")))
            end = _seconds(str(window.get("windowEndHour", "23:59:59")))
            if end <= start:
                end += 86400  # the window runs past midnight
            if end - start >= 86399:
                end = start + 86400  # "00:00:00"-"23:59:59" is the whole day
            spans.append((day + timedelta(seconds=start), day + timedelta(seconds=end)))
    return sorted(spans)


def in_window(windows: Sequence[Mapping[str, Any]], moment: datetime) -> bool:
    """Whether ``moment`` is inside one of ``windows`` (none listed: always)."""
    if not windows:
        return True
    return any(start <= moment < end for start, end in _spans(windows, moment))


def next_window_start(windows: Sequence[Mapping[str, Any]], moment: datetime) -> datetime:
    """``moment`` if it is inside a window, else when the next window opens."""
    if in_window(windows, moment):
        return moment
    later = [start for start, _end in _spans(windows, moment) if start > moment]
    if not later:
        raise ValueError("the device has no execution window in the coming week")
    return min(later)


@attrs.frozen
class QpuQueue:
    """The queue model of the emulated QPUs (see the module docstring); ``LocalBraket(qpu_queue=
    QpuQueue(...))``. Durations are simulated seconds."""

    time_scale: float = attrs.field(default=1.0)
    backlog: float = 0.0
    task_seconds: float = 10.0
    shot_seconds: float = 0.001
    simulated_start: datetime | None = None
    windows: bool = True
    #: The real clock the simulated one follows (default: the task scheduler's, monotonic);
    #: a test or benchmark may hold it still.
    clock: Callable[[], float] | None = attrs.field(default=None, eq=False, repr=False)

    @time_scale.validator
    def _positive(self, _attribute: Any, value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"QpuQueue.time_scale must be > 0, got {value}")

    def __attrs_post_init__(self) -> None:
        for name in ("backlog", "task_seconds", "shot_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"QpuQueue.{name} must be >= 0 seconds, got {value}")

    def duration(self, shots: int) -> float:
        """Simulated seconds a task of ``shots`` holds the QPU.

        Args:
            shots: The task's shots.

        Returns:
            Simulated seconds.
        """
        return self.task_seconds + shots * self.shot_seconds


class _Lane:
    def __init__(self) -> None:
        self.priority: deque[TaskRecord] = deque()
        self.normal: deque[TaskRecord] = deque()
        self.wake = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.in_flight: set[asyncio.Task[None]] = set()

    def pop(self) -> TaskRecord | None:
        for queue in (self.priority, self.normal):
            while queue:
                task = queue.popleft()
                if not task.cancel_requested:
                    return task
        return None


class QpuLanes:
    """One lane per QPU: its queues, windows and the coroutine that runs its tasks."""

    def __init__(
        self,
        model: QpuQueue,
        run: Callable[[TaskRecord, float], Coroutine[Any, Any, None]],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._run = run
        self._sleep = sleep
        self._clock = model.clock or clock
        self._started_real: float | None = None  # set by the first QPU task
        self._started_sim = model.simulated_start or datetime.now(UTC)
        self._lanes: dict[str, _Lane] = {}
        #: (task ARN, simulated start) of every task a lane started, in order.
        self.started: list[tuple[str, datetime]] = []

    # Simulated time --------------------------------------------------------------------

    def _elapsed(self) -> float:
        """Simulated seconds since the first QPU task."""
        if self._started_real is None:
            return 0.0
        return (self._clock() - self._started_real) * self.model.time_scale

    def now(self) -> datetime:
        """The simulated UTC time."""
        return self._started_sim + timedelta(seconds=self._elapsed())

    def backlog_left(self) -> float:
        """Simulated seconds of other users' work still ahead."""
        return max(0.0, self.model.backlog - self._elapsed())

    async def _wait_simulated(self, seconds: float) -> None:
        # Real seconds, in naps: a test's clock may jump.
        deadline = self._clock() + seconds / self.model.time_scale
        while (left := deadline - self._clock()) > 0:
            await self._sleep(min(left, _MAX_NAP))

    async def _wait_for_window(self, windows: list[dict[str, str]]) -> None:
        if not self.model.windows:
            return
        while True:
            now = self.now()
            opens = next_window_start(windows, now)
            if opens <= now:
                return
            await self._wait_simulated((opens - now).total_seconds())

    # Queues ----------------------------------------------------------------------------

    def submit(self, task: TaskRecord) -> None:
        """Queue a QPU task in its device's lane (Priority when it belongs to a job)."""
        if self._started_real is None:
            self._started_real = self._clock()
        lane = self._lanes.get(task.device_arn)
        if lane is None:
            lane = self._lanes[task.device_arn] = _Lane()
            lane.runner = asyncio.create_task(
                self._drive(task.device.execution_windows, lane),
                name=f"braket-local-qpu-lane-{task.device.name}",
            )
        (lane.priority if task.job_arn else lane.normal).append(task)
        lane.wake.set()

    @property
    def devices(self) -> frozenset[str]:
        """ARNs of the QPUs that have a lane (every QPU a task was sent to)."""
        return frozenset(self._lanes)

    def position(self, task: TaskRecord) -> int | None:
        """1-based place of a waiting task in its queue, or None if it is not waiting."""
        lane = self._lanes.get(task.device_arn)
        if lane is None:
            return None
        queue = lane.priority if task.job_arn else lane.normal
        waiting = [t for t in queue if not t.cancel_requested]
        try:
            return waiting.index(task) + 1
        except ValueError:
            return None

    def sizes(self, device_arn: str) -> tuple[int, int]:
        """(Normal, Priority) queue sizes of a device; Normal includes the backlog."""
        lane = self._lanes.get(device_arn)
        others = (
            math.ceil(self.backlog_left() / self.model.task_seconds)
            if self.model.task_seconds
            else 0
        )
        if lane is None:
            return others, 0
        normal = sum(1 for t in lane.normal if not t.cancel_requested)
        priority = sum(1 for t in lane.priority if not t.cancel_requested)
        return normal + others, priority

    async def _drive(self, windows: list[dict[str, str]], lane: _Lane) -> None:
        while True:
            if not any(not t.cancel_requested for t in (*lane.priority, *lane.normal)):
                lane.wake.clear()
                await lane.wake.wait()
                continue
            # The QPU is free: it starts the first task (Priority first) once the other users'
            # backlog has run and a window is open.
            await self._wait_simulated(self.backlog_left())
            await self._wait_for_window(windows)
            task = lane.pop()
            if task is None:
                continue
            self.started.append((task.arn, self.now()))
            duration = self.model.duration(task.shots) / self.model.time_scale
            await lane.slots.acquire()
            run: asyncio.Task[None] = asyncio.create_task(self._run(task, duration))
            lane.in_flight.add(run)
            run.add_done_callback(partial(_finished, lane))
            # The QPU is busy for the task's simulated duration, then takes the next one.
            await self._wait_simulated(self.model.duration(task.shots))

    async def close(self) -> None:
        """Stop the lanes and their simulations; queued tasks stay QUEUED."""
        pending = [
            job
            for lane in self._lanes.values()
            for job in (lane.runner, *lane.in_flight)
            if job is not None
        ]
        for job in pending:
            job.cancel()
        for job in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        self._lanes.clear()


def _finished(lane: _Lane, run: asyncio.Task[None]) -> None:
    lane.in_flight.discard(run)
    lane.slots.release()
