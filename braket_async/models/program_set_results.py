"""Typed program-set results (``braket.task_result.program_set_task_result`` v1).

A program set task ran several OpenQASM programs, each once per input set (an *executable*).
:class:`ProgramSetResult` holds one :class:`ProgramResult` per program, each with one
:class:`ExecutableResult` or :class:`ExecutableFailure` per executable, in ``inputs_index``
order, and the task's :class:`ProgramSetTaskMetadata`. Braket writes the pieces as separate S3
objects; :meth:`ProgramSetResult.from_document` takes the assembled document (every
reference replaced by the object it names), which
:meth:`~braket_async.BraketSession.get_quantum_task_result` builds.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ._kinds import NotAnalogHamiltonianSimulation, NotGateModel
from .results import AdditionalMetadata, result_document

__all__ = [
    "PROGRAM_SET_RESULT_SCHEMA",
    "ExecutableFailure",
    "ExecutableResult",
    "ProgramResult",
    "ProgramSetResult",
    "ProgramSetTaskMetadata",
]

#: The ``braketSchemaHeader.name`` of the documents :class:`ProgramSetResult` reads.
PROGRAM_SET_RESULT_SCHEMA = "braket.task_result.program_set_task_result"
_FAILURE_SCHEMA = "braket.task_result.program_set_executable_failure"


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a JSON object, got {type(value).__name__}")
    return value


@attrs.frozen
class ExecutableResult:
    """One executable that ran: its measurements (one tuple of bits per shot)."""

    inputs_index: int
    measurements: tuple[tuple[int, ...], ...]
    measured_qubits: tuple[int, ...]
    measurement_probabilities: Mapping[str, float] | None = None

    @functools.cached_property
    def counts(self) -> Mapping[str, int]:
        """Bitstring (first measured qubit first) -> shots."""
        tally = Counter("".join(map(str, shot)) for shot in self.measurements)
        return MappingProxyType(dict(tally.most_common()))


@attrs.frozen
class ExecutableFailure:
    """One executable that did not run, and why."""

    inputs_index: int
    failure_reason: str
    retryable: bool
    category: str


@attrs.frozen
class ProgramResult:
    """One program of the set: the program as run (``source``, ``inputs``) and its
    executables."""

    source: str
    inputs: Mapping[str, Any] | None
    executables: tuple[ExecutableResult | ExecutableFailure, ...]
    additional_metadata: AdditionalMetadata


@attrs.frozen
class ProgramSetTaskMetadata:
    """``taskMetadata`` of a program-set result."""

    id: str
    device_id: str
    requested_shots: int
    successful_shots: int
    total_failed_executables: int
    executable_count: int
    device_parameters: Mapping[str, Any] | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    status: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ProgramSetTaskMetadata:
        """Parse the ``taskMetadata`` object."""
        try:
            return cls(
                id=str(doc["id"]),
                device_id=str(doc["deviceId"]),
                requested_shots=int(doc["requestedShots"]),
                successful_shots=int(doc["successfulShots"]),
                total_failed_executables=int(doc.get("totalFailedExecutables", 0)),
                executable_count=sum(
                    len(p.get("executables") or ()) for p in doc.get("programMetadata") or ()
                ),
                device_parameters=doc.get("deviceParameters"),
                created_at=_time(doc.get("createdAt")),
                ended_at=_time(doc.get("endedAt")),
                status=doc.get("status"),
            )
        except KeyError as exc:
            raise ValueError(f"taskMetadata.{exc.args[0]} is required but missing") from None


def _executable(doc: Mapping[str, Any]) -> ExecutableResult | ExecutableFailure:
    index = int(doc["inputsIndex"])
    if (doc.get("braketSchemaHeader") or {}).get("name") == _FAILURE_SCHEMA:
        failure = _object(doc.get("failureMetadata"), "failureMetadata")
        return ExecutableFailure(
            inputs_index=index,
            failure_reason=str(failure.get("failureReason", "")),
            retryable=bool(failure.get("retryable", False)),
            category=str(failure.get("category", "")),
        )
    probabilities = doc.get("measurementProbabilities")
    return ExecutableResult(
        inputs_index=index,
        measurements=tuple(tuple(int(b) for b in shot) for shot in doc.get("measurements") or ()),
        measured_qubits=tuple(int(q) for q in doc.get("measuredQubits") or ()),
        measurement_probabilities=(
            None
            if probabilities is None
            else MappingProxyType({str(k): float(v) for k, v in probabilities.items()})
        ),
    )


def _program(doc: Mapping[str, Any]) -> ProgramResult:
    source = _object(doc.get("source"), "programResults.source")
    inputs = source.get("inputs")
    return ProgramResult(
        source=str(source.get("source", "")),
        inputs=None if inputs is None else MappingProxyType(dict(inputs)),
        executables=tuple(
            _executable(_object(e, "executableResults")) for e in doc.get("executableResults") or ()
        ),
        additional_metadata=AdditionalMetadata.from_document(doc.get("additionalMetadata")),
    )


@attrs.frozen
class ProgramSetResult(NotGateModel, NotAnalogHamiltonianSimulation):
    """The result of a program-set task."""

    programs: tuple[ProgramResult, ...]
    task_metadata: ProgramSetTaskMetadata

    def program_set(self) -> ProgramSetResult:
        """This result, typed as a program-set result (one ``ProgramResult`` per program).

        Returns:
            This result.
        """
        return self

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ProgramSetResult:
        """Parse an assembled document (references already resolved); ``ValueError`` naming
        the member when it is not one.

        Args:
            doc: The assembled result document.

        Returns:
            The result.

        Raises:
            ValueError: The document is not a program-set result.
        """
        doc = result_document(doc, PROGRAM_SET_RESULT_SCHEMA)
        return cls(
            programs=tuple(
                _program(_object(p, "programResults")) for p in doc.get("programResults") or ()
            ),
            task_metadata=ProgramSetTaskMetadata.from_document(
                _object(doc.get("taskMetadata"), "taskMetadata")
            ),
        )

    @property
    def task_arn(self) -> str:
        """The task's ARN (``taskMetadata.id``)."""
        return self.task_metadata.id

    @property
    def shots_per_executable(self) -> int:
        """Shots each executable ran (the task's shots divided among its executables)."""
        count = self.task_metadata.executable_count
        return self.task_metadata.requested_shots // count if count else 0

    def __len__(self) -> int:
        return len(self.programs)

    def __getitem__(self, index: int) -> ProgramResult:
        return self.programs[index]
