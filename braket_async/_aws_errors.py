"""botocore's and aiohttp's errors as :mod:`braket_async.errors`: the one mapping of AWS errors.

* Braket calls (the session's ``_send``): :func:`braket_error` for an error answer,
  :func:`transport_error` for anything raised before an answer (:data:`TRANSPORT_ERRORS`),
  :func:`not_json_answer` for a success whose body is not the service's JSON.
  The split follows idempotency: :class:`~braket_async.errors.RequestNotSent` only when
  nothing can have reached the service (bad parameters, no connection), so retrying cannot
  create a duplicate; :class:`~braket_async.errors.ResponseError` once the request (or part of
  it) went out, or when the answer is not the service's (a proxy's page), since it may have
  taken effect.
* The calls of the other AWS services (S3 results and job uploads, CloudWatch Logs, SQS event
  queues, EventBridge rules: the accessors of ``_aws_accessors.py``): :func:`aws_errors`. These
  are reads, same-key writes and receives, safe to repeat, so any failure before an answer is
  reported as :class:`~braket_async.errors.ConnectionFailed`. :func:`is_missing_queue` names
  SQS's answer for a queue that does not exist (its codes are kept here, once).

An error answer becomes the :class:`~braket_async.errors.ServiceError` subclass of its code in
both cases (one rule, :func:`_service_error`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, Final

import aiohttp
from botocore import xform_name
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from . import errors
from .models.common import ProgramSetValidationFailure

__all__ = [
    "MISSING_QUEUE_CODES",
    "TRANSPORT_ERRORS",
    "aws_errors",
    "braket_error",
    "is_missing_queue",
    "not_json_answer",
    "transport_error",
]

#: What a Braket call raises when no answer could be read (mapped by :func:`transport_error`).
TRANSPORT_ERRORS: Final = (BotoCoreError, aiohttp.ClientError, OSError)
# Transport failures after the request was (at least partly) sent. Checked before the
# "could not connect" family because botocore's ReadTimeoutError is also an OSError.
_SENT_ERRORS: Final = (
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
    aiohttp.ServerDisconnectedError,
    TimeoutError,
)
_PARAM_RE: Final = re.compile(r"parameter (\S+?),?\s")
#: SQS's error codes for a queue that does not exist (or that these credentials cannot see):
#: the JSON protocol's ``QueueDoesNotExist``, and the query protocol's code, which botocore
#: reports instead when SQS sends its ``x-amzn-query-error`` header (the service model is
#: ``awsQueryCompatible``).
MISSING_QUEUE_CODES: Final = frozenset(
    {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"}
)


def braket_error(operation: str, exc: ClientError) -> errors.ServiceError | errors.ResponseError:
    """A ServiceError for the service's error answers; a ResponseError for a body that is
    not one (an HTML 502 page from a proxy: the request may or may not have reached the
    service, so it may have taken effect)."""
    response: dict[str, Any] = exc.response
    metadata = response.get("ResponseMetadata") or {}
    content_type = _content_type(metadata)
    error = response.get("Error") or {}
    body = str(error.get("Message") or "")
    if content_type is not None and not _is_json(content_type) and body:
        status = metadata.get("HTTPStatusCode")
        excerpt = " ".join(body.split())[:200]
        return errors.ResponseError(
            f"{operation}: HTTP {status} with a {content_type!r} body, not an error of the "
            f"Braket service (a proxy or load balancer answered?): {excerpt!r}",
            operation=operation,
        )
    message = str(error.get("Message") or response.get("message") or "")
    return _service_error(operation, response, message)


def not_json_answer(operation: str, metadata: Any) -> errors.ResponseError | None:
    """A ResponseError when a success answer's body is not JSON (a captive portal, a proxy's
    page: not the service's answer), else None."""
    content_type = _content_type(metadata)
    if content_type is None or _is_json(content_type):
        return None
    return errors.ResponseError(
        f"{operation}: the response is {content_type!r}, not JSON: not an answer "
        "of the Braket service (a proxy or captive portal in the way?)",
        operation=operation,
    )


def transport_error(
    operation: str, exc: BaseException, *, endpoint_url: str | None
) -> errors.BraketError:
    """The error for a Braket call that got no answer it could read (one of
    :data:`TRANSPORT_ERRORS`): RequestNotSent only when nothing can have reached the service."""
    if isinstance(exc, ParamValidationError):
        match = _PARAM_RE.search(str(exc))
        return errors.ParameterError(
            xform_name(match.group(1)) if match else "params", str(exc), operation=operation
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return errors.ConfigurationError(f"{operation}: {exc}")
    if isinstance(exc, _SENT_ERRORS):
        # The request (or part of it) went out: it may have taken effect.
        return errors.ResponseError(f"{operation}: no usable response: {exc}", operation=operation)
    if isinstance(exc, BotoConnectionError | aiohttp.ClientConnectionError | OSError):
        return errors.ConnectionFailed(
            f"{operation}: could not connect to {endpoint_url}: {exc}",
            endpoint_url=endpoint_url,
            operation=operation,
        )
    return errors.ResponseError(f"{operation}: no usable response: {exc}", operation=operation)


@contextlib.contextmanager
def aws_errors(operation: str, target: str) -> Iterator[None]:
    """botocore's errors of a raw S3 / CloudWatch Logs / SQS / EventBridge call as
    :mod:`braket_async.errors`: a service answer as the
    :class:`~braket_async.errors.ServiceError` of its code, anything else botocore or the
    connection raises (:data:`TRANSPORT_ERRORS`) as
    :class:`~braket_async.errors.ConnectionFailed`."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error") or {}
        message = f"{target}: {error.get('Message') or exc}"
        raise _service_error(operation, exc.response, message) from exc
    except TRANSPORT_ERRORS as exc:
        raise errors.ConnectionFailed(f"{operation} {target}: {exc}", operation=operation) from exc


def is_missing_queue(exc: BaseException) -> bool:
    """Whether ``exc`` is SQS's answer for a queue that does not exist
    (:data:`MISSING_QUEUE_CODES`), mapped (a ServiceError) or raw (botocore's ClientError)."""
    if isinstance(exc, errors.ServiceError):
        return exc.code in MISSING_QUEUE_CODES
    if isinstance(exc, ClientError):
        return str((exc.response.get("Error") or {}).get("Code", "")) in MISSING_QUEUE_CODES
    return False


def _service_error(operation: str, response: dict[str, Any], message: str) -> errors.ServiceError:
    """The ServiceError subclass of an error answer's code, with its status and request id."""
    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "Unknown")
    status = metadata.get("HTTPStatusCode")
    request_id = metadata.get("RequestId") or None
    cls = errors.error_class_for(code)
    if cls is errors.ServiceError and code.isdigit() and isinstance(status, int):
        # No error code on the wire (a bare 5xx from a proxy): botocore uses the status
        # as the code; classify by status, keep the code as received.
        cls = errors.error_class_for_status(status)
    if cls is errors.ValidationException:
        return errors.ValidationException(
            code,
            message,
            status,
            request_id,
            operation,
            reason=response.get("reason"),
            program_set_validation_failures=_program_set_failures(
                response.get("programSetValidationFailures")
            ),
        )
    return cls(code, message, status, request_id, operation)


def _content_type(metadata: Any) -> str | None:
    """The response's media type (lower case, no parameters); None when it has none or no
    body (an empty answer says nothing in any type)."""
    headers = metadata.get("HTTPHeaders") if isinstance(metadata, dict) else None
    if not isinstance(headers, dict) or headers.get("content-length") == "0":
        return None
    value = headers.get("content-type")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    # application/json, application/x-amz-json-1.1, application/problem+json, ...
    return "json" in media_type


def _program_set_failures(raw: Any) -> tuple[ProgramSetValidationFailure, ...]:
    if not isinstance(raw, list):
        return ()
    failures = []
    for item in raw:
        if isinstance(item, dict):
            failures.append(
                ProgramSetValidationFailure(
                    program_index=int(item.get("programIndex", -1)),
                    inputs_index=item.get("inputsIndex"),
                    errors=tuple(str(e) for e in item.get("errors") or ()),
                )
            )
    return tuple(failures)
