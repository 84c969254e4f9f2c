"""An in-memory Braket service on a fake clock, for the tracker's scheduling tests."""

from __future__ import annotations

import asyncio
import heapq
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from _common import SV1

from braket_async import (
    QuantumTask,
    QuantumTaskFilter,
    QuantumTaskStatus,
    QuantumTaskSummary,
    ResourceNotFoundException,
    Telemetry,
    ThrottlingException,
)
from braket_async.models import SearchQuantumTasksPage
from braket_async.tracking import TaskTracker

DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"


def new_arn() -> str:
    return f"arn:aws:braket:us-east-1:123456789012:quantum-task/{uuid.uuid4()}"


# --------------------------------------------------------------------------- the fake


class FakeTask:
    def __init__(self, created: float, duration: float, device: str, status: str) -> None:
        self.created = created
        self.duration = duration
        self.device = device
        self.final = status


class FakeBraket:
    """An in-memory service on a fake clock: tasks finish ``duration`` after creation.

    ``epoch`` maps the fake clock to wall time, as the service's createdAt would be.
    Search answers filters like the service (AND of filters, OR of values), newest first.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.epoch = datetime.now(UTC)
        self.tasks: dict[str, FakeTask] = {}
        self.calls: Counter[str] = Counter()
        self.throttle_next = 0
        self.search_times: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._driver: asyncio.Task[None] | None = None

    # session surface ---------------------------------------------------------------------
    telemetry = Telemetry.off()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Virtual time: wake when every other coroutine is waiting too, in time order."""
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), self._seq, future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(50):  # let every runnable coroutine reach its next wait
                await asyncio.sleep(0)
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)

    def wall(self, t: float) -> datetime:
        return self.epoch + timedelta(seconds=t)

    def create(
        self,
        duration: float,
        *,
        device: str = SV1,
        status: str = "COMPLETED",
        at: float | None = None,
    ) -> str:
        arn = new_arn()
        self.tasks[arn] = FakeTask(self.now if at is None else at, duration, device, status)
        return arn

    def status(self, task: FakeTask) -> str:
        if self.now >= task.created + task.duration:
            return task.final
        return "QUEUED" if self.now < task.created + task.duration / 2 else "RUNNING"

    def _maybe_throttle(self, operation: str) -> None:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            raise ThrottlingException(message="Rate exceeded", status_code=429, operation=operation)

    async def get_quantum_task(self, quantum_task_arn: str) -> QuantumTask:
        self.calls["GetQuantumTask"] += 1
        await asyncio.sleep(0)
        self._maybe_throttle("GetQuantumTask")
        task = self.tasks.get(quantum_task_arn)
        if task is None:
            raise ResourceNotFoundException(message="no such task", status_code=404)
        status = self.status(task)
        return QuantumTask(
            quantum_task_arn=quantum_task_arn,
            status=QuantumTaskStatus(status),
            device_arn=task.device,
            device_parameters="{}",
            shots=100,
            output_s3_bucket="bucket",
            output_s3_directory=f"tasks/{quantum_task_arn[-36:]}",
            created_at=self.wall(task.created),
            failure_reason="bad program" if status == "FAILED" else None,
        )

    def _summary(self, arn: str, task: FakeTask) -> QuantumTaskSummary:
        return QuantumTaskSummary(
            quantum_task_arn=arn,
            status=QuantumTaskStatus(self.status(task)),
            device_arn=task.device,
            shots=100,
            output_s3_bucket="bucket",
            output_s3_directory=f"tasks/{arn[-36:]}",
            created_at=self.wall(task.created),
        )

    async def search_quantum_tasks(
        self,
        *,
        filters: Sequence[QuantumTaskFilter],
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchQuantumTasksPage:
        self.calls["SearchQuantumTasks"] += 1
        self.search_times.append(self.now)
        await asyncio.sleep(0)
        self._maybe_throttle("SearchQuantumTasks")
        matches = [
            self._summary(arn, task)
            for arn, task in reversed(self.tasks.items())  # newest first
            if all(self._match(f, arn, task) for f in filters)
        ]
        start = int(next_token or 0)
        size = max_results or 100
        page = matches[start : start + size]
        token = str(start + size) if start + size < len(matches) else None
        return SearchQuantumTasksPage(quantum_tasks=tuple(page), next_token=token)

    def _match(self, f: QuantumTaskFilter, arn: str, task: FakeTask) -> bool:
        if f.name == "createdAt":
            created = self.wall(task.created)
            low, high = (datetime.fromisoformat(v) for v in f.values)
            assert str(f.operator) == "BETWEEN"
            return low <= created <= high
        value = {"status": self.status(task), "deviceArn": task.device, "quantumTaskArn": arn}[
            f.name
        ]
        assert str(f.operator) == "EQUAL" and 1 <= len(f.values) <= 10
        return value in f.values


def naive_calls(fake: FakeBraket, arns: Sequence[str]) -> int:
    """GetQuantumTask calls a one-second-per-task poller makes (the official SDK)."""
    return sum(math.ceil(fake.tasks[a].duration) + 1 for a in arns)


async def feed(
    fake: FakeBraket, tracker: TaskTracker, durations: Sequence[float], rate: float
) -> list[str]:
    """Create tasks at ``rate`` per (fake) second and add each to the tracker."""
    arns = []
    for duration in durations:
        arn = fake.create(duration)
        tracker.add(arn, device_arn=SV1, just_created=True)
        arns.append(arn)
        await fake.sleep(1.0 / rate)
    tracker.seal()
    return arns
