"""Quantum-task lifecycle: CREATED -> QUEUED -> RUNNING -> COMPLETED | FAILED, and cancels.

One FIFO queue and a fixed pool of worker coroutines (as many as the concurrent-task quota,
100 on AWS) drive every task; there is no asyncio task per quantum task, so thousands queued
cost only their records. A worker takes the oldest task, keeps it QUEUED for at least
``queue_delay`` seconds since it was queued, moves it to RUNNING, runs it on the
:class:`~._executor.SimulatorExecutor` (worker processes) and keeps it RUNNING for at least
``run_delay``; then it writes ``results.json`` to ``{outputS3Directory}/results.json`` through
the :class:`~._s3.ObjectStore` and ends COMPLETED, or ends FAILED with the executor's reason.

With a QPU queue model (``qpu_queue``, ``_qpu_queue``), QPU tasks skip the pool: each QPU's
lane runs them one at a time inside the device's execution windows, Priority (job) tasks first,
and a RUNNING QPU task cannot be cancelled (409 ConflictException).

Cancelling a CREATED or QUEUED task goes CANCELLING and then CANCELLED on the next loop
iteration; a RUNNING task goes CANCELLING and ends CANCELLED (no results written) as soon as its
executor call is cancelled, which stops the simulation (its worker process is killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ._devices import LocalDevice
from ._errors import Conflict
from ._executor import ExecutionOutcome, ExecutionRequest
from ._ledger import Ledger
from ._program_sets import result_objects, successful_shots
from ._qpu_queue import QpuLanes, QpuQueue
from ._store import TaskRecord

__all__ = ["Executor", "ResultWriter", "TaskScheduler"]

_log = logging.getLogger(__name__)

#: Worker coroutines when the concurrent-task quota is off; the executor has only a few
#: processes anyway, so more would only wait.
UNBOUNDED_WORKERS = 256


class Executor(Protocol):
    """What the scheduler needs of :class:`~._executor.SimulatorExecutor`."""

    async def run(self, req: ExecutionRequest) -> ExecutionOutcome: ...


class ResultWriter(Protocol):
    """What the scheduler needs of :class:`~._s3.ObjectStore`."""

    async def put_json(self, bucket: str, key: str, doc: Any) -> None: ...


class TaskScheduler:
    """Moves tasks through their lifecycle with a bounded pool of worker coroutines."""

    def __init__(
        self,
        executor: Executor,
        results: ResultWriter,
        ledger: Ledger,
        *,
        concurrency: int | None = 100,
        queue_delay: float = 0.0,
        run_delay: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        qpu_queue: QpuQueue | None = None,
    ) -> None:
        if queue_delay < 0 or run_delay < 0:
            raise ValueError("queue_delay and run_delay must be >= 0 seconds")
        self._executor = executor
        self._results = results
        self._ledger = ledger
        self._workers_wanted = concurrency or UNBOUNDED_WORKERS
        self.queue_delay = queue_delay
        self.run_delay = run_delay
        self._sleep = sleep
        self._clock = clock
        self._queue: asyncio.Queue[TaskRecord] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._enqueued = 0
        self._dequeued = 0
        self._running = 0
        #: The executor call of each RUNNING task, so that a cancel can stop it.
        self._runs: dict[str, asyncio.Future[ExecutionOutcome]] = {}
        #: QUEUED (not yet taken) tasks per device ARN, for deviceQueueInfo.
        self.queued_per_device: Counter[str] = Counter()
        self.qpu_queue = qpu_queue
        self._lanes: QpuLanes | None = None

    @property
    def running(self) -> int:
        """Tasks RUNNING (or CANCELLING while running) now."""
        return self._running

    def start(self) -> None:
        """Start the worker coroutines (idempotent)."""
        if self.qpu_queue is not None and self._lanes is None:
            self._lanes = QpuLanes(
                self.qpu_queue, self._run_on_qpu, sleep=self._sleep, clock=self._clock
            )
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._worker(), name=f"braket-local-task-worker-{i}")
                for i in range(self._workers_wanted)
            ]

    @property
    def lanes(self) -> QpuLanes | None:
        """The QPU lanes (None without a queue model)."""
        return self._lanes

    async def close(self) -> None:
        """Stop the workers; tasks still queued or running stay as they are."""
        if self._lanes is not None:
            await self._lanes.close()
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def reset(self) -> None:
        """Drop every queued task and stop every running one (their simulations are
        cancelled), then start afresh with an empty queue."""
        await self.close()
        self._queue = asyncio.Queue()
        self._enqueued = self._dequeued = self._running = 0
        self._runs.clear()
        self.queued_per_device.clear()
        self.start()

    def submit(self, task: TaskRecord) -> None:
        """Accept a new CREATED task; it becomes QUEUED on the next loop iteration."""
        task.queue_index = self._enqueued
        task.queued_at_mono = self._clock()
        self._enqueued += 1
        if self._lanes is not None and task.device.is_qpu:
            self._lanes.submit(task)
        else:
            self.queued_per_device[task.device_arn] += 1
            self._queue.put_nowait(task)
        asyncio.get_running_loop().call_soon(self._mark_queued, task)

    @staticmethod
    def _mark_queued(task: TaskRecord) -> None:
        if task.status == "CREATED":
            task.status = "QUEUED"

    def queue_position(self, task: TaskRecord) -> int:
        """1-based FIFO position of a task still waiting (cancelled ones ahead still count;
        on a QPU lane, the place in its Normal or Priority queue)."""
        if self._lanes is not None and task.device.is_qpu:
            return self._lanes.position(task) or 1
        return max(1, task.queue_index - self._dequeued + 1)

    def queue_sizes(self, device: LocalDevice) -> tuple[int, int]:
        """(Normal, Priority) QUEUED tasks of a device, for deviceQueueInfo."""
        if self._lanes is not None and device.is_qpu:
            return self._lanes.sizes(device.arn)
        return self.queued_per_device.get(device.arn, 0), 0

    def cancel(self, task: TaskRecord) -> str:
        """Request cancellation; returns the cancellationStatus to answer."""
        if task.status in ("CANCELLED",):
            return "CANCELLED"
        if task.status == "CANCELLING":
            return "CANCELLING"
        task.cancel_requested = True
        if task.status in ("CREATED", "QUEUED"):
            task.status = "CANCELLING"
            asyncio.get_running_loop().call_soon(self._finish_cancel, task)
        else:
            if self._lanes is not None and task.device.is_qpu:
                task.cancel_requested = False
                raise Conflict(
                    f"Quantum task {task.arn} is {task.status} on a QPU and can no longer be "
                    "cancelled"
                )
            task.status = "CANCELLING"
            run = self._runs.get(task.arn)
            if run is not None:
                run.cancel()
        return "CANCELLING"

    def _finish_cancel(self, task: TaskRecord) -> None:
        # Scheduled only for tasks cancelled before RUNNING; a worker never starts those.
        if task.status == "CANCELLING":
            self._cancelled(task)

    def _cancelled(self, task: TaskRecord) -> None:
        if not task.terminal:
            task.finish("CANCELLED")
            self._ledger.tasks_cancelled += 1

    async def _worker(self) -> None:
        while True:
            task = await self._queue.get()
            self._dequeued += 1
            self.queued_per_device[task.device_arn] -= 1
            try:
                await self._run_one(task)
            except Exception:  # one bad task must not stop the worker
                _log.exception("local Braket: task %s crashed its worker", task.arn)
                if not task.terminal:
                    task.finish("FAILED", "InternalServiceError: the local service failed")
                    self._ledger.tasks_failed += 1

    async def _run_on_qpu(self, task: TaskRecord, duration: float) -> None:
        """Run a task a QPU lane started: it holds the QPU (RUNNING) for ``duration`` s."""
        try:
            await self._run_one(task, run_at_least=duration)
        except Exception:
            _log.exception("local Braket: task %s crashed its QPU lane", task.arn)
            if not task.terminal:
                task.finish("FAILED", "InternalServiceError: the local service failed")
                self._ledger.tasks_failed += 1

    async def _run_one(self, task: TaskRecord, run_at_least: float | None = None) -> None:
        if task.cancel_requested:
            self._cancelled(task)
            return
        wait = task.queued_at_mono + self.queue_delay - self._clock()
        if wait > 0:
            await self._sleep(wait)
        if task.cancel_requested:
            self._cancelled(task)
            return
        self._mark_queued(task)  # a worker faster than call_soon must not skip QUEUED
        task.status = "RUNNING"
        started = self._clock()
        self._running += 1
        try:
            run = asyncio.ensure_future(
                self._executor.run(
                    ExecutionRequest(
                        task_arn=task.arn,
                        device=task.device,
                        action=task.action,
                        device_parameters=task.device_parameters,
                        shots=task.shots,
                        created_at=task.created_at,
                    )
                )
            )
            self._runs[task.arn] = run
            try:
                outcome = await run
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if (
                    run.cancelled()
                    and task.cancel_requested
                    and not (current is not None and current.cancelling())
                ):
                    self._cancelled(task)  # cancel() stopped the simulation
                    return
                raise
            finally:
                del self._runs[task.arn]
            held = self.run_delay if run_at_least is None else run_at_least
            left = started + held - self._clock()
            if left > 0:
                await self._sleep(left)
            if task.cancel_requested:
                self._cancelled(task)
                return
            await self._settle(task, outcome)
        finally:
            self._running -= 1

    async def _settle(self, task: TaskRecord, outcome: ExecutionOutcome) -> None:
        if outcome.status != "COMPLETED" or outcome.result is None:
            task.finish("FAILED", outcome.failure_reason or "The quantum task failed")
            self._ledger.tasks_failed += 1
            return
        key = f"{task.output_s3_directory}/results.json"
        try:
            # A program set's result spreads over several objects (results.json last).
            objects = await result_objects(
                outcome.result, task.output_s3_bucket, task.output_s3_directory, outcome.result_json
            )
            for object_key, body in objects:
                key = object_key
                await self._results.put_json(task.output_s3_bucket, object_key, body)
        except Exception as exc:  # the bucket may have gone since creation
            _log.warning(
                "local Braket: writing s3://%s/%s failed: %r", task.output_s3_bucket, key, exc
            )
            task.finish(
                "FAILED",
                f"Failed to write results to s3://{task.output_s3_bucket}/{key}: {exc}",
            )
            self._ledger.tasks_failed += 1
            return
        task.num_successful_shots = successful_shots(outcome.result, task.shots)
        task.finish("COMPLETED")
        self._ledger.tasks_completed += 1
