"""OpenQASM 3 circuits for the demo and the examples: GHZ states and seeded random circuits."""

from __future__ import annotations

import math
import random

__all__ = ["ghz", "is_ghz_outcome", "random_circuit"]

_ONE_QUBIT = ("h", "x", "y", "z", "s", "t")
_ROTATIONS = ("rx", "ry", "rz")


def ghz(qubits: int = 3) -> str:
    """A GHZ circuit on ``qubits`` qubits: measured, it gives all zeros or all ones, ~50/50."""
    if qubits < 2:
        raise ValueError(f"qubits must be >= 2 for a GHZ state, got {qubits}")
    lines = ["h q[0];"] + [f"cnot q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    return _program(qubits, lines)


def random_circuit(qubits: int, depth: int, rng: random.Random) -> str:
    """A random circuit: ``depth`` layers of one-qubit gates and rotations, then CNOTs.

    ``rng`` makes it reproducible (``random.Random(seed)``).
    """
    if qubits < 2:
        raise ValueError(f"qubits must be >= 2, got {qubits}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    lines: list[str] = []
    for _ in range(depth):
        for q in range(qubits):
            if rng.random() < 0.5:
                lines.append(f"{rng.choice(_ONE_QUBIT)} q[{q}];")
            else:
                angle = rng.uniform(0.0, 2.0 * math.pi)
                lines.append(f"{rng.choice(_ROTATIONS)}({angle:.6f}) q[{q}];")
        control, target = rng.sample(range(qubits), 2)
        lines.append(f"cnot q[{control}], q[{target}];")
    return _program(qubits, lines)


def is_ghz_outcome(bits: str) -> bool:
    """Whether a measured bitstring is one of the two ideal GHZ outcomes."""
    return len(set(bits)) == 1


def _program(qubits: int, body: list[str]) -> str:
    header = ["OPENQASM 3;", f"qubit[{qubits}] q;", f"bit[{qubits}] c;"]
    return "\n".join([*header, *body, "c = measure q;", ""])
