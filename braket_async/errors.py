"""The exceptions raised by braket-async.

Every exception derives from :class:`BraketError`::

    BraketError
    ├── ServiceError                      the service answered with an error
    │   ├── ValidationException           400 (reason, program_set_validation_failures)
    │   ├── ServiceQuotaExceededException 402
    │   ├── AccessDeniedException         403
    │   ├── ResourceNotFoundException     404
    │   ├── ConflictException             409
    │   ├── DeviceRetiredException        410
    │   ├── DeviceOfflineException        424
    │   ├── ThrottlingException           429
    │   └── InternalServiceException      500
    ├── RequestNotSent                    nothing reached the service
    │   ├── ParameterError                a parameter broke a rule (also a ValueError)
    │   │   └── InvalidArnError           a malformed ARN
    │   └── ConnectionFailed              the endpoint could not be reached
    ├── ResponseError                     a response arrived but could not be used
    ├── ConfigurationError                no region, unknown profile, no credentials
    ├── SessionStateError                 session not open, closed, or used from another loop
    ├── WaiterTimeout                     a waiter gave up before a terminal state
    ├── QuantumTaskFailed                 a waited-for task ended FAILED
    ├── QuantumTaskCancelled              a waited-for task ended CANCELLED
    ├── JobFailed                         a waited-for job ended FAILED
    ├── JobCancelled                      a waited-for job ended CANCELLED
    ├── ResultNotAvailable                no result (yet) for a task or job
    ├── ResultKindError                   a result is not the kind asked for (also a TypeError)
    ├── PickledResultError                job results are pickled and unpickling was not allowed
    └── ItemNotSubmitted                  a batch item was never sent (cancelled, fail_fast)

Service errors are looked up by their wire code (:func:`error_class_for`); a code this
release does not know becomes a plain :class:`ServiceError` that keeps the code. An error
with no code at all (a bare 5xx from a proxy) is classified by its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._service_model import ERROR_CODES, error_status
from .models.common import ProgramSetValidationFailure

if TYPE_CHECKING:
    from .models.jobs import Job
    from .models.tasks import QuantumTask

__all__ = [
    "SERVICE_ERRORS",
    "AccessDeniedException",
    "BraketError",
    "ConfigurationError",
    "ConflictException",
    "ConnectionFailed",
    "DeviceOfflineException",
    "DeviceRetiredException",
    "InternalServiceException",
    "InvalidArnError",
    "ItemNotSubmitted",
    "JobCancelled",
    "JobFailed",
    "ParameterError",
    "PickledResultError",
    "QuantumTaskCancelled",
    "QuantumTaskFailed",
    "RequestNotSent",
    "ResourceNotFoundException",
    "ResponseError",
    "ResultKindError",
    "ResultNotAvailable",
    "ServiceError",
    "ServiceQuotaExceededException",
    "SessionStateError",
    "ThrottlingException",
    "ValidationException",
    "WaiterTimeout",
    "error_class_for",
    "error_class_for_status",
]


class BraketError(Exception):
    """Root of every braket-async exception."""


class ServiceError(BraketError):
    """The service answered with an error.

    ``code`` is the wire error code (``x-amzn-ErrorType``), ``status_code`` the HTTP status,
    ``request_id`` the service's request id and ``operation`` the model name of the call
    (e.g. ``"GetQuantumTask"``).

    Args:
        code: The wire error code (default: the class's ``CODE``, else ``"Unknown"``).
        message: The service's message.
        status_code: The HTTP status.
        request_id: The service's request id.
        operation: The operation's model name.
    """

    #: The wire code of the class (``""`` on :class:`ServiceError` itself).
    CODE: str = ""
    #: The HTTP status the service model gives the code (``None`` on :class:`ServiceError`);
    #: a subclass that sets a ``CODE`` of the model gets it from the model, here, once.
    HTTP_STATUS: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "CODE" in vars(cls) and "HTTP_STATUS" not in vars(cls) and cls.CODE in ERROR_CODES:
            cls.HTTP_STATUS = error_status(cls.CODE)

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        status_code: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.code = code or self.CODE or "Unknown"
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.operation = operation
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" in {self.operation}" if self.operation else ""
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.code}{where}{status}: {self.message}{rid}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only extras (ValidationException) travel in the state dict.
        args = (self.code, self.message, self.status_code, self.request_id, self.operation)
        return (type(self), args, self.__dict__.copy())


class ValidationException(ServiceError):
    """The service rejected the request as invalid (400).

    ``reason`` is set for program sets (``"ProgramSetValidationFailed"``) with the failing
    programs in ``program_set_validation_failures``.

    Args:
        code: The wire error code (default: ``"ValidationException"``).
        message: The service's message.
        status_code: The HTTP status.
        request_id: The service's request id.
        operation: The operation's model name.
        reason: The validation's reason code, if the service gave one.
        program_set_validation_failures: The failing programs of a program set.
    """

    CODE = "ValidationException"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        status_code: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        *,
        reason: str | None = None,
        program_set_validation_failures: Sequence[ProgramSetValidationFailure] = (),
    ) -> None:
        self.reason = reason
        self.program_set_validation_failures = tuple(program_set_validation_failures)
        super().__init__(code, message, status_code, request_id, operation)


class ServiceQuotaExceededException(ServiceError):
    """A service quota (e.g. concurrent tasks or jobs) is exhausted (402)."""

    CODE = "ServiceQuotaExceededException"


class AccessDeniedException(ServiceError):
    """The caller may not perform the operation (403)."""

    CODE = "AccessDeniedException"


class ResourceNotFoundException(ServiceError):
    """The task, job, device, spending limit or tagged resource does not exist (404)."""

    CODE = "ResourceNotFoundException"


class ConflictException(ServiceError):
    """The request conflicts with the resource's state, e.g. a reused client token (409)."""

    CODE = "ConflictException"


class DeviceRetiredException(ServiceError):
    """The device is retired (410)."""

    CODE = "DeviceRetiredException"


class DeviceOfflineException(ServiceError):
    """The device is offline (424)."""

    CODE = "DeviceOfflineException"


class ThrottlingException(ServiceError):
    """The service throttled the request after the client's retries (429)."""

    CODE = "ThrottlingException"


class InternalServiceException(ServiceError):
    """The service failed (500)."""

    CODE = "InternalServiceException"


_MODELED: tuple[type[ServiceError], ...] = (
    ValidationException,
    ServiceQuotaExceededException,
    AccessDeniedException,
    ResourceNotFoundException,
    ConflictException,
    DeviceRetiredException,
    DeviceOfflineException,
    ThrottlingException,
    InternalServiceException,
)
SERVICE_ERRORS: Mapping[str, type[ServiceError]] = {cls.CODE: cls for cls in _MODELED}
"""Wire code -> exception class, for every error of Braket's service model."""
_BY_STATUS: Mapping[int, type[ServiceError]] = {
    cls.HTTP_STATUS: cls for cls in _MODELED if cls.HTTP_STATUS is not None
}


def error_class_for(code: str) -> type[ServiceError]:
    """The exception class for a wire error code (:class:`ServiceError` if unknown).

    Args:
        code: The wire error code.

    Returns:
        The exception class.
    """
    return SERVICE_ERRORS.get(code, ServiceError)


def error_class_for_status(status: int) -> type[ServiceError]:
    """The modeled exception class for an HTTP status, for errors that arrive without a code
    (:class:`ServiceError` if none matches).

    Args:
        status: The HTTP status.

    Returns:
        The exception class.
    """
    return _BY_STATUS.get(status, ServiceError)


class RequestNotSent(BraketError):
    """Nothing reached the service; retrying cannot create a duplicate."""


class ParameterError(RequestNotSent, ValueError):
    """A parameter broke a rule the client can check before sending.

    ``field`` is the snake_case path of the parameter (``instance_config.volume_size_in_gb``,
    ``associations[0].arn``); ``rule`` says what was expected.

    Args:
        field: The parameter's snake_case path.
        rule: What was expected.
        operation: The operation's model name, if known.
    """

    def __init__(self, field: str, rule: str, *, operation: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.operation = operation
        where = f" ({operation})" if operation else ""
        super().__init__(f"invalid parameter {field!r}{where}: {rule}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.rule), {"operation": self.operation})


class InvalidArnError(ParameterError):
    """An ARN parameter is malformed or names the wrong kind of resource."""


class ConnectionFailed(RequestNotSent):
    """The endpoint could not be reached (refused, DNS, connect timeout).

    Args:
        message: What failed.
        endpoint_url: The endpoint that could not be reached.
        operation: The operation's model name, if known.
    """

    def __init__(
        self, message: str, *, endpoint_url: str | None = None, operation: str | None = None
    ) -> None:
        self.endpoint_url = endpoint_url
        self.operation = operation
        super().__init__(message)


class ResponseError(BraketError):
    """A response arrived (or started to) but could not be used: malformed or truncated body,
    read timeout, or a shape the client cannot read. The request may have taken effect.

    Args:
        message: What was wrong with the response.
        operation: The operation's model name, if known.
    """

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        self.operation = operation
        super().__init__(message)


class ConfigurationError(BraketError):
    """The session cannot be configured: no region, unknown profile, no credentials."""


class SessionStateError(BraketError, RuntimeError):
    """The session is not open, already closed, or used from another event loop."""


class WaiterTimeout(BraketError, TimeoutError):
    """A waiter stopped before ``arn`` reached a terminal state.

    Args:
        arn: The task's or job's ARN.
        last_status: The last status seen, if any.
        waited: Seconds waited.
    """

    def __init__(self, arn: str, last_status: str | None, waited: float) -> None:
        self.arn = arn
        self.last_status = last_status
        self.waited = waited
        super().__init__(
            f"gave up waiting for {arn} after {waited:.1f}s (last status: {last_status})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.arn, self.last_status, self.waited))


class QuantumTaskFailed(BraketError):
    """A waited-for quantum task ended FAILED; ``task`` holds the final state.

    Args:
        task: The task's final state.
        failure_reason: The failure's reason (default: the task's ``failure_reason``).
    """

    def __init__(self, task: QuantumTask, failure_reason: str | None = None) -> None:
        self.task = task
        self.failure_reason = failure_reason if failure_reason is not None else task.failure_reason
        super().__init__(f"quantum task {task.quantum_task_arn} failed: {self.failure_reason}")


class QuantumTaskCancelled(BraketError):
    """A waited-for quantum task ended CANCELLED.

    Args:
        task: The task's final state.
    """

    def __init__(self, task: QuantumTask) -> None:
        self.task = task
        super().__init__(f"quantum task {task.quantum_task_arn} was cancelled")


class JobFailed(BraketError):
    """A waited-for hybrid job ended FAILED; ``job`` holds the final state.

    Args:
        job: The job's final state.
        failure_reason: The failure's reason (default: the job's ``failure_reason``).
    """

    def __init__(self, job: Job, failure_reason: str | None = None) -> None:
        self.job = job
        self.failure_reason = failure_reason if failure_reason is not None else job.failure_reason
        super().__init__(f"job {job.job_arn} failed: {self.failure_reason}")


class JobCancelled(BraketError):
    """A waited-for hybrid job ended CANCELLED.

    Args:
        job: The job's final state.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"job {job.job_arn} was cancelled")


class ResultNotAvailable(BraketError):
    """No result exists (yet) for the task or job, e.g. it has not completed."""


class ResultKindError(BraketError, TypeError):
    """A task result is not the kind asked for: ``result.gate_model()`` on the result of an
    AHS program or a program set, for example.

    Attributes:
        expected: The result class asked for (``"GateModelResult"``).
        actual: The result class the task has.

    Args:
        message: The error's message.
        expected: The result class asked for.
        actual: The result class the task has.
    """

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_result_kind_error, (str(self), self.expected, self.actual))


def _rebuild_result_kind_error(message: str, expected: str, actual: str) -> ResultKindError:
    return ResultKindError(message, expected=expected, actual=actual)


class PickledResultError(BraketError, ValueError):
    """The job's results are pickled (``pickled_v4``) and the caller did not allow unpickling.

    Unpickling runs arbitrary code: pass ``allow_pickle=True`` only for results you trust.
    """


class ItemNotSubmitted(BraketError):
    """A batch item was never sent: the batch was cancelled (or stopped by ``fail_fast``) first.

    Args:
        index: The item's position in the batch.
        reason: Why it was not sent.
    """

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"item {index} was not submitted: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.index, self.reason))
