"""The demo's circuits run on the real simulator with the expected statistics."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program

from braket_async.cli._circuits import ghz, is_ghz_outcome, random_circuit


def run(source: str, shots: int) -> Counter[str]:
    result = StateVectorSimulator().run_openqasm(Program(source=source, inputs={}), shots=shots)
    return Counter("".join(str(bit) for bit in row) for row in result.measurements)


@pytest.mark.parametrize("qubits", [2, 3, 5])
def test_ghz_measures_all_zeros_or_all_ones(qubits: int) -> None:
    counts = run(ghz(qubits), shots=400)
    assert set(counts) == {"0" * qubits, "1" * qubits}
    assert 120 < counts["0" * qubits] < 280  # ~50/50 (a 7-sigma band)
    assert all(is_ghz_outcome(bits) for bits in counts)


def test_random_circuits_are_reproducible_valid_and_varied() -> None:
    first = random_circuit(4, 5, random.Random(1))
    assert first == random_circuit(4, 5, random.Random(1))
    assert first != random_circuit(4, 5, random.Random(2))
    counts = run(first, shots=200)
    assert sum(counts.values()) == 200 and all(len(bits) == 4 for bits in counts)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="qubits must be >= 2"):
        ghz(1)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        random_circuit(3, 0, random.Random())
    assert not is_ghz_outcome("010")
