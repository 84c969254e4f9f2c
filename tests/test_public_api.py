"""The public surface: ``braket_async.__all__`` is pinned, and every exported name resolves."""

from __future__ import annotations

import importlib

import pytest

import braket_async

EXPECTED = {
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
}

OPERATIONS = {
    "cancel_job", "cancel_quantum_task", "create_job", "create_quantum_task", "get_device",
    "get_job", "get_quantum_task", "list_tags_for_resource", "search_devices", "search_jobs",
    "search_quantum_tasks", "tag_resource", "untag_resource", "create_spending_limit",
    "delete_spending_limit", "search_spending_limits", "update_spending_limit",
}


def test_all_is_pinned() -> None:
    assert set(braket_async.__all__) == EXPECTED
    assert len(braket_async.__all__) == len(set(braket_async.__all__))


def test_every_name_resolves() -> None:
    for name in braket_async.__all__:
        assert getattr(braket_async, name) is not None


@pytest.mark.parametrize(
    "module",
    ["braket_async.errors", "braket_async.models", "braket_async.programs",
     "braket_async.paginate", "braket_async._session", "braket_async._operations",
     "braket_async._converter", "braket_async._validate"],
)
def test_submodule_all_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_a_coroutine_per_operation_of_the_service_model() -> None:
    from botocore import xform_name

    from braket_async._service_model import SERVICE_MODEL

    assert {xform_name(op) for op in SERVICE_MODEL.operation_names} == OPERATIONS
    import inspect

    for name in OPERATIONS:
        method = getattr(braket_async.BraketSession, name)
        assert inspect.iscoroutinefunction(method), name
        assert method.__doc__, name


def test_session_pagination_surface() -> None:
    for name in ("can_paginate", "get_paginator", "iter_quantum_tasks", "iter_jobs",
                 "iter_devices", "iter_spending_limits"):
        assert callable(getattr(braket_async.BraketSession, name))
