"""braket-async: the asyncio-native client for Amazon Braket.

::

    from braket_async import BraketSession, OpenQASMProgram

    async with BraketSession(region_name="us-east-1") as braket:
        arn = await braket.create_quantum_task(
            device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
            action=OpenQASMProgram("OPENQASM 3; qubit q; bit b; h q; b = measure q;"),
            shots=100, output_s3_bucket="my-bucket", output_s3_key_prefix="tasks",
        )
        task = await braket.get_quantum_task(arn)

Every model is in :mod:`braket_async.models`, every exception in :mod:`braket_async.errors`.
"""

from __future__ import annotations

from . import errors, models, programs
from ._session import BraketSession
from .errors import (
    AccessDeniedException,
    BraketError,
    ConfigurationError,
    ConflictException,
    ConnectionFailed,
    DeviceOfflineException,
    DeviceRetiredException,
    InternalServiceException,
    InvalidArnError,
    JobCancelled,
    JobFailed,
    ParameterError,
    QuantumTaskCancelled,
    QuantumTaskFailed,
    RequestNotSent,
    ResourceNotFoundException,
    ResponseError,
    ResultNotAvailable,
    ServiceError,
    ServiceQuotaExceededException,
    SessionStateError,
    ThrottlingException,
    ValidationException,
    WaiterTimeout,
)
from .models import (
    TERMINAL_JOB_STATUSES,
    TERMINAL_TASK_STATUSES,
    Device,
    DeviceFilter,
    DeviceStatus,
    DeviceSummary,
    DeviceType,
    Job,
    JobEvent,
    JobEventType,
    JobFilter,
    JobStatus,
    JobSummary,
    QuantumTask,
    QuantumTaskFilter,
    QuantumTaskStatus,
    QuantumTaskSummary,
    SpendingLimit,
    SpendingLimitFilter,
)
from .programs import OpenQASMProgram, gate_model_parameters
from .ratelimit import Rate, RateLimits

__version__ = "0.1.0"

__all__ = [
    "TERMINAL_JOB_STATUSES",
    "TERMINAL_TASK_STATUSES",
    "AccessDeniedException",
    "BraketError",
    "BraketSession",
    "ConfigurationError",
    "ConflictException",
    "ConnectionFailed",
    "Device",
    "DeviceFilter",
    "DeviceOfflineException",
    "DeviceRetiredException",
    "DeviceStatus",
    "DeviceSummary",
    "DeviceType",
    "InternalServiceException",
    "InvalidArnError",
    "Job",
    "JobCancelled",
    "JobEvent",
    "JobEventType",
    "JobFailed",
    "JobFilter",
    "JobStatus",
    "JobSummary",
    "OpenQASMProgram",
    "ParameterError",
    "QuantumTask",
    "QuantumTaskCancelled",
    "QuantumTaskFailed",
    "QuantumTaskFilter",
    "QuantumTaskStatus",
    "QuantumTaskSummary",
    "Rate",
    "RateLimits",
    "RequestNotSent",
    "ResourceNotFoundException",
    "ResponseError",
    "ResultNotAvailable",
    "ServiceError",
    "ServiceQuotaExceededException",
    "SessionStateError",
    "SpendingLimit",
    "SpendingLimitFilter",
    "ThrottlingException",
    "ValidationException",
    "WaiterTimeout",
    "__version__",
    "errors",
    "gate_model_parameters",
    "models",
    "programs",
]
