"""SV1's adjoint_gradient, evaluated on the default simulator (values from Braket's answers)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program

from braket_async.local._adjoint_gradient import (
    AdjointGradientError,
    AdjointGradientRequest,
    extract_adjoint_gradient,
    generators,
)

HEADER = "OPENQASM 3.0;\ninput float theta;\n"


def _request(source: str) -> AdjointGradientRequest:
    request = extract_adjoint_gradient(source)
    assert request is not None
    return request


def evaluate(source: str, inputs: dict[str, float]) -> dict[str, object]:
    """The fallback: expectation pragmas per term, parameter shift / finite difference."""
    request = _request(source)
    simulator = StateVectorSimulator()

    def run(text: str, values: dict[str, float]) -> list[float]:
        raw = simulator.run_openqasm(Program(source=text, inputs=values), shots=0)
        return [float(rt.value) for rt in raw.resultTypes]

    return request.result_type(request.value(run, inputs))


def adjoint(source: str, inputs: dict[str, float]) -> dict[str, Any] | None:
    """The adjoint method on the default simulator's circuit, as the worker runs it."""
    request = _request(source)
    simulator = StateVectorSimulator()

    def build(values: dict[str, float]) -> Any:
        return simulator.parse_program(Program(source=request.source, inputs=values)).circuit

    return request.adjoint(build, inputs)


#: The Braket SDK integration suite's circuits (test/integ_tests/test_adjoint_gradient.py) and
#: SV1's answers at theta = 0.2.
SDK_SUITE = [
    (
        "qubit[4] __qubits__;\nrx(theta) __qubits__[0];\n#pragma braket result adjoint_gradient"
        " expectation(-6 * y(__qubits__[0]) @ i(__qubits__[1]) + 0.75 * y(__qubits__[2]) @"
        " z(__qubits__[3])) theta",
        "-6 * y @ i + 0.75 * y @ z",
        [[0, 1], [2, 3]],
        1.1920159847703675,
        5.880399467047451,
    ),
    (
        "qubit[3] __qubits__;\nrx(theta) __qubits__[0];\n#pragma braket result adjoint_gradient"
        " expectation(2 * x(__qubits__[0]) + 3 * y(__qubits__[1])"
        " - 1 * z(__qubits__[2])) theta",
        "2 * x + 3 * y - 1 * z",
        [[0], [1], [2]],
        -1.0,
        0.0,
    ),
    (
        "qubit[2] __qubits__;\nrx(theta) __qubits__[0];\n#pragma braket result adjoint_gradient"
        " expectation(-6 * y(__qubits__[0]) @ i(__qubits__[1]) + 0.75 * y(__qubits__[0]) @"
        " z(__qubits__[1])) theta",
        "-6 * y @ i + 0.75 * y @ z",
        [[0, 1], [0, 1]],
        1.0430139866740715,
        5.145349533666519,
    ),
    (
        "qubit[2] __qubits__;\nrx(theta) __qubits__[0];\n#pragma braket result adjoint_gradient"
        " expectation(6 * y(__qubits__[0]) @ i(__qubits__[1])) theta",
        "6 * y @ i",
        [[0, 1]],
        -1.1920159847703675,
        -5.880399467047451,
    ),
]


@pytest.mark.parametrize(
    ("body", "observable", "targets", "expectation", "gradient"),
    SDK_SUITE,
)
def test_sdk_suite_values_bit_for_bit(
    body: str, observable: str, targets: list[list[int]], expectation: float, gradient: float
) -> None:
    """SV1's published answers, exactly: the adjoint method in SV1's order of operations."""
    assert adjoint(HEADER + body, {"theta": 0.2}) == {
        "expectation": expectation,
        "gradient": {"theta": gradient},
    }


@pytest.mark.parametrize(
    ("body", "observable", "targets", "expectation", "gradient"),
    SDK_SUITE,
)
def test_fallback_agrees_to_rounding(
    body: str, observable: str, targets: list[list[int]], expectation: float, gradient: float
) -> None:
    result = evaluate(HEADER + body, {"theta": 0.2})
    assert result["type"] == {
        "observable": observable,
        "targets": targets,
        "parameters": ["theta"],
        "type": "adjoint_gradient",
    }
    value = result["value"]
    assert isinstance(value, dict)
    assert value["expectation"] == pytest.approx(expectation, abs=1e-14)
    assert value["gradient"]["theta"] == pytest.approx(gradient, abs=1e-13)


def test_finite_difference_where_the_shift_rule_does_not_apply() -> None:
    # theta appears as 2*theta: <Z0 Z1> = cos^2(t) cos(2t), derivative known in closed form.
    source = HEADER + (
        "qubit[2] q;\nrx(theta) q[0]; ry(2*theta) q[1]; rx(theta) q[1];\n"
        "#pragma braket result adjoint_gradient expectation(z(q[0]) @ z(q[1])) all"
    )
    t = 0.2
    value = evaluate(source, {"theta": t})["value"]
    assert isinstance(value, dict)
    assert value["expectation"] == pytest.approx(math.cos(t) ** 2 * math.cos(2 * t), abs=1e-12)
    exact = -math.sin(2 * t) * math.cos(2 * t) - 2 * math.cos(t) ** 2 * math.sin(2 * t)
    assert value["gradient"]["theta"] == pytest.approx(exact, abs=1e-9)


def test_unsupported_requests_are_named() -> None:
    assert extract_adjoint_gradient("qubit q; h q;") is None
    with pytest.raises(AdjointGradientError, match="hermitian"):
        extract_adjoint_gradient(
            HEADER + "qubit q;\n#pragma braket result adjoint_gradient "
            "expectation(hermitian([[1, 0], [0, 1]]) q) theta"
        )
    with pytest.raises(AdjointGradientError, match="expectation"):
        extract_adjoint_gradient(HEADER + "qubit q;\n#pragma braket result adjoint_gradient z(q)")


@pytest.mark.parametrize("gate", sorted(generators()))
def test_each_generator_is_the_gates_derivative(gate: str) -> None:
    """dU/dtheta = G U for the default simulator's own gate, against a central difference."""
    from braket.default_simulator import gate_operations as ops

    classes = {
        "rx": ops.RotX, "ry": ops.RotY, "rz": ops.RotZ, "xx": ops.XX, "yy": ops.YY,
        "zz": ops.ZZ, "phaseshift": ops.PhaseShift, "cphaseshift": ops.CPhaseShift,
        "cphaseshift00": ops.CPhaseShift00, "cphaseshift01": ops.CPhaseShift01,
        "cphaseshift10": ops.CPhaseShift10,
    }  # fmt: skip
    targets = [0] if gate in ("rx", "ry", "rz", "phaseshift") else [0, 1]
    theta, h = 0.37, 1e-6

    def matrix(angle: float) -> Any:
        return classes[gate](targets, angle).matrix

    numeric = (matrix(theta + h) - matrix(theta - h)) / (2 * h)
    assert np.allclose(generators()[gate] @ matrix(theta), numeric, atol=1e-8)


def test_adjoint_sums_every_use_and_every_gate_kind() -> None:
    """theta on three gates of different kinds, phi on one: the adjoint sweep against the
    fallback (parameter shift per use, exact to rounding)."""
    source = (
        "OPENQASM 3.0;\ninput float theta;\ninput float phi;\nqubit[3] q;\n"
        "h q[0]; rx(theta) q[0]; cnot q[0], q[1]; ry(phi) q[1]; zz(theta) q[1], q[2];\n"
        "h q[2]; cphaseshift(theta) q[0], q[2]; rz(0.3) q[1];\n"
        "#pragma braket result adjoint_gradient expectation(0.5 * x(q[0]) @ z(q[2]) "
        "- 2 * y(q[1]) + h(q[2])) all"
    )
    inputs = {"theta": 0.41, "phi": -1.3}
    exact = adjoint(source, inputs)
    assert exact is not None
    reference = evaluate(source, inputs)["value"]
    assert isinstance(reference, dict)
    assert exact["expectation"] == pytest.approx(reference["expectation"], abs=1e-13)
    assert set(exact["gradient"]) == {"theta", "phi"}
    for name in ("theta", "phi"):
        assert exact["gradient"][name] == pytest.approx(reference["gradient"][name], abs=1e-12)
    assert abs(exact["gradient"]["theta"]) > 0.01  # not trivially zero


@pytest.mark.parametrize(
    "use",
    ["ry(2*theta) q[0];", "ctrl @ rx(theta) q[1], q[0];", "prx(theta, 0.1) q[0];"],
)
def test_adjoint_leaves_other_uses_to_the_fallback(use: str) -> None:
    source = HEADER + (
        f"qubit[2] q;\nh q[1]; {use}\n"
        "#pragma braket result adjoint_gradient expectation(z(q[0])) theta"
    )
    assert adjoint(source, {"theta": 0.2}) is None
    assert "gradient" in evaluate(source, {"theta": 0.2})["value"]  # type: ignore[operator]


def test_other_inputs_reach_the_program_as_given() -> None:
    source = (
        "OPENQASM 3.0;\ninput float theta;\ninput int reps;\nqubit[1] q;\n"
        "for int i in [1:reps] { rx(theta) q[0]; }\n"
        "#pragma braket result adjoint_gradient expectation(z(q[0])) theta"
    )
    value = adjoint(source, {"theta": 0.3, "reps": 2})
    assert value is not None
    # two rx(theta): <Z> = cos(2 theta), d/dtheta = -2 sin(2 theta), summed over both uses
    assert value["expectation"] == pytest.approx(math.cos(0.6), abs=1e-14)
    assert value["gradient"] == {"theta": pytest.approx(-2 * math.sin(0.6), abs=1e-14)}
