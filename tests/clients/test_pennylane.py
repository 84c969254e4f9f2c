"""The PennyLane Braket plugin (amazon-braket-pennylane-plugin, extra ``clients``), unmodified,
against the local service with only ``environ()`` applied: expectation values and samples,
SV1's device gradient (adjoint), parameter shift with shots, parallel batches, and a shots > 0
QNode without gate parameters (which failed while SV1 listed program sets, issue #22)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from local.conformance.test_sdk_fidelity import SV1, sdk_call

from braket_async.local import LocalBraket

pytest.importorskip("braket.pennylane_plugin", reason="the PennyLane plugin: 'clients' extra")


def _device(wires: int, shots: int | None, **options: Any) -> Any:
    import pennylane as qml

    return qml.device("braket.aws.qubit", device_arn=SV1, wires=wires, shots=shots, **options)


async def test_device_gradient_is_svs_adjoint(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    """shots=0 on SV1: the plugin asks for SV1's adjoint gradient (diff_method="device"), and
    gets SV1's published answer for the SDK's circuit bit for bit."""

    def run() -> tuple[float, float]:
        import pennylane as qml
        from pennylane import numpy as pnp

        @qml.qnode(_device(1, None), diff_method="device")
        def circuit(theta: Any) -> Any:
            qml.RX(theta, wires=0)
            return qml.expval(-6 * qml.PauliY(0))

        theta = pnp.array(0.2, requires_grad=True)
        return float(circuit(theta)), float(qml.grad(circuit)(theta))

    value, gradient = await sdk_call(run)
    assert value == 1.1920159847703675
    assert gradient == 5.880399467047451


async def test_parameter_shift_with_shots(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    def run() -> tuple[float, float]:
        import pennylane as qml
        from pennylane import numpy as pnp

        @qml.qnode(_device(1, 2000), diff_method="parameter-shift")
        def circuit(theta: Any) -> Any:
            qml.RY(theta, wires=0)
            return qml.expval(qml.PauliZ(0))

        theta = pnp.array(0.6, requires_grad=True)
        return float(circuit(theta)), float(qml.grad(circuit)(theta))

    value, gradient = await sdk_call(run)
    assert value == pytest.approx(math.cos(0.6), abs=0.08)
    assert gradient == pytest.approx(-math.sin(0.6), abs=0.12)


async def test_shots_without_gate_parameters(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    """The case of issue #22: shots > 0 and no gate parameter, sent as plain OpenQASM now
    that SV1 lists no program sets."""

    def run() -> tuple[Any, Any]:
        import pennylane as qml

        @qml.qnode(_device(2, 100))
        def bell() -> Any:
            qml.Hadamard(wires=0)
            qml.CNOT(wires=[0, 1])
            return qml.counts(), qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

        return bell()

    counts, parity = await sdk_call(run)
    assert sum(counts.values()) == 100 and set(counts) <= {"00", "11"}
    assert float(parity) == 1.0
    actions = {task.action_type for task in local_braket.store.tasks.values()}
    assert "braket.ir.openqasm.program_set" not in actions


async def test_parallel_batch(local_braket: LocalBraket, local_env: dict[str, str]) -> None:
    """parallel=True: the plugin sends a batch of tasks (one per circuit) at once."""

    def run() -> list[float]:
        import pennylane as qml

        device = _device(1, None, parallel=True, max_parallel=4)
        tapes = []
        for angle in (0.0, math.pi / 2, math.pi):
            with qml.tape.QuantumTape() as tape:
                qml.RX(angle, wires=0)
                qml.expval(qml.PauliZ(0))
            tapes.append(tape)
        return [float(v) for v in qml.execute(tapes, device, diff_method=None)]

    values = await sdk_call(run)
    assert values == pytest.approx([1.0, 0.0, -1.0], abs=1e-12)
