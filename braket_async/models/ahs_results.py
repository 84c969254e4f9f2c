"""Typed analog Hamiltonian simulation results
(``braket.task_result.analog_hamiltonian_simulation_task_result`` v1).

One :class:`AhsShot` per shot: its status (``Success``, ``Partial success``, ``Failure``) and
the ``pre_sequence`` / ``post_sequence`` bits, one per register site. ``pre_sequence`` is 1
where a site held an atom before the evolution; ``post_sequence`` is 1 where the atom was
found in the ground state afterwards (0: Rydberg state, or no atom).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ._kinds import NotGateModel, NotProgramSet
from .results import AdditionalMetadata, TaskMetadata, TaskResultViews, result_document

__all__ = ["AHS_RESULT_SCHEMA", "AhsShot", "AnalogHamiltonianSimulationResult"]

#: The ``braketSchemaHeader.name`` of the documents
#: :class:`AnalogHamiltonianSimulationResult` reads.
AHS_RESULT_SCHEMA = "braket.task_result.analog_hamiltonian_simulation_task_result"


def _bits(value: Any, field: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of bits, got {type(value).__name__}")
    return tuple(int(bit) for bit in value)


@attrs.frozen
class AhsShot:
    """One shot of an AHS task."""

    status: str
    pre_sequence: tuple[int, ...]
    post_sequence: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """Whether the shot's status is ``Success``."""
        return self.status == "Success"

    @property
    def states(self) -> str:
        """Per site: ``e`` empty, ``g`` ground, ``r`` Rydberg (the Braket SDK's letters)."""
        return "".join(
            "e" if pre == 0 else ("g" if post == 1 else "r")
            for pre, post in zip(self.pre_sequence, self.post_sequence, strict=False)
        )


@attrs.frozen
class AnalogHamiltonianSimulationResult(TaskResultViews, NotGateModel, NotProgramSet):
    """The result of an AHS task: ``shots`` in the order the device reported them."""

    shots_results: tuple[AhsShot, ...]
    task_metadata: TaskMetadata
    additional_metadata: AdditionalMetadata

    def analog_hamiltonian_simulation(self) -> AnalogHamiltonianSimulationResult:
        """This result, typed as an analog Hamiltonian simulation result (``shots_results``).

        Returns:
            This result.
        """
        return self

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> AnalogHamiltonianSimulationResult:
        """Parse the document; ``ValueError`` naming the member when it is not one.

        Args:
            doc: The parsed result document.

        Returns:
            The result.

        Raises:
            ValueError: The document is not an AHS result.
        """
        doc = result_document(doc, AHS_RESULT_SCHEMA)
        task_metadata = cls.parse_task_metadata(doc)
        shots = []
        for i, measurement in enumerate(doc.get("measurements") or ()):
            result = measurement.get("shotResult") or {}
            shots.append(
                AhsShot(
                    status=str((measurement.get("shotMetadata") or {}).get("shotStatus", "")),
                    pre_sequence=_bits(result.get("preSequence"), f"measurements.{i}.preSequence"),
                    post_sequence=_bits(
                        result.get("postSequence"), f"measurements.{i}.postSequence"
                    ),
                )
            )
        return cls(
            shots_results=tuple(shots),
            task_metadata=task_metadata,
            additional_metadata=AdditionalMetadata.from_document(doc.get("additionalMetadata")),
        )

    @functools.cached_property
    def state_counts(self) -> Mapping[str, int]:
        """Per-site state string (see :attr:`AhsShot.states`) -> shots, successful shots only."""
        tally = Counter(shot.states for shot in self.shots_results if shot.ok)
        return MappingProxyType(dict(tally.most_common()))
