"""Open string enums for the service's enumerated members.

"Open" means an unknown value (one the service added after this release) becomes a
pseudo-member instead of an error, so a new status never breaks a caller::

    >>> QuantumTaskStatus("PAUSED")
    <QuantumTaskStatus.PAUSED: 'PAUSED'>
    >>> QuantumTaskStatus("PAUSED").is_known
    False

Members are ``str`` subclasses: they compare, hash and serialise as their value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "TERMINAL_JOB_STATUSES",
    "TERMINAL_TASK_STATUSES",
    "AssociationType",
    "CancellationStatus",
    "CompressionType",
    "DeviceStatus",
    "DeviceType",
    "ExperimentalCapabilitiesEnablement",
    "FilterOperator",
    "HybridJobAdditionalAttributeName",
    "InstanceType",
    "JobEventType",
    "JobStatus",
    "OpenStrEnum",
    "QuantumTaskAdditionalAttributeName",
    "QuantumTaskStatus",
    "QueueName",
    "QueuePriority",
    "ValidationExceptionReason",
]


class OpenStrEnum(StrEnum):
    """A ``StrEnum`` that accepts unknown string values as pseudo-members."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        # Build the pseudo-member the way enum builds real ones, and cache it so the
        # same unknown value always maps to the same object.
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)

    @property
    def is_known(self) -> bool:
        """Whether this value was part of the service model when this release was built."""
        return self._name_ in type(self)._member_map_


class QuantumTaskStatus(OpenStrEnum):
    """Status of a quantum task (``QuantumTaskStatus``)."""

    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


class JobStatus(OpenStrEnum):
    """Primary status of a hybrid job (``JobPrimaryStatus``)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


class JobEventType(OpenStrEnum):
    """Type of a hybrid job event (``JobEventType``)."""

    WAITING_FOR_PRIORITY = "WAITING_FOR_PRIORITY"
    QUEUED_FOR_EXECUTION = "QUEUED_FOR_EXECUTION"
    STARTING_INSTANCE = "STARTING_INSTANCE"
    DOWNLOADING_DATA = "DOWNLOADING_DATA"
    RUNNING = "RUNNING"
    DEPRIORITIZED_DUE_TO_INACTIVITY = "DEPRIORITIZED_DUE_TO_INACTIVITY"
    UPLOADING_RESULTS = "UPLOADING_RESULTS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    MAX_RUNTIME_EXCEEDED = "MAX_RUNTIME_EXCEEDED"
    CANCELLED = "CANCELLED"


class DeviceStatus(OpenStrEnum):
    """Status of a device."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    RETIRED = "RETIRED"


class DeviceType(OpenStrEnum):
    """Kind of device."""

    QPU = "QPU"
    SIMULATOR = "SIMULATOR"


class CancellationStatus(OpenStrEnum):
    """Outcome of a cancel request."""

    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


class QueueName(OpenStrEnum):
    """The queue a queue position refers to."""

    QUANTUM_TASKS_QUEUE = "QUANTUM_TASKS_QUEUE"
    JOBS_QUEUE = "JOBS_QUEUE"


class QueuePriority(OpenStrEnum):
    """Priority of a queue."""

    NORMAL = "Normal"
    PRIORITY = "Priority"


class AssociationType(OpenStrEnum):
    """Kind of resource associated with a task or job."""

    RESERVATION_TIME_WINDOW_ARN = "RESERVATION_TIME_WINDOW_ARN"


class CompressionType(OpenStrEnum):
    """Compression of a hybrid job's script archive."""

    NONE = "NONE"
    GZIP = "GZIP"


class ExperimentalCapabilitiesEnablement(OpenStrEnum):
    """``ExperimentalCapabilitiesEnablementType``."""

    ALL = "ALL"
    NONE = "NONE"


class FilterOperator(OpenStrEnum):
    """Operators of the Search* filters (each operation accepts a subset)."""

    LT = "LT"
    LTE = "LTE"
    EQUAL = "EQUAL"
    GT = "GT"
    GTE = "GTE"
    BETWEEN = "BETWEEN"
    CONTAINS = "CONTAINS"


class QuantumTaskAdditionalAttributeName(OpenStrEnum):
    """Extra attributes GetQuantumTask can return."""

    QUEUE_INFO = "QueueInfo"


class HybridJobAdditionalAttributeName(OpenStrEnum):
    """Extra attributes GetJob can return."""

    QUEUE_INFO = "QueueInfo"


class ValidationExceptionReason(OpenStrEnum):
    """``ValidationException.reason``."""

    PROGRAM_SET_VALIDATION_FAILED = "ProgramSetValidationFailed"


class InstanceType(OpenStrEnum):
    """Hybrid job instance types (a few common ones; any model value is accepted)."""

    ML_T3_LARGE = "ml.t3.large"
    ML_T3_XLARGE = "ml.t3.xlarge"
    ML_M5_LARGE = "ml.m5.large"
    ML_M5_XLARGE = "ml.m5.xlarge"
    ML_M5_2XLARGE = "ml.m5.2xlarge"
    ML_C5_XLARGE = "ml.c5.xlarge"
    ML_P3_2XLARGE = "ml.p3.2xlarge"
    ML_G4DN_XLARGE = "ml.g4dn.xlarge"


TERMINAL_TASK_STATUSES: frozenset[QuantumTaskStatus] = frozenset(
    {QuantumTaskStatus.COMPLETED, QuantumTaskStatus.FAILED, QuantumTaskStatus.CANCELLED}
)
"""Task statuses after which nothing changes."""
TERMINAL_JOB_STATUSES: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
"""Job statuses after which nothing changes."""
