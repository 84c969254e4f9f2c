"""The seam between the local service's job bookkeeping and whatever runs a job.

The store owns job records and the event log; a :class:`JobRunner` runs one job and reports
through :class:`JobControl`. The default runner (``_store``/``_server``) runs no script; the
process runner (``_jobs.ProcessJobRunner``) runs the job's script as a subprocess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["JobControl", "JobRunner", "JobSpec"]


class JobSpec(Protocol):
    """What a runner may read of a job (a read-only view of the store's record)."""

    @property
    def job_arn(self) -> str: ...
    @property
    def job_name(self) -> str: ...
    @property
    def job_token(self) -> str:
        """Tasks created with this ``jobToken`` carry the job's ARN."""
        ...

    @property
    def request(self) -> Mapping[str, Any]:
        """The CreateJob request body as received (wire camelCase)."""
        ...


class JobControl(Protocol):
    """How a runner reports progress; the store keeps status, events and timestamps."""

    def emit(self, event_type: str, message: str) -> None:
        """Append a JobEvent (``JobEventType`` value) with the current time.

        Args:
            event_type: The ``JobEventType`` value.
            message: The event's message.
        """
        ...

    def set_status(self, status: str, *, failure_reason: str | None = None) -> None:
        """Move the job to ``status`` (``JobPrimaryStatus``); RUNNING sets startedAt, terminal
        statuses set endedAt and billableDuration.

        Args:
            status: The ``JobPrimaryStatus`` value.
            failure_reason: Why the job failed, for FAILED.
        """
        ...

    @property
    def cancel_requested(self) -> bool: ...


class JobRunner(Protocol):
    """Runs jobs. ``run`` returns when the job is terminal; it is the runner's job to emit the
    event sequence and set the final status."""

    async def run(self, job: JobSpec, control: JobControl) -> None:
        """Run ``job`` until it is terminal, reporting through ``control``.

        Args:
            job: The job's request and identity.
            control: Where the runner reports events and statuses.
        """
        ...

    async def cancel(self, job_arn: str) -> None:
        """Stop the job's work now; ``run`` then finishes with CANCELLED.

        Args:
            job_arn: The job's ARN.
        """
        ...
