"""botocore's errors of the raw S3 and CloudWatch Logs calls as :mod:`braket_async.errors`.

The Braket calls are mapped by the session (``_session.py``), which also tells a proxy's page
from a service answer and keeps ``ValidationException``'s members; this module is the one
mapping for the other AWS services the client reads results and job logs from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from . import errors

__all__ = ["aws_errors"]


@contextlib.contextmanager
def aws_errors(operation: str, target: str) -> Iterator[None]:
    """botocore's errors of a raw S3 / CloudWatch Logs call as :mod:`braket_async.errors`:
    a service answer as the :class:`~braket_async.errors.ServiceError` of its code, anything
    else botocore raises as :class:`~braket_async.errors.ConnectionFailed`."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        metadata = exc.response.get("ResponseMetadata") or {}
        raise errors.error_class_for(code)(
            code,
            f"{target}: {error.get('Message') or exc}",
            metadata.get("HTTPStatusCode"),
            metadata.get("RequestId"),
            operation,
        ) from exc
    except BotoCoreError as exc:
        raise errors.ConnectionFailed(f"{operation} {target}: {exc}", operation=operation) from exc
