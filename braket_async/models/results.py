"""Typed gate-model task results (``braket.task_result.gate_model_task_result`` v1).

:meth:`GateModelResult.from_document` turns the parsed ``results.json`` the service writes to
S3 into frozen attrs values. Derived views (``counts``, ``probabilities``) are computed once,
on first use. Result-type values are kept as the service wrote them (plain JSON: complex
amplitudes are ``[re, im]`` pairs); :func:`complex_value` converts such a pair.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ._kinds import NotAnalogHamiltonianSimulation, NotProgramSet

__all__ = [
    "GATE_MODEL_RESULT_SCHEMA",
    "AdditionalMetadata",
    "GateModelResult",
    "ResultTypeValue",
    "TaskMetadata",
    "complex_value",
]

#: The ``braketSchemaHeader.name`` of the documents :class:`GateModelResult` reads.
GATE_MODEL_RESULT_SCHEMA = "braket.task_result.gate_model_task_result"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def complex_value(pair: Sequence[float]) -> complex:
    """``[re, im]`` (how results.json writes a complex number) -> ``complex``."""
    if len(pair) != 2:
        raise ValueError(f"a complex value is a [re, im] pair, got {pair!r}")
    return complex(float(pair[0]), float(pair[1]))


def _parse_time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"taskMetadata.{field} must be an ISO 8601 string, got {value!r}")
    return datetime.fromisoformat(value)


def _frozen_map(value: Any, field: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a JSON object, got {type(value).__name__}")
    return MappingProxyType(dict(value))


@attrs.frozen
class ResultTypeValue:
    """One requested result type (``type``, e.g. ``{"type": "probability", "targets": [0]}``)
    and the value the device computed for it."""

    type: Mapping[str, Any]
    value: Any

    @property
    def name(self) -> str:
        """The result type's name: ``probability``, ``expectation``, ``state_vector``, ..."""
        return str(self.type.get("type", ""))

    @property
    def targets(self) -> tuple[int, ...] | None:
        """The qubits the result type is about, or None for all qubits."""
        targets = self.type.get("targets")
        return None if targets is None else tuple(int(t) for t in targets)


@attrs.frozen
class TaskMetadata:
    """``taskMetadata``: which task produced the result, and how."""

    id: str
    shots: int
    device_id: str
    device_parameters: Mapping[str, Any] | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    status: str | None = None
    failure_reason: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TaskMetadata:
        """Parse the ``taskMetadata`` object."""
        try:
            task_id, shots, device_id = doc["id"], doc["shots"], doc["deviceId"]
        except KeyError as exc:
            raise ValueError(f"taskMetadata.{exc.args[0]} is required but missing") from None
        return cls(
            id=str(task_id),
            shots=int(shots),
            device_id=str(device_id),
            device_parameters=_frozen_map(
                doc.get("deviceParameters"), "taskMetadata.deviceParameters"
            ),
            created_at=_parse_time(doc.get("createdAt"), "createdAt"),
            ended_at=_parse_time(doc.get("endedAt"), "endedAt"),
            status=doc.get("status"),
            failure_reason=doc.get("failureReason"),
        )


def result_document(doc: Any, schema: str) -> Mapping[str, Any]:
    """``doc`` if it is a result document of ``schema`` (its ``braketSchemaHeader.name``),
    else ``ValueError`` saying what it is instead."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"a result document is a JSON object, got {type(doc).__name__}")
    header = doc.get("braketSchemaHeader") or {}
    name = header.get("name") if isinstance(header, Mapping) else None
    if name != schema:
        raise ValueError(f"braketSchemaHeader.name must be {schema!r}, got {name!r}")
    return doc


class TaskResultViews:
    """What every single-program result (gate model, AHS) tells from its ``taskMetadata``."""

    __slots__ = ()
    task_metadata: TaskMetadata

    @staticmethod
    def parse_task_metadata(doc: Mapping[str, Any]) -> TaskMetadata:
        """The document's ``taskMetadata`` (required)."""
        metadata = doc.get("taskMetadata")
        if not isinstance(metadata, Mapping):
            raise ValueError("taskMetadata is required but missing")
        return TaskMetadata.from_document(metadata)

    @property
    def shots(self) -> int:
        """Shots the task asked for (``taskMetadata.shots``)."""
        return self.task_metadata.shots

    @property
    def task_arn(self) -> str:
        """The task's ARN (``taskMetadata.id``)."""
        return self.task_metadata.id


@attrs.frozen
class AdditionalMetadata:
    """``additionalMetadata``: the action that ran, and the device's own notes.

    ``provider_metadata`` holds every other non-null ``*Metadata`` member (``ionqMetadata``,
    ``rigettiMetadata``, ...) by its wire name.
    """

    action: Mapping[str, Any] | None = None
    simulator_metadata: Mapping[str, Any] | None = None
    provider_metadata: Mapping[str, Any] = _EMPTY

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> AdditionalMetadata:
        """Parse the ``additionalMetadata`` object (absent: all empty)."""
        if not doc:
            return cls()
        others = {
            k: v
            for k, v in doc.items()
            if k not in ("action", "simulatorMetadata") and v is not None
        }
        return cls(
            action=_frozen_map(doc.get("action"), "additionalMetadata.action"),
            simulator_metadata=_frozen_map(
                doc.get("simulatorMetadata"), "additionalMetadata.simulatorMetadata"
            ),
            provider_metadata=MappingProxyType(others),
        )


def _measurements(raw: Any) -> tuple[tuple[int, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"measurements must be a list of shots, got {type(raw).__name__}")
    # The service writes ints; the local simulator's raw output uses "0"/"1": accept both.
    return tuple(tuple(int(bit) for bit in shot) for shot in raw)


@attrs.frozen
class GateModelResult(TaskResultViews, NotAnalogHamiltonianSimulation, NotProgramSet):
    """The result of a gate-model quantum task.

    ``measurements`` has one tuple of bits per shot, in ``measured_qubits`` order (empty for
    ``shots=0`` tasks and for devices that report only ``measurement_probabilities``).
    ``counts`` maps bitstrings (``"011"``: first measured qubit first) to how many shots gave
    them; ``probabilities`` maps bitstrings to their observed (or reported) frequency.
    """

    measurements: tuple[tuple[int, ...], ...]
    measured_qubits: tuple[int, ...]
    measurement_probabilities: Mapping[str, float] | None
    result_types: tuple[ResultTypeValue, ...]
    task_metadata: TaskMetadata
    additional_metadata: AdditionalMetadata

    def gate_model(self) -> GateModelResult:
        """This result, typed as a gate-model result (``result.gate_model().counts``).

        Returns:
            This result.
        """
        return self

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> GateModelResult:
        """Parse a ``braket.task_result.gate_model_task_result`` document.

        Raises ``ValueError`` naming the member when the document is not one.

        Args:
            doc: The parsed result document.

        Returns:
            The result.

        Raises:
            ValueError: The document is not a gate-model result.
        """
        doc = result_document(doc, GATE_MODEL_RESULT_SCHEMA)
        task_metadata = cls.parse_task_metadata(doc)
        probabilities = doc.get("measurementProbabilities")
        return cls(
            measurements=_measurements(doc.get("measurements")),
            measured_qubits=tuple(int(q) for q in doc.get("measuredQubits") or ()),
            measurement_probabilities=(
                None
                if probabilities is None
                else MappingProxyType({str(k): float(v) for k, v in probabilities.items()})
            ),
            result_types=tuple(
                ResultTypeValue(type=MappingProxyType(dict(rt["type"])), value=rt.get("value"))
                for rt in doc.get("resultTypes") or ()
            ),
            task_metadata=task_metadata,
            additional_metadata=AdditionalMetadata.from_document(doc.get("additionalMetadata")),
        )

    @functools.cached_property
    def counts(self) -> Mapping[str, int]:
        """Bitstring -> number of shots. Devices that report only probabilities get
        ``round(p * shots)`` per bitstring (what the Braket SDK does)."""
        if self.measurements:
            tally = Counter("".join(map(str, shot)) for shot in self.measurements)
            return MappingProxyType(dict(tally.most_common()))
        if self.measurement_probabilities is not None:
            return MappingProxyType(
                {k: round(p * self.shots) for k, p in self.measurement_probabilities.items()}
            )
        return _EMPTY

    @functools.cached_property
    def probabilities(self) -> Mapping[str, float]:
        """Bitstring -> probability: as reported, else observed frequency of ``counts``."""
        if self.measurement_probabilities is not None:
            return self.measurement_probabilities
        total = len(self.measurements)
        if not total:
            return _EMPTY
        return MappingProxyType({k: n / total for k, n in self.counts.items()})

    def result_type_value(self, name: str, targets: Sequence[int] | None = None) -> Any:
        """The value of the first result type called ``name`` (and on ``targets`` if given).

        Raises ``KeyError`` naming what was asked for when the task did not request it.

        Args:
            name: The result type's name (``"Expectation"``).
            targets: The qubits it was requested on (default: any).

        Returns:
            The result type's value.

        Raises:
            KeyError: The task did not request it.
        """
        wanted = None if targets is None else tuple(targets)
        for rt in self.result_types:
            if rt.name == name and (wanted is None or rt.targets == wanted):
                return rt.value
        asked = [
            f"{rt.name}{list(rt.targets) if rt.targets is not None else ''}"
            for rt in self.result_types
        ]
        raise KeyError(
            f"no result type {name!r}"
            + ("" if wanted is None else f" on targets {list(wanted)}")
            + f"; the task requested: {asked}"
        )
