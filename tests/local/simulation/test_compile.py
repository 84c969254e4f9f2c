"""QPU programs compiled to native gates and connectivity with Qiskit (``_compile``).

Each compiled program is checked against the program as written on the noise-free state-vector
engine: the probabilities over the user's qubits must be the same, the gates native, the
two-qubit gates on connected pairs.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from braket.default_simulator import StateVectorSimulator
from braket.default_simulator.gate_operations import BRAKET_GATES
from braket.ir.openqasm import Program
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from braket_async.local.devices._devices import LocalDevice, default_devices
from braket_async.local.simulation import _compile
from braket_async.local.simulation._compile import (
    CompileError,
    CompileTarget,
    compile_program,
)
from braket_async.local.simulation._executor import ExecutionRequest, SimulatorExecutor

DEVICES = {d.name: d for d in default_devices()}
RUNNING_QPUS = ["Forte 1", "Garnet", "Emerald", "IBEX Q1", "Cepheus-1-108Q"]
#: Every gate kind the QPUs accept, on four qubits, with a three-qubit gate and all-to-all
#: two-qubit gates (no square lattice embeds it: routing must add SWAPs).
MIXED = """OPENQASM 3.0;
qubit[4] q;
bit[4] c;
h q[0]; t q[1]; rx(0.3) q[2]; cnot q[0], q[3]; cphaseshift(0.7) q[3], q[1];
ccnot q[0], q[1], q[2]; xy(0.4) q[2], q[3]; ecr q[1], q[0]; swap q[0], q[2]; ry(1.1) q[3];
iswap q[1], q[3]; pswap(0.2) q[0], q[1]; cphaseshift10(0.5) q[0], q[2]; yy(0.3) q[0], q[1];
v q[2]; si q[3]; gpi(0.3) q[0]; gpi2(0.2) q[1]; ms(0.1, 0.2, 0.3) q[2], q[3];
cswap q[3], q[0], q[1]; U(0.1, 0.2, 0.3) q[2]; prx(0.4, 0.9) q[1]; zz(0.8) q[1], q[2];
c = measure q;
"""
_SIMULATOR = StateVectorSimulator()


def _target(name: str) -> CompileTarget:
    device: LocalDevice = DEVICES[name]
    return CompileTarget.from_capabilities(device.arn, device.provider_name, device.capabilities)


def _probabilities(source: str, qubits: list[str]) -> Any:
    """Exact probabilities over ``qubits`` (in that order) of ``source`` without its
    measurements. The engine's probability result lists its targets in ascending order, so
    ask for them sorted and permute the axes."""
    body = "\n".join(line for line in source.splitlines() if "measure" not in line)
    order = sorted(qubits, key=lambda q: int(q.strip("$q[]")))
    program = Program(source=f"{body}\n#pragma braket result probability {', '.join(order)}")
    values = np.asarray(_SIMULATOR.run_openqasm(program, shots=0).resultTypes[0].value)
    tensor = values.reshape([2] * len(order))
    return tensor.transpose([order.index(q) for q in qubits]).reshape(-1)


def _gates(source: str) -> list[tuple[str, list[int]]]:
    """``(gate, physical qubits)`` of every gate statement of a compiled program."""
    out = []
    for line in source.splitlines():
        match = re.fullmatch(r"\s*([a-z]\w*)(?:\([^)]*\))? ((?:\$\d+(?:, )?)+);", line)
        if match:
            out.append((match.group(1), [int(q) for q in re.findall(r"\$(\d+)", match.group(2))]))
    return out


_ANGLES = {"rx": 1, "ry": 1, "rz": 1, "phaseshift": 1, "cphaseshift": 1, "xx": 1, "yy": 1,
           "zz": 1, "prx": 2, "U": 3}  # fmt: skip
_WIDTH = {"cnot": 2, "cy": 2, "cz": 2, "swap": 2, "iswap": 2, "cphaseshift": 2, "xx": 2,
          "yy": 2, "zz": 2, "ccnot": 3, "cswap": 3}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_compile._STANDARD))
def test_each_named_gate_is_the_qiskit_gate_of_the_same_matrix(name: str) -> None:
    angles = tuple(0.3 + 0.4 * i for i in range(_ANGLES.get(name, 0)))
    width = _WIDTH.get(name, 1)
    gate = _compile._Gate(name, tuple(range(width)), angles, (), 1.0, False)
    circuit = QuantumCircuit(width)
    operation, qubits = _compile._qiskit_operation(gate)
    circuit.append(operation, list(qubits))
    braket = BRAKET_GATES[name](list(range(width)), *angles).matrix
    # Qiskit's matrices are little-endian, Braket's big-endian: reverse the qubits.
    assert np.allclose(Operator(circuit).reverse_qargs().data, braket, atol=1e-9)


def test_modified_gates_are_matrices_with_their_controls() -> None:
    source = "OPENQASM 3.0;\nqubit[4] q;\nh q;\nctrl @ rx(0.4) q[0], q[2];\n"
    source += "negctrl @ inv @ t q[1], q[0];\npow(0.5) @ x q[1];\n"
    source += "ctrl @ negctrl @ xy(0.3) q[3], q[1], q[0], q[2];\n"
    source += "negctrl(2) @ ry(0.7) q[2], q[0], q[3];\nctrl @ inv @ gpi(0.2) q[3], q[1];\n"
    compiled = compile_program(_target("Garnet"), source, {}, rewiring=True)
    assert compiled is not None
    qubits = [f"q[{i}]" for i in range(4)]
    assert np.allclose(
        _probabilities(source, qubits),
        _probabilities(compiled.source, [f"${p}" for p in compiled.physical]),
        atol=1e-7,
    )


@pytest.mark.parametrize("name", RUNNING_QPUS)
def test_compiled_program_is_native_connected_and_equivalent(name: str) -> None:
    target = _target(name)
    compiled = compile_program(target, MIXED, {}, rewiring=True)
    assert compiled is not None and compiled.rewired
    assert compiled.measured == (0, 1, 2, 3)
    gates = _gates(compiled.source)
    assert {g for g, _ in gates} <= set(target.native)
    edges = target.edges
    for gate, qubits in gates:
        assert set(qubits) <= set(target.qubits)
        if len(qubits) == 2 and edges is not None:
            assert (min(qubits), max(qubits)) in edges, (gate, qubits)
    original = _probabilities(MIXED, [f"q[{i}]" for i in range(4)])
    ran = _probabilities(compiled.source, [f"${p}" for p in compiled.physical])
    assert np.allclose(original, ran, atol=1e-7)
    # measured in the user's order, on the physical qubits the compiler chose
    measures = re.findall(r"b\[(\d)\] = measure \$(\d+);", compiled.source)
    assert [(int(i), int(p)) for i, p in measures] == list(enumerate(compiled.physical))


def test_ionq_rotations_become_gpi_pulses_and_frame_changes() -> None:
    # rx of an angle other than pi or pi/2 has no one-pulse form on IonQ.
    source = "OPENQASM 3.0;\nqubit[2] q;\nrx(0.3) q[0];\nrz(0.7) q[0];\nry(1.9) q[0];\n"
    source += "h q[1];\nzz(0.25) q[0], q[1];\nrx(-2.2) q[1];\n"
    compiled = compile_program(_target("Forte 1"), source, {}, rewiring=True)
    assert compiled is not None
    assert {g for g, _ in _gates(compiled.source)} <= {"gpi", "gpi2", "zz"}
    assert np.allclose(
        _probabilities(source, ["q[0]", "q[1]"]),
        _probabilities(compiled.source, [f"${p}" for p in compiled.physical]),
        atol=1e-7,
    )


def test_routing_follows_the_qubits_to_where_they_end() -> None:
    # A six-qubit star: Garnet's qubits have at most four neighbours, so SWAPs move qubits.
    lines = ["OPENQASM 3.0;", "qubit[6] q;", "bit[6] c;", "h q[0];"]
    lines += [f"cnot q[0], q[{i}];" for i in range(1, 6)] + ["x q[3];", "c = measure q;"]
    source = "\n".join(lines)
    compiled = compile_program(_target("Garnet"), source, {}, rewiring=True)
    assert compiled is not None
    assert sum(g == "cz" for g, _ in _gates(compiled.source)) > 5
    ran = _probabilities(compiled.source, [f"${p}" for p in compiled.physical])
    expected = np.zeros(64)
    expected[int("000100", 2)] = expected[int("111011", 2)] = 0.5
    assert np.allclose(ran, expected, atol=1e-7)


def test_verbatim_box_is_passed_through_as_written() -> None:
    source = (
        "OPENQASM 3.0;\nbit[2] c;\nh $1;\n#pragma braket verbatim\nbox {\n"
        "  prx(pi/2, 0) $1;\n  cz $1, $2;\n  prx(pi, pi/2) $2;\n}\ncnot $1, $2;\n"
        "c[0] = measure $2;\nc[1] = measure $1;\n"
    )
    compiled = compile_program(_target("Garnet"), source, {}, rewiring=True)
    assert compiled is not None and not compiled.rewired
    box = (
        f"#pragma braket verbatim\nbox {{\n  prx({math.pi / 2!r}, 0.0) $1;\n  cz $1, $2;\n"
        f"  prx({math.pi!r}, {math.pi / 2!r}) $2;\n}}\n"
    )
    assert box in compiled.source
    before, after = compiled.source.split(box)
    assert {g for g, _ in _gates(before)} == {"prx"} and "$1" in before  # h $1, compiled
    assert {g for g, _ in _gates(after)} == {"prx", "cz"}  # cnot $1, $2 compiled
    assert compiled.measured == compiled.physical == (2, 1)
    assert np.allclose(
        _probabilities(source, ["$2", "$1"]), _probabilities(compiled.source, ["$2", "$1"])
    )


def test_without_rewiring_the_qubits_stay_and_unconnected_pairs_fail() -> None:
    target = _target("Cepheus-1-108Q")  # 0-1 and 0-12 are connected, 0-2 are not
    source = "OPENQASM 3.0;\nqubit[13] q;\nh q[0];\ncnot q[0], q[12];\nb = measure q[0];\n"
    source = source.replace("b = measure", "bit[1] b;\nb[0] = measure")
    kept = compile_program(target, source, {}, rewiring=False)
    assert kept is not None and not kept.rewired
    assert {q for _, qubits in _gates(kept.source) for q in qubits} == {0, 12}
    assert kept.physical == (0,)
    physical = "OPENQASM 3.0;\nbit[2] b;\nh $0;\ncnot $0, $2;\nb[0] = measure $0;\n"
    with pytest.raises(CompileError, match=r"Qubits \$0 and \$2 are not connected"):
        compile_program(target, physical, {}, rewiring=True)
    # the same program with rewiring allowed is placed on connected qubits
    logical = physical.replace("$0", "q[0]").replace("$2", "q[2]")
    logical = logical.replace("bit[2] b;", "qubit[3] q;\nbit[2] b;")
    assert compile_program(target, logical, {}, rewiring=True) is not None


def test_programs_this_compiler_leaves_alone_run_as_written() -> None:
    # a gate after a measurement of its qubit: mid-circuit measurement
    source = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nc[0] = measure q[0];\nx q[0];\n"
    assert compile_program(_target("Garnet"), source, {}, rewiring=True) is None


def test_inputs_are_bound_and_compiled_programs_are_cached() -> None:
    source = "OPENQASM 3.0;\ninput float theta;\nqubit[1] q;\nrx(theta) q[0];\n"
    target = _target("IBEX Q1")
    first = compile_program(target, source, {"theta": 0.5}, rewiring=True)
    assert first is compile_program(target, source, {"theta": 0.5}, rewiring=True)
    other = compile_program(target, source, {"theta": 1.5}, rewiring=True)
    assert first is not None and other is not None and other.source != first.source
    assert "theta" not in first.source
    assert first.measured == (0,)


def test_a_native_set_the_compiler_cannot_reach_fails_clearly() -> None:
    # IonQ Aria-1 (retired) lists ms, which Qiskit has no basis gate for.
    with pytest.raises(CompileError, match=r"native gates of device .*Aria-1 \(gpi, gpi2, ms\)"):
        compile_program(_target("Aria 1"), MIXED, {}, rewiring=True)


def _request(device: str, action: dict[str, Any], shots: int) -> ExecutionRequest:
    return ExecutionRequest(
        "arn:aws:braket:eu-north-1:123456789012:quantum-task/compile",
        DEVICES[device],
        json.dumps(action),
        None,
        shots,
        datetime.now(UTC),
    )


def _program(source: str) -> dict[str, Any]:
    header = {"name": "braket.ir.openqasm.program", "version": "1"}
    return {"braketSchemaHeader": header, "source": source, "inputs": {}}


async def test_result_types_of_a_compiled_program_are_over_the_users_qubits(
    simulator_executor: SimulatorExecutor,
) -> None:
    source = (
        "OPENQASM 3.0;\nqubit[3] q;\nbit[3] c;\nx q[2];\nh q[0];\nc = measure q;\n"
        "#pragma braket result expectation z(q[2])\n#pragma braket result probability q[1]"
    )
    outcome = await simulator_executor.run(_request("Garnet", _program(source), 200))
    assert outcome.result is not None, outcome.failure_reason
    result = outcome.result
    assert result["measuredQubits"] == [0, 1, 2]
    expectation, probability = (rt["value"] for rt in result["resultTypes"])
    assert expectation < -0.8  # q[2] is |1> up to noise, wherever the compiler put it
    assert probability[0] > 0.9  # q[1] is |0>
    assert "iqmMetadata" in result["additionalMetadata"]


async def test_program_set_executables_are_compiled_each(
    simulator_executor: SimulatorExecutor,
) -> None:
    unconnected = "OPENQASM 3.0;\nbit[2] b;\nh $1;\ncnot $1, $3;\nb[0] = measure $1;\n"
    unconnected += "b[1] = measure $3;"
    logical = "OPENQASM 3.0;\nqubit[3] q;\nbit[2] b;\nh q[2];\ncnot q[2], q[0];\n"
    logical += "b[0] = measure q[2];\nb[1] = measure q[0];"
    action = {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program_set", "version": "1"},
        "programs": [_program(unconnected), _program(logical)],
    }
    outcome = await simulator_executor.run(_request("Garnet", action, 40))
    assert outcome.result is not None, outcome.failure_reason
    failed, ran = (p["executableResults"][0] for p in outcome.result["programResults"])
    # Garnet's $1 and $3 are not neighbours, and physical qubits are not rewired
    assert failed["failureMetadata"]["category"] == "COMPILATION"
    assert "Qubits $1 and $3 are not connected" in failed["failureMetadata"]["failureReason"]
    assert ran["measuredQubits"] == [2, 0]  # the user's qubits, in the program's order
    shots = [tuple(shot) for shot in ran["measurements"]]
    assert len(shots) == 20 and shots.count((0, 0)) + shots.count((1, 1)) >= 16


async def test_a_routing_wider_than_the_local_engine_runs_as_written(
    simulator_executor: SimulatorExecutor,
) -> None:
    # A CNOT between every two of five qubits: Cepheus's square lattice routes it through a
    # sixth qubit; with the engine's limit at the program's own five qubits, the program runs
    # as written (no compiled program in the metadata).
    lines = ["OPENQASM 3.0;", "qubit[5] q;", "bit[5] c;", "x q[0];"]
    lines += [f"cnot q[{i}], q[{j}];" for i in range(5) for j in range(i + 1, 5)]
    source = "\n".join([*lines, "c = measure q;"])
    compiled = compile_program(_target("Cepheus-1-108Q"), source, {}, rewiring=True)
    assert compiled is not None and compiled.width > 5
    limits = simulator_executor._limits
    saved = limits["density_matrix"]
    limits["density_matrix"] = 5
    try:
        outcome = await simulator_executor.run(_request("Cepheus-1-108Q", _program(source), 20))
    finally:
        limits["density_matrix"] = saved
    assert outcome.result is not None, outcome.failure_reason
    assert "rigettiMetadata" not in outcome.result["additionalMetadata"]
    assert outcome.result["measuredQubits"] == list(range(5))
