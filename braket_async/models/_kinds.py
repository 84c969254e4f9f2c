"""Typed narrowing of a task result to the kind the caller's program produces.

``get_quantum_task_result`` answers one of three result types, chosen by the result
document's schema: a gate-model circuit gives a :class:`~.results.GateModelResult`, an AHS
program an :class:`~.ahs_results.AnalogHamiltonianSimulationResult`, a program set a
:class:`~.program_set_results.ProgramSetResult`. The caller knows which one it sent, the type
checker does not: ``result.gate_model()`` returns the result typed as a gate-model result, or
raises :class:`~braket_async.errors.ResultKindError` naming what it is instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import ResultKindError
    from .ahs_results import AnalogHamiltonianSimulationResult
    from .program_set_results import ProgramSetResult
    from .results import GateModelResult

__all__ = ["ResultKinds"]


class ResultKinds:
    """The narrowing methods every task result has (``gate_model()`` and its siblings)."""

    __slots__ = ()

    def gate_model(self) -> GateModelResult:
        """This result as a gate-model result (measurements, ``counts``, result types).

        Returns:
            This result, typed as :class:`~braket_async.models.results.GateModelResult`.

        Raises:
            ResultKindError: the task ran an AHS program or a program set.
        """
        from .results import GateModelResult

        if isinstance(self, GateModelResult):
            return self
        raise self._wrong_kind("GateModelResult")

    def analog_hamiltonian_simulation(self) -> AnalogHamiltonianSimulationResult:
        """This result as an analog Hamiltonian simulation result (``shots_results``).

        Returns:
            This result, typed as
            :class:`~braket_async.models.ahs_results.AnalogHamiltonianSimulationResult`.

        Raises:
            ResultKindError: the task ran a gate-model circuit or a program set.
        """
        from .ahs_results import AnalogHamiltonianSimulationResult

        if isinstance(self, AnalogHamiltonianSimulationResult):
            return self
        raise self._wrong_kind("AnalogHamiltonianSimulationResult")

    def program_set(self) -> ProgramSetResult:
        """This result as a program-set result (one ``ProgramResult`` per program).

        Returns:
            This result, typed as
            :class:`~braket_async.models.program_set_results.ProgramSetResult`.

        Raises:
            ResultKindError: the task ran a single gate-model circuit or an AHS program.
        """
        from .program_set_results import ProgramSetResult

        if isinstance(self, ProgramSetResult):
            return self
        raise self._wrong_kind("ProgramSetResult")

    def _wrong_kind(self, expected: str) -> ResultKindError:
        from ..errors import ResultKindError

        arn = getattr(self, "task_arn", None)
        return ResultKindError(
            f"the result of {arn} is a {type(self).__name__}, not a {expected}",
            expected=expected,
            actual=type(self).__name__,
        )
