"""Typed narrowing of a task result to the kind the caller's program produces.

``get_quantum_task_result`` answers one of three result types, chosen by the result
document's schema: a gate-model circuit gives a :class:`~.results.GateModelResult`, an AHS
program an :class:`~.ahs_results.AnalogHamiltonianSimulationResult`, a program set a
:class:`~.program_set_results.ProgramSetResult`. The caller knows which one it sent, the type
checker does not: ``result.gate_model()`` returns the result typed as a gate-model result, or
raises :class:`~braket_async.errors.ResultKindError` naming what it is instead.

Each result class answers its own kind's method with itself and takes the other two from the
mixins here, which raise (typed ``NoReturn``, so on the union the one real answer is the type).
This module names none of the result classes: they import it, never the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ..errors import ResultKindError

__all__ = ["NotAnalogHamiltonianSimulation", "NotGateModel", "NotProgramSet"]


def _wrong_kind(result: object, expected: str) -> ResultKindError:
    from ..errors import ResultKindError  # errors imports models: import when needed

    actual = type(result).__name__
    arn = getattr(result, "task_arn", None)
    return ResultKindError(
        f"the result of {arn} is a {actual}, not a {expected}", expected=expected, actual=actual
    )


class NotGateModel:
    """``gate_model()`` of a result that is not a gate-model result."""

    __slots__ = ()

    def gate_model(self) -> NoReturn:
        """This result as a gate-model result: it is not one.

        Raises:
            ResultKindError: the task ran an AHS program or a program set.
        """
        raise _wrong_kind(self, "GateModelResult")


class NotAnalogHamiltonianSimulation:
    """``analog_hamiltonian_simulation()`` of a result that is not an AHS result."""

    __slots__ = ()

    def analog_hamiltonian_simulation(self) -> NoReturn:
        """This result as an analog Hamiltonian simulation result: it is not one.

        Raises:
            ResultKindError: the task ran a gate-model circuit or a program set.
        """
        raise _wrong_kind(self, "AnalogHamiltonianSimulationResult")


class NotProgramSet:
    """``program_set()`` of a result that is not a program-set result."""

    __slots__ = ()

    def program_set(self) -> NoReturn:
        """This result as a program-set result: it is not one.

        Raises:
            ResultKindError: the task ran a single gate-model circuit or an AHS program.
        """
        raise _wrong_kind(self, "ProgramSetResult")
