"""The union of the result models a quantum task can have (what a download answers)."""

from __future__ import annotations

from .ahs_results import AnalogHamiltonianSimulationResult
from .program_set_results import ProgramSetResult
from .results import GateModelResult

__all__ = ["TaskResult"]

TaskResult = GateModelResult | AnalogHamiltonianSimulationResult | ProgramSetResult
"""A gate-model, analog Hamiltonian simulation or program-set result."""
