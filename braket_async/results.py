"""Download and parse quantum task results (:class:`Results`).

The service writes ``s3://{outputS3Bucket}/{outputS3Directory}/results.json`` when a task
completes; :meth:`Results.get_quantum_task_result` reads it through the session's
aiobotocore S3 client and returns a typed result chosen by the document's schema:
:class:`~braket_async.models.results.GateModelResult` (gate-model programs),
:class:`~braket_async.models.ahs_results.AnalogHamiltonianSimulationResult` (AHS programs) or
:class:`~braket_async.models.program_set_results.ProgramSetResult` (program sets, whose pieces
Braket writes as separate objects under ``s3Location``: they are fetched concurrently and
assembled). Large documents are parsed in a worker thread so the event loop keeps serving other
coroutines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from . import errors
from ._aws_accessors import S3Objects
from ._operations import Operations
from .models import TERMINAL_TASK_STATUSES, QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from .models.ahs_results import AHS_RESULT_SCHEMA, AnalogHamiltonianSimulationResult
from .models.program_set_results import PROGRAM_SET_RESULT_SCHEMA, ProgramSetResult
from .models.results import GATE_MODEL_RESULT_SCHEMA, GateModelResult
from .models.task_result import TaskResult
from .polling import PollPolicy
from .telemetry import Telemetry
from .waiters import Waiters

__all__ = [
    "PARSE_IN_THREAD_BYTES",
    "RESULTS_FILENAME",
    "Results",
    "TaskResult",
    "parse_result",
]

#: What :meth:`Results.get_quantum_task_result` returns, by the result's schema.
_PARSERS: dict[str, Callable[[Any], TaskResult]] = {
    GATE_MODEL_RESULT_SCHEMA: GateModelResult.from_document,
    AHS_RESULT_SCHEMA: AnalogHamiltonianSimulationResult.from_document,
    PROGRAM_SET_RESULT_SCHEMA: ProgramSetResult.from_document,
}
#: Program-set objects fetched at once.
_FETCH_CONCURRENCY = 16

RESULTS_FILENAME = "results.json"
"""The object name the service writes in a task's output directory."""
PARSE_IN_THREAD_BYTES = 1 << 20
"""Result documents larger than this are parsed off the event loop (``asyncio.to_thread``)."""

def _schema(document: Any) -> str | None:
    header = document.get("braketSchemaHeader") if isinstance(document, dict) else None
    name = header.get("name") if isinstance(header, dict) else None
    return name if isinstance(name, str) else None


def parse_document(document: Any, *, source: str = "results.json") -> TaskResult:
    """A parsed result document as its typed result (by ``braketSchemaHeader.name``);
    ``ResponseError`` naming ``source`` if it is not a task result this client knows."""
    parser = _PARSERS.get(_schema(document) or "")
    if parser is None:
        raise errors.ResponseError(
            f"{source} is not a task result this client reads (braketSchemaHeader.name "
            f"{_schema(document)!r}; known: {sorted(_PARSERS)})"
        )
    try:
        return parser(document)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise errors.ResponseError(f"{source} is not a valid {_schema(document)}: {exc}") from exc


def parse_result(data: bytes, *, source: str = "results.json") -> TaskResult:
    """Parse a ``results.json`` body (a self-contained document); ``ResponseError`` naming
    ``source`` if it is not one.

    Args:
        data: The body.
        source: What to call it in errors.

    Returns:
        The typed result.

    Raises:
        ResponseError: ``data`` is not a task result this client reads.
    """
    return parse_document(_loads(data, source), source=source)


class Results:
    """Result download of :class:`~braket_async.BraketSession`.

    ``operations`` looks tasks up, ``waiters`` wait for one (``wait=True``),
    ``s3`` reads the result objects, and
    ``telemetry`` counts the results and bytes downloaded.

    Args:
        operations: The session's operations.
        waiters: The session's waiters.
        s3: Reads the result objects.
        telemetry: Counts results and bytes downloaded.
    """

    def __init__(
        self,
        operations: Operations,
        *,
        waiters: Waiters,
        s3: S3Objects,
        telemetry: Telemetry,
    ) -> None:
        self._operations = operations
        self._waiters = waiters
        self._s3 = s3
        self._telemetry = telemetry

    async def get_quantum_task_result(
        self,
        task: str | QuantumTask | QuantumTaskSummary,
        *,
        wait: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 -- passed to wait_for_quantum_task
        poll: PollPolicy | None = None,
    ) -> TaskResult:
        """The result of a quantum task (an ARN, a ``QuantumTask`` or a search summary):
        a ``GateModelResult``, ``AnalogHamiltonianSimulationResult`` or ``ProgramSetResult``
        according to the result document's schema.

        Raises ``QuantumTaskFailed`` (with the failure reason) or ``QuantumTaskCancelled``
        for tasks that ended so; ``ResultNotAvailable`` for a task not finished yet (or, with
        ``wait=True``, waits for it like ``wait_for_quantum_task(timeout=, poll=)``) and for
        a missing results object, naming its bucket and key.

        Args:
            task: An ARN, a ``QuantumTask`` or a search summary.
            wait: Whether to wait for a task that has not finished.
            timeout: Seconds to wait at most, with ``wait``.
            poll: The delays between status calls, with ``wait``.

        Returns:
            The typed result.

        Raises:
            QuantumTaskFailed: The task ended FAILED.
            QuantumTaskCancelled: The task ended CANCELLED.
            ResultNotAvailable: The task has not finished (without ``wait``), or its results
                object is missing.
        """
        operations = self._operations
        if isinstance(task, str):
            current: QuantumTask | QuantumTaskSummary = await operations.get_quantum_task(task)
        elif isinstance(task, QuantumTask | QuantumTaskSummary):
            current = task
            if current.status not in TERMINAL_TASK_STATUSES:
                # The model may be stale: look again before saying "not yet".
                current = await operations.get_quantum_task(task.quantum_task_arn)
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
            current = await self._waiters.wait_for_quantum_task(arn, timeout=timeout, poll=poll)
        if current.status != QuantumTaskStatus.COMPLETED:
            full = (
                current
                if isinstance(current, QuantumTask)
                else await operations.get_quantum_task(arn)
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
        document = _loads(data, source)
        if _schema(document) == PROGRAM_SET_RESULT_SCHEMA and document.get("s3Location"):
            # Braket's layout: results.json only points at the other objects.
            document = await self._assemble_program_set(arn, document, source)
            return await asyncio.to_thread(parse_document, document, source=source)
        return parse_document(document, source=source)

    async def _assemble_program_set(
        self, arn: str, document: dict[str, Any], source: str
    ) -> dict[str, Any]:
        """The program-set document with every relative reference (``taskMetadata``,
        ``programResults``, each program's ``source`` and ``executableResults``) replaced by
        the object it names under ``s3Location``, fetched with bounded concurrency."""
        try:
            bucket, prefix = (str(part) for part in document["s3Location"])
        except (TypeError, ValueError) as exc:
            raise errors.ResponseError(f"{source}: s3Location must be [bucket, prefix]") from exc
        limit = asyncio.Semaphore(_FETCH_CONCURRENCY)

        async def fetch(value: Any, base: str) -> Any:
            if not isinstance(value, str):
                return value  # already inline
            key = f"{base}/{value}"
            async with limit:
                data = await self._download(arn, bucket, key)
            return _loads(data, f"s3://{bucket}/{key}")

        async def program(reference: Any) -> Any:
            doc = await fetch(reference, prefix)
            if not isinstance(doc, dict):
                raise errors.ResponseError(
                    f"{source}: program result {reference!r} is not an object"
                )
            base = f"{prefix}/{reference}".removesuffix("/results.json")
            executables = doc.get("executableResults") or []
            fetched = await asyncio.gather(
                fetch(doc.get("source"), base), *(fetch(e, base) for e in executables)
            )
            return {**doc, "source": fetched[0], "executableResults": list(fetched[1:])}

        metadata, *programs = await asyncio.gather(
            fetch(document.get("taskMetadata"), prefix),
            *(program(p) for p in document.get("programResults") or []),
        )
        return {**document, "taskMetadata": metadata, "programResults": programs}

    async def _download(self, arn: str, bucket: str, key: str) -> bytes:
        def missing(code: str) -> errors.ResultNotAvailable:
            return errors.ResultNotAvailable(
                f"quantum task {arn} is COMPLETED but its result object "
                f"s3://{bucket}/{key} does not exist ({code})"
            )

        data = await self._s3.get(bucket, key, missing=missing)
        self._telemetry.count("results")
        self._telemetry.count("result_bytes", len(data))
        return data


def _loads(data: bytes, source: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise errors.ResponseError(f"{source} is not a task result (not JSON): {exc}") from exc
