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
from ._version import __version__
from .batch import Batch, BatchItemState, BatchOptions, BatchOutcome, BatchProgress, TaskRequest
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
    ItemNotSubmitted,
    JobCancelled,
    JobFailed,
    ParameterError,
    PickledResultError,
    QuantumTaskCancelled,
    QuantumTaskFailed,
    RequestNotSent,
    ResourceNotFoundException,
    ResponseError,
    ResultKindError,
    ResultNotAvailable,
    ServiceError,
    ServiceQuotaExceededException,
    SessionStateError,
    ThrottlingException,
    ValidationException,
    WaiterTimeout,
)
from .jobs import LogLine
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
from .models.ahs_results import AnalogHamiltonianSimulationResult
from .models.program_set_results import ProgramSetResult
from .models.results import GateModelResult
from .polling import PollPolicy, RetryBudget
from .programs import OpenQASMProgram, gate_model_parameters
from .ratelimit import Adaptive, Rate, RateLimiter, RateLimits
from .telemetry import Telemetry
from .tracking import SweepPolicy, TaskTracker, TrackerOptions, TrackerStats
from .waiters import BraketWaiter, JobEventGap

__all__ = [
    "TERMINAL_JOB_STATUSES",
    "TERMINAL_TASK_STATUSES",
    "AccessDeniedException",
    "Adaptive",
    "AnalogHamiltonianSimulationResult",
    "Batch",
    "BatchItemState",
    "BatchOptions",
    "BatchOutcome",
    "BatchProgress",
    "BraketError",
    "BraketSession",
    "BraketWaiter",
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
    "GateModelResult",
    "InternalServiceException",
    "InvalidArnError",
    "ItemNotSubmitted",
    "Job",
    "JobCancelled",
    "JobEvent",
    "JobEventGap",
    "JobEventType",
    "JobFailed",
    "JobFilter",
    "JobStatus",
    "JobSummary",
    "LogLine",
    "OpenQASMProgram",
    "ParameterError",
    "PickledResultError",
    "PollPolicy",
    "ProgramSetResult",
    "QuantumTask",
    "QuantumTaskCancelled",
    "QuantumTaskFailed",
    "QuantumTaskFilter",
    "QuantumTaskStatus",
    "QuantumTaskSummary",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "RequestNotSent",
    "ResourceNotFoundException",
    "ResponseError",
    "ResultKindError",
    "ResultNotAvailable",
    "RetryBudget",
    "ServiceError",
    "ServiceQuotaExceededException",
    "SessionStateError",
    "SpendingLimit",
    "SpendingLimitFilter",
    "SweepPolicy",
    "TaskRequest",
    "TaskTracker",
    "Telemetry",
    "ThrottlingException",
    "TrackerOptions",
    "TrackerStats",
    "ValidationException",
    "WaiterTimeout",
    "__version__",
    "errors",
    "gate_model_parameters",
    "models",
    "programs",
]
