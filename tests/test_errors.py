"""The exception tree, the code registry, and wire errors mapped through the public API."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from _common import SV1
from _wire import Reply, WireServer, session_on_wire
from botocore.config import Config

from braket_async import BraketSession, RateLimits, errors
from braket_async._service_model import SERVICE_MODEL
from braket_async.local import FaultConfig, FaultSpec, LocalBraket
from braket_async.models import QuantumTask

NO_RETRIES = Config(retries={"total_max_attempts": 1})


# -- the tree --------------------------------------------------------------------------------


def test_every_modeled_service_error_has_a_class_with_its_status() -> None:
    modeled = {shape.name: shape.metadata["error"]["httpStatusCode"]
               for shape in SERVICE_MODEL.error_shapes}
    assert set(errors.SERVICE_ERRORS) == set(modeled)
    for code, status in modeled.items():
        cls = errors.error_class_for(code)
        assert cls.__name__ == code
        assert code == cls.CODE
        assert status == cls.HTTP_STATUS
        assert issubclass(cls, errors.ServiceError)
        assert errors.error_class_for_status(status) is cls


def test_unknown_codes_fall_back_to_service_error() -> None:
    assert errors.error_class_for("BrandNewException") is errors.ServiceError
    assert errors.error_class_for_status(418) is errors.ServiceError


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.ServiceError, errors.BraketError),
        (errors.ParameterError, errors.RequestNotSent),
        (errors.ParameterError, ValueError),
        (errors.InvalidArnError, errors.ParameterError),
        (errors.ConnectionFailed, errors.RequestNotSent),
        (errors.RequestNotSent, errors.BraketError),
        (errors.ResponseError, errors.BraketError),
        (errors.SessionStateError, RuntimeError),
        (errors.WaiterTimeout, TimeoutError),
        (errors.QuantumTaskFailed, errors.BraketError),
        (errors.JobCancelled, errors.BraketError),
        (errors.ResultNotAvailable, errors.BraketError),
        (errors.ConfigurationError, errors.BraketError),
    ],
)
def test_tree(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)
    assert child.__name__ in (errors.__doc__ or "")


def test_service_error_carries_everything_and_pickles() -> None:
    exc = errors.ValidationException(
        None, "bad program", 400, "rid-9", "CreateQuantumTask",
        reason="ProgramSetValidationFailed",
    )
    assert (exc.code, exc.message, exc.status_code, exc.request_id, exc.operation) == (
        "ValidationException", "bad program", 400, "rid-9", "CreateQuantumTask"
    )
    assert str(exc) == (
        "ValidationException in CreateQuantumTask (HTTP 400): bad program [request id rid-9]"
    )
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is errors.ValidationException
    assert clone.reason == "ProgramSetValidationFailed" and str(clone) == str(exc)


def test_parameter_error_names_field_and_rule() -> None:
    exc = errors.InvalidArnError("job_arn", "must be a job ARN", operation="GetJob")
    assert str(exc) == "invalid parameter 'job_arn' (GetJob): must be a job ARN"
    clone = pickle.loads(pickle.dumps(exc))
    assert (clone.field, clone.rule, clone.operation) == ("job_arn", "must be a job ARN", "GetJob")


def test_feature_errors() -> None:
    task = QuantumTask(
        quantum_task_arn="arn:t", status="FAILED", device_arn=SV1,  # type: ignore[arg-type]
        device_parameters="{}", shots=1, output_s3_bucket="b", output_s3_directory="d",
        created_at=datetime.now(UTC), failure_reason="too many qubits",
    )
    failed = errors.QuantumTaskFailed(task)
    assert failed.failure_reason == "too many qubits" and failed.task is task
    assert "too many qubits" in str(failed)
    timeout = errors.WaiterTimeout("arn:t", "RUNNING", 12.5)
    assert (timeout.arn, timeout.last_status, timeout.waited) == ("arn:t", "RUNNING", 12.5)
    assert pickle.loads(pickle.dumps(timeout)).waited == 12.5


# -- wire errors through the public API -----------------------------------------------------


@pytest.fixture
async def on_wire(wire: WireServer) -> AsyncIterator[BraketSession]:
    async with session_on_wire(wire, config=NO_RETRIES) as braket:
        yield braket


async def test_unknown_error_code_keeps_code_status_and_request_id(
    wire: WireServer, on_wire: BraketSession
) -> None:
    wire.reply = Reply(400, '{"message": "new kind of failure"}',
                       {"x-amzn-ErrorType": "BrandNewException", "x-amzn-RequestId": "rid-1"})
    with pytest.raises(errors.ServiceError) as info:
        await on_wire.get_device(SV1)
    exc = info.value
    assert type(exc) is errors.ServiceError
    assert (exc.code, exc.message, exc.status_code, exc.request_id, exc.operation) == (
        "BrandNewException", "new kind of failure", 400, "rid-1", "GetDevice"
    )


async def test_validation_exception_members(wire: WireServer, on_wire: BraketSession) -> None:
    wire.reply = Reply(
        400,
        '{"message": "bad set", "reason": "ProgramSetValidationFailed",'
        ' "programSetValidationFailures": [{"programIndex": 1, "inputsIndex": 0,'
        ' "errors": ["qubit out of range"]}]}',
        {"x-amzn-ErrorType": "ValidationException"},
    )
    with pytest.raises(errors.ValidationException) as info:
        await on_wire.get_device(SV1)
    assert info.value.reason == "ProgramSetValidationFailed"
    (failure,) = info.value.program_set_validation_failures
    assert (failure.program_index, failure.inputs_index, failure.errors) == (
        1, 0, ("qubit out of range",)
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, errors.InternalServiceException), (503, errors.ServiceError),
     (429, errors.ThrottlingException)],
)
async def test_bodiless_error_is_classified_by_status(
    wire: WireServer, on_wire: BraketSession, status: int, expected: type[errors.ServiceError]
) -> None:
    wire.reply = Reply(status, b"", {"Content-Type": "text/plain"})
    with pytest.raises(errors.ServiceError) as info:
        await on_wire.get_device(SV1)
    assert type(info.value) is expected
    assert info.value.status_code == status
    assert info.value.code == str(status)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"deviceArn": 5}'])
async def test_unusable_success_body_is_response_error(
    wire: WireServer, on_wire: BraketSession, body: bytes
) -> None:
    wire.reply = Reply(200, body)
    with pytest.raises(errors.ResponseError) as info:
        await on_wire.get_device(SV1)
    assert info.value.operation == "GetDevice"
    assert len(wire.requests) == 1


async def test_throttling_is_reported_to_the_rate_limiter(
    wire: WireServer, on_wire: BraketSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def record(operation: str, *, throttled: bool) -> None:
        if throttled:
            seen.append(operation)

    monkeypatch.setattr(on_wire.rate_limiter, "record_response", record)
    wire.reply = Reply(429, '{"message": "slow down"}', {"x-amzn-ErrorType": "ThrottlingException"})
    with pytest.raises(errors.ThrottlingException):
        await on_wire.get_device(SV1)
    assert seen == ["GetDevice"]


async def test_every_throttled_attempt_botocore_retries_reaches_the_rate_limiter(
    wire: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire.reply = Reply(429, '{"message": "slow down"}', {"x-amzn-ErrorType": "ThrottlingException"})
    async with BraketSession(
        endpoint_url=wire.url, region_name="us-east-1", aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"total_max_attempts": 3, "mode": "standard"}),
    ) as braket:
        seen: list[str] = []

        def record(operation: str, *, throttled: bool) -> None:
            if throttled:
                seen.append(operation)

        monkeypatch.setattr(braket.rate_limiter, "record_response", record)
        with pytest.raises(errors.ThrottlingException):
            await braket.get_device(SV1)
    assert len(wire.requests) == 3
    assert seen == ["GetDevice"] * 3


async def test_connection_refused_is_connection_failed() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with BraketSession(
        endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="a", aws_secret_access_key="b", config=NO_RETRIES,
    ) as braket:
        with pytest.raises(errors.ConnectionFailed) as info:
            await braket.get_device(SV1)
    assert isinstance(info.value, errors.RequestNotSent)
    assert info.value.endpoint_url == f"http://127.0.0.1:{port}"
    assert info.value.operation == "GetDevice"


# -- faults injected by the local service ---------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (FaultSpec(internal_error=1.0), errors.InternalServiceException),
        (FaultSpec(throttle=1.0), errors.ThrottlingException),
        (FaultSpec(drop_connection=1.0), errors.ResponseError),
    ],
)
async def test_local_service_faults_map_to_errors(
    local_braket: LocalBraket, spec: FaultSpec, expected: type[Exception]
) -> None:
    previous: Any = local_braket.faults
    local_braket.faults = FaultConfig(per_operation={"GetDevice": spec})
    try:
        async with BraketSession(
            endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing", config=NO_RETRIES,
            rate_limits=RateLimits.off(),
        ) as braket:
            with pytest.raises(expected):
                await braket.get_device(SV1)
    finally:
        local_braket.faults = previous


async def test_read_timeout_is_response_error_not_connection_failed(wire: WireServer) -> None:
    wire.reply = Reply(200, b"{}", delay=1.0)
    config = Config(retries={"total_max_attempts": 1}, read_timeout=0.1)
    async with session_on_wire(wire, config=config) as braket:
        with pytest.raises(errors.ResponseError) as info:
            await braket.get_device(SV1)
    assert not isinstance(info.value, errors.RequestNotSent)
    assert len(wire.requests) == 1  # the request did reach the server


async def test_unknown_operation_in_invoke(on_wire: BraketSession) -> None:
    with pytest.raises(errors.ParameterError) as info:
        await on_wire._invoke("GetEverything", {})
    assert info.value.field == "operation"
