"""SV1's adjoint_gradient, evaluated on the default simulator (values from Braket's answers)."""

from __future__ import annotations

import math

import pytest
from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program

from braket_async.local._adjoint_gradient import AdjointGradientError, extract_adjoint_gradient

HEADER = "OPENQASM 3.0;\ninput float theta;\n"


def evaluate(source: str, inputs: dict[str, float]) -> dict[str, object]:
    request = extract_adjoint_gradient(source)
    assert request is not None
    simulator = StateVectorSimulator()

    def run(text: str, values: dict[str, float]) -> list[float]:
        raw = simulator.run_openqasm(Program(source=text, inputs=values), shots=0)
        return [float(rt.value) for rt in raw.resultTypes]

    return request.result_type(request.value(run, inputs))


@pytest.mark.parametrize(
    ("body", "observable", "targets", "expectation", "gradient"),
    [
        # The Braket SDK integration suite's circuits and SV1's answers.
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
    ],
)
def test_sdk_suite_values(
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
