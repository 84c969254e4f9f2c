"""Service-side errors of the local Braket service, rendered as rest-json error responses.

Handlers raise these; the server turns one into a response with the ``x-amzn-ErrorType``
header, the HTTP status of the error shape in botocore's model and a JSON body
``{"message": ..., **extra}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._service_model import error_status

__all__ = [
    "AccessDenied",
    "Conflict",
    "DeviceOffline",
    "DeviceRetired",
    "IncompleteSignature",
    "InternalServiceError",
    "InvalidSignature",
    "MissingAuthenticationToken",
    "RequestTooLarge",
    "ResourceNotFound",
    "Serialization",
    "ServiceError",
    "ServiceQuotaExceeded",
    "Throttling",
    "UnknownOperation",
    "UnrecognizedClient",
    "UnsupportedMediaType",
    "Validation",
]


class ServiceError(Exception):
    """An error answered to the client: ``code``, HTTP ``status``, ``message``, body extras.

    A subclass sets ``code``; its ``status`` is the one botocore's model gives that code
    (read here, once), unless the subclass sets its own (codes the model does not have).
    """

    code: ClassVar[str] = "InternalServiceException"
    status: ClassVar[int] = error_status(code)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "status" not in vars(cls):
            cls.status = error_status(cls.code)

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"message": self.message, **self.extra}


class Validation(ServiceError):
    """400 ValidationException."""

    code = "ValidationException"


class Serialization(Validation):
    """400 SerializationException: the body is not JSON the service can read."""

    code = "SerializationException"
    status = Validation.status  # not in the model: the front end answers it as a 400


class ServiceQuotaExceeded(ServiceError):
    """402 ServiceQuotaExceededException."""

    code = "ServiceQuotaExceededException"


class AccessDenied(ServiceError):
    """403 AccessDeniedException."""

    code = "AccessDeniedException"


class ResourceNotFound(ServiceError):
    """404 ResourceNotFoundException."""

    code = "ResourceNotFoundException"


class UnknownOperation(ServiceError):
    """404 UnknownOperationException: no route matches the method and path."""

    code = "UnknownOperationException"
    status = 404


class Conflict(ServiceError):
    """409 ConflictException."""

    code = "ConflictException"


class DeviceRetired(ServiceError):
    """410 DeviceRetiredException."""

    code = "DeviceRetiredException"


class DeviceOffline(ServiceError):
    """424 DeviceOfflineException."""

    code = "DeviceOfflineException"


class Throttling(ServiceError):
    """429 ThrottlingException."""

    code = "ThrottlingException"

    def __init__(self, message: str = "Rate exceeded", **extra: Any) -> None:
        super().__init__(message, **extra)


class InternalServiceError(ServiceError):
    """500 InternalServiceException."""

    code = "InternalServiceException"


# Authentication and transport errors: not in Braket's service model, answered by AWS's front
# end (codes, statuses and messages in docs/security.md).


class MissingAuthenticationToken(ServiceError):
    """403 MissingAuthenticationTokenException: the request is not signed."""

    code = "MissingAuthenticationTokenException"
    status = 403


class IncompleteSignature(ServiceError):
    """403 IncompleteSignatureException: the signature is malformed."""

    code = "IncompleteSignatureException"
    status = 403


class UnrecognizedClient(ServiceError):
    """403 UnrecognizedClientException: the access key id is not the service's."""

    code = "UnrecognizedClientException"
    status = 403


class InvalidSignature(ServiceError):
    """403 InvalidSignatureException: wrong signature, scope or date (expired)."""

    code = "InvalidSignatureException"
    status = 403


class RequestTooLarge(ServiceError):
    """413 RequestTooLargeException: the body is larger than the service accepts."""

    code = "RequestTooLargeException"
    status = 413


class UnsupportedMediaType(ServiceError):
    """415 UnsupportedMediaTypeException: a body that is not ``application/json``."""

    code = "UnsupportedMediaTypeException"
    status = 415
