"""Hybrid-job lifecycle in the local service: the job queue, :class:`JobControl`, and the
default runner.

The store keeps the job record (status, events, timestamps); a
:class:`~._jobseam.JobRunner` runs the job and reports through the :class:`StoreJobControl`
it is given. At most ``concurrency`` jobs run at once (the AWS quota is 3); later jobs wait
QUEUED, FIFO, with a ``QUEUED_FOR_EXECUTION`` event, like the service's job queue. The store
emits only that event (and ``CANCELLED`` for a job cancelled before it started); runners emit
everything from ``STARTING_INSTANCE`` on.

:class:`NoScriptJobRunner` is the default: it runs no script and walks a job through the
real event sequence (STARTING_INSTANCE, DOWNLOADING_DATA, RUNNING, UPLOADING_RESULTS,
COMPLETED) with ``step_delay`` seconds between steps. The hybrid-jobs runner
(``_jobs.ProcessJobRunner``) plugs into the same seam through ``LocalBraket(job_runner=...)``
or ``job_runner_factory``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ...models.enums import JobStatus

# One interruptible sleep for the package (polling owns it; it may become public there).
from ...polling import sleep_unless_stopped
from ..state._ledger import Ledger
from ..state._store import JOB_TERMINAL, JobEvent, JobRecord, utcnow
from ._jobseam import JobControl, JobRunner, JobSpec

__all__ = ["JobScheduler", "NoScriptJobRunner", "StoreJobControl"]

_log = logging.getLogger(__name__)

_STATUSES = frozenset(map(str, JobStatus))


class StoreJobControl:
    """The :class:`~._jobseam.JobControl` a runner gets for one job record."""

    def __init__(self, record: JobRecord) -> None:
        self._record = record

    def emit(self, event_type: str, message: str) -> None:
        """Append a JobEvent stamped now."""
        self._record.events.append(JobEvent(event_type, utcnow(), message))

    def set_status(self, status: str, *, failure_reason: str | None = None) -> None:
        """Move the job to ``status``; RUNNING stamps startedAt, terminal ones endedAt."""
        if status not in _STATUSES:
            raise ValueError(f"job status must be one of {sorted(_STATUSES)}, got {status!r}")
        record = self._record
        if record.terminal:
            return  # a late report after the job ended changes nothing
        if status == "RUNNING":
            if record.started_at is None:
                record.started_at = utcnow()
            if record.status == "CANCELLING":
                return  # keep answering CANCELLING until the runner ends the job
        if status in JOB_TERMINAL:
            record.ended_at = utcnow()
            if record.started_at is None:
                record.started_at = record.ended_at
            record.failure_reason = failure_reason
        record.status = status

    @property
    def cancel_requested(self) -> bool:
        """Whether CancelJob was called for this job."""
        return self._record.cancel_requested


class NoScriptJobRunner:
    """The default runner: the real event sequence, no script run.

    ``step_delay`` seconds pass between events (``sleep`` is injectable); cancellation is
    noticed at once.

    Args:
        step_delay: Seconds between events (>= 0).
        sleep: The sleep between events.

    Raises:
        ValueError: ``step_delay`` is negative.
    """

    def __init__(
        self,
        step_delay: float = 0.05,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if step_delay < 0:
            raise ValueError(f"step_delay must be >= 0 seconds, got {step_delay}")
        self.step_delay = step_delay
        self._sleep = sleep
        self._cancels: dict[str, asyncio.Event] = {}

    async def _step(self, job_arn: str) -> bool:
        """Wait one step; False when the job was cancelled meanwhile."""
        return await sleep_unless_stopped(self.step_delay, self._sleep, self._cancels[job_arn])

    async def run(self, job: JobSpec, control: JobControl) -> None:
        """Walk ``job`` through STARTING_INSTANCE ... COMPLETED (or CANCELLED).

        Args:
            job: The job's request and identity.
            control: Where the runner reports events and statuses.
        """
        arn = job.job_arn
        self._cancels.setdefault(arn, asyncio.Event())
        if control.cancel_requested:
            self._cancels[arn].set()
        steps: list[tuple[str, str, str | None]] = [
            ("STARTING_INSTANCE", "Provisioning job instance", "RUNNING"),
            ("DOWNLOADING_DATA", "Downloading input data", None),
            ("RUNNING", "Job is in progress (local service: no script was run)", None),
            ("UPLOADING_RESULTS", "Uploading job output to S3", None),
        ]
        try:
            for event_type, message, status in steps:
                if not await self._step(arn):
                    control.emit("CANCELLED", "Job cancelled")
                    control.set_status("CANCELLED")
                    return
                control.emit(event_type, message)
                if status is not None:
                    control.set_status(status)
            if not await self._step(arn):
                control.emit("CANCELLED", "Job cancelled")
                control.set_status("CANCELLED")
                return
            control.set_status("COMPLETED")
            control.emit("COMPLETED", "Job has completed")
        finally:
            self._cancels.pop(arn, None)

    async def cancel(self, job_arn: str) -> None:
        """Stop the job's walk at its next step.

        Args:
            job_arn: The job's ARN.
        """
        event = self._cancels.get(job_arn)
        if event is not None:
            event.set()


class JobScheduler:
    """Starts jobs on a :class:`~._jobseam.JobRunner`, at most ``concurrency`` at a time."""

    def __init__(self, runner: JobRunner, ledger: Ledger, *, concurrency: int | None = 3) -> None:
        self.runner = runner
        self.concurrency = concurrency
        self._ledger = ledger
        self._waiting: collections.deque[JobRecord] = collections.deque()
        self._running: dict[str, asyncio.Task[None]] = {}

    @property
    def waiting(self) -> int:
        """Jobs QUEUED waiting for a free slot."""
        return len(self._waiting)

    @property
    def full(self) -> bool:
        """Whether every slot is taken (a new job would wait)."""
        return self.concurrency is not None and len(self._running) >= self.concurrency

    def queue_position(self, job: JobRecord) -> int | None:
        """1-based position among waiting jobs, or None when not waiting."""
        for i, other in enumerate(self._waiting, start=1):
            if other is job:
                return i
        return None

    def submit(self, job: JobRecord) -> None:
        """Start ``job`` now if a slot is free, else queue it."""
        if self.full or self._waiting:
            StoreJobControl(job).emit("QUEUED_FOR_EXECUTION", "Job queued for execution")
            self._waiting.append(job)
            return
        self._start(job)

    def _start(self, job: JobRecord) -> None:
        self._running[job.job_arn] = asyncio.create_task(
            self._run(job), name=f"braket-local-job-{job.job_name}"
        )

    async def _run(self, job: JobRecord) -> None:
        control = StoreJobControl(job)
        try:
            await self.runner.run(job, control)
        except asyncio.CancelledError:
            if not job.terminal:
                control.emit("CANCELLED", "Job cancelled: the local service stopped")
                control.set_status("CANCELLED")
            raise
        except Exception as exc:
            _log.exception("local Braket: job runner failed for %s", job.job_arn)
            control.emit("FAILED", f"Job failed: {exc}")
            control.set_status("FAILED", failure_reason=f"InternalServiceError: {exc}")
        finally:
            if not job.terminal:
                if job.cancel_requested:
                    control.emit("CANCELLED", "Job cancelled")
                    control.set_status("CANCELLED")
                else:
                    control.set_status(
                        "FAILED", failure_reason="The job runner ended without a final status"
                    )
            self._running.pop(job.job_arn, None)
            self._start_waiting()

    def _start_waiting(self) -> None:
        while self._waiting and (self.concurrency is None or len(self._running) < self.concurrency):
            job = self._waiting.popleft()
            if not job.terminal:
                self._start(job)

    async def cancel(self, job: JobRecord) -> str:
        """Cancel ``job``; returns the cancellationStatus to answer."""
        if job.status in ("CANCELLING", "CANCELLED"):
            return job.status
        job.cancel_requested = True
        if job.job_arn not in self._running:
            # Still waiting for a slot: nothing runs, so it ends at once.
            with contextlib.suppress(ValueError):
                self._waiting.remove(job)
            control = StoreJobControl(job)
            control.emit("CANCELLED", "Job cancelled")
            control.set_status("CANCELLED")
            return "CANCELLED"
        job.status = "CANCELLING"
        await self.runner.cancel(job.job_arn)
        return "CANCELLING"

    async def close(self) -> None:
        """Stop every running job (they end CANCELLED) and forget waiting ones."""
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
