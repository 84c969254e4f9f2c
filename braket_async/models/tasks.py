"""Quantum task models (GetQuantumTask, SearchQuantumTasks, CancelQuantumTask)."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any, overload

import attrs

from .common import Association, ExperimentalCapabilities, _parse_json_object
from .enums import (
    TERMINAL_TASK_STATUSES,
    CancellationStatus,
    QuantumTaskStatus,
    QueueName,
    QueuePriority,
)

__all__ = [
    "ActionMetadata",
    "QuantumTask",
    "QuantumTaskCancellation",
    "QuantumTaskQueueInfo",
    "QuantumTaskSummary",
]


@attrs.frozen
class QuantumTaskQueueInfo:
    """Where a task stands in its device's queue (``additional_attribute_names=["QueueInfo"]``)."""

    queue: QueueName
    position: str
    queue_priority: QueuePriority | None = None
    message: str | None = None


@attrs.frozen
class ActionMetadata:
    """What kind of action a task ran, and how many programs/executables it held."""

    action_type: str
    program_count: int | None = None
    executable_count: int | None = None


@attrs.frozen
class QuantumTask:
    """A quantum task as returned by GetQuantumTask.

    ``device_parameters`` is the wire JSON string; ``device_parameters_json`` is it parsed.
    """

    quantum_task_arn: str
    status: QuantumTaskStatus
    device_arn: str
    device_parameters: str
    shots: int
    output_s3_bucket: str
    output_s3_directory: str
    created_at: datetime
    failure_reason: str | None = None
    ended_at: datetime | None = None
    tags: dict[str, str] = attrs.field(factory=dict)
    job_arn: str | None = None
    queue_info: QuantumTaskQueueInfo | None = None
    associations: tuple[Association, ...] = ()
    num_successful_shots: int | None = None
    action_metadata: ActionMetadata | None = None
    experimental_capabilities: ExperimentalCapabilities | None = None

    @cached_property
    def device_parameters_json(self) -> dict[str, Any]:
        """``device_parameters`` parsed (an empty dict when the string is empty)."""
        return _parse_json_object(self.device_parameters)

    @property
    def is_terminal(self) -> bool:
        """Whether the task reached COMPLETED, FAILED or CANCELLED."""
        return self.status in TERMINAL_TASK_STATUSES

    @property
    def results_uri(self) -> str:
        """``s3://bucket/directory/results.json``: where the service writes the result."""
        return f"s3://{self.output_s3_bucket}/{self.output_s3_directory}/results.json"


@attrs.frozen
class QuantumTaskSummary:
    """One quantum task of a SearchQuantumTasks page."""

    quantum_task_arn: str
    status: QuantumTaskStatus
    device_arn: str
    shots: int
    output_s3_bucket: str
    output_s3_directory: str
    created_at: datetime
    ended_at: datetime | None = None
    tags: dict[str, str] = attrs.field(factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the task reached COMPLETED, FAILED or CANCELLED."""
        return self.status in TERMINAL_TASK_STATUSES

    @overload
    @classmethod
    def view_of(cls, source: QuantumTask) -> QuantumTaskSummary: ...
    @overload
    @classmethod
    def view_of(cls, source: object) -> QuantumTaskSummary | None: ...
    @classmethod
    def view_of(cls, source: object) -> QuantumTaskSummary | None:
        """The summary view of a fuller record whose attributes share the summary's names
        (a :class:`QuantumTask`, a task state-change event); None when it lacks a field
        the summary requires. Fields it lacks that have a default keep the default.

        Args:
            source: The fuller record.

        Returns:
            The summary, or None.
        """
        values: dict[str, Any] = {}
        for field in _SUMMARY_FIELDS:
            value = getattr(source, field.name, None)
            if value is not None:
                # a copy: the two frozen models must not share one mutable dict (tags)
                values[field.name] = dict(value) if isinstance(value, dict) else value
            elif field.default is attrs.NOTHING:
                return None
        return cls(**values)


_SUMMARY_FIELDS = attrs.fields(QuantumTaskSummary)


@attrs.frozen
class QuantumTaskCancellation:
    """The answer to CancelQuantumTask."""

    quantum_task_arn: str
    cancellation_status: CancellationStatus
