"""Download and parse quantum task results (``ResultsMixin``).

The service writes ``s3://{outputS3Bucket}/{outputS3Directory}/results.json`` when a task
completes; :meth:`ResultsMixin.get_quantum_task_result` reads it through the session's
aiobotocore S3 client and returns a typed
:class:`~braket_async.models.results.GateModelResult`. Large documents are parsed in a worker
thread so the event loop keeps serving other coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError

from . import errors
from ._base import SessionCore
from .models import TERMINAL_TASK_STATUSES, QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from .models.results import GateModelResult
from .polling import PollPolicy

__all__ = [
    "PARSE_IN_THREAD_BYTES",
    "RESULTS_FILENAME",
    "ResultsMixin",
    "parse_result",
]

#: The object name the service writes in a task's output directory.
RESULTS_FILENAME = "results.json"
#: Result documents larger than this are parsed off the event loop (``asyncio.to_thread``).
PARSE_IN_THREAD_BYTES = 1 << 20

_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


class _Session(Protocol):
    async def get_quantum_task(self, quantum_task_arn: str) -> QuantumTask: ...

    async def wait_for_quantum_task(
        self,
        quantum_task_arn: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 -- mirrors WaitersMixin
        poll: PollPolicy | None = None,
    ) -> QuantumTask: ...


def parse_result(data: bytes, *, source: str = "results.json") -> GateModelResult:
    """Parse a ``results.json`` body; ``ResponseError`` naming ``source`` if it is not one."""
    try:
        document = json.loads(data)
        return GateModelResult.from_document(document)
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.ResponseError(f"{source} is not a gate-model task result: {exc}") from exc


class ResultsMixin(SessionCore):
    """Result download of :class:`~braket_async.BraketSession`."""

    async def get_quantum_task_result(
        self,
        task: str | QuantumTask | QuantumTaskSummary,
        *,
        wait: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 -- passed to wait_for_quantum_task
        poll: PollPolicy | None = None,
    ) -> GateModelResult:
        """The result of a quantum task (an ARN, a ``QuantumTask`` or a search summary).

        Raises ``QuantumTaskFailed`` (with the failure reason) or ``QuantumTaskCancelled``
        for tasks that ended so; ``ResultNotAvailable`` for a task not finished yet (or, with
        ``wait=True``, waits for it like ``wait_for_quantum_task(timeout=, poll=)``) and for
        a missing results object, naming its bucket and key.
        """
        session = cast(_Session, self)
        if isinstance(task, str):
            current: QuantumTask | QuantumTaskSummary = await session.get_quantum_task(task)
        elif isinstance(task, QuantumTask | QuantumTaskSummary):
            current = task
            if current.status not in TERMINAL_TASK_STATUSES:
                # The model may be stale: look again before saying "not yet".
                current = await session.get_quantum_task(task.quantum_task_arn)
        else:
            raise errors.ParameterError(
                "task",
                "must be a quantum task ARN, a QuantumTask or a QuantumTaskSummary, "
                f"got {type(task).__name__}",
            )
        arn = current.quantum_task_arn
        if current.status not in TERMINAL_TASK_STATUSES:
            if not wait:
                raise errors.ResultNotAvailable(
                    f"quantum task {arn} is {current.status}: its result exists once it is "
                    "COMPLETED (pass wait=True to wait for it)"
                )
            current = await session.wait_for_quantum_task(arn, timeout=timeout, poll=poll)
        if current.status != QuantumTaskStatus.COMPLETED:
            full = (
                current if isinstance(current, QuantumTask) else await session.get_quantum_task(arn)
            )
            if full.status == QuantumTaskStatus.CANCELLED:
                raise errors.QuantumTaskCancelled(full)
            raise errors.QuantumTaskFailed(full)
        bucket = current.output_s3_bucket
        key = f"{current.output_s3_directory.rstrip('/')}/{RESULTS_FILENAME}"
        data = await self._download(arn, bucket, key)
        source = f"s3://{bucket}/{key}"
        if len(data) > PARSE_IN_THREAD_BYTES:
            return await asyncio.to_thread(parse_result, data, source=source)
        return parse_result(data, source=source)

    async def _download(self, arn: str, bucket: str, key: str) -> bytes:
        def missing(code: str) -> errors.ResultNotAvailable:
            return errors.ResultNotAvailable(
                f"quantum task {arn} is COMPLETED but its result object "
                f"s3://{bucket}/{key} does not exist ({code})"
            )

        data = await _get_s3_object(await self._s3(), bucket, key, missing=missing)
        self.telemetry.count("results")
        self.telemetry.count("result_bytes", len(data))
        return data


async def _get_s3_object(
    s3: Any, bucket: str, key: str, *, missing: Callable[[str], BaseException]
) -> bytes:
    """The bytes of ``s3://bucket/key`` read with the aiobotocore S3 client ``s3``.

    A missing object or bucket raises ``missing(code)``; other failures raise as
    :mod:`braket_async.errors` (see ``_aws_errors``).
    """
    try:
        with _aws_errors("GetObject", f"s3://{bucket}/{key}"):
            response: dict[str, Any] = await s3.get_object(Bucket=bucket, Key=key)
            async with response["Body"] as body:
                data: bytes = await body.read()
    except errors.ServiceError as exc:
        if exc.code in _MISSING_CODES:
            raise missing(exc.code) from exc
        raise
    return data


@contextlib.contextmanager
def _aws_errors(operation: str, target: str) -> Iterator[None]:
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
