"""The noise model of an emulated QPU, from its published fidelities (``_noise``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from braket_async.local._devices import default_devices
from braket_async.local._executor import ExecutionRequest, SimulatorExecutor
from braket_async.local._noise import NoiseLevels, noise_levels

DEVICES = {d.name: d for d in default_devices()}
GHZ = (
    "OPENQASM 3.0;\nqubit[3] q;\nbit[3] c;\nh q[0];\ncnot q[0], q[1];\ncnot q[1], q[2];\n"
    "c = measure q;"
)


def test_levels_follow_the_sdk_emulator_factors() -> None:
    forte = noise_levels(DEVICES["Forte 1"].capabilities)
    assert forte is not None
    # IonQ Forte-1: 1Q 99.98 %, 2Q 99.52 %, SPAM 99.59 % (standardized v3 medians).
    assert forte.one_qubit == pytest.approx((1 - 0.9998) * 3 / 2)
    assert forte.two_qubit == pytest.approx((1 - 0.9952) * 5 / 4)
    assert forte.readout == pytest.approx(1 - 0.9959)
    assert forte.native == ("gpi", "gpi2", "zz")
    garnet = noise_levels(DEVICES["Garnet"].capabilities)
    assert garnet is not None and garnet.native == ("cz", "prx")
    # Per-qubit (standardized v1) medians: the published 99.9 % / 99.5 % / 98 %.
    assert garnet.one_qubit == pytest.approx(0.0015, abs=0.0004)
    assert garnet.two_qubit == pytest.approx(0.00625, abs=0.003)
    assert garnet.readout == pytest.approx(0.02, abs=0.01)
    assert noise_levels(DEVICES["SV1"].capabilities) is None
    assert NoiseLevels.from_list(garnet.as_list()) == garnet


def _ghz(device: str) -> ExecutionRequest:
    action = json.dumps(
        {
            "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
            "source": GHZ,
            "inputs": {},
        }
    )
    return ExecutionRequest(
        "arn:aws:braket:eu-north-1:123456789012:quantum-task/noise",
        DEVICES[device],
        action,
        None,
        2000,
        datetime.now(UTC),
    )


def _counts(result: dict[str, Any] | None) -> Counter[str]:
    assert result is not None
    return Counter("".join(map(str, m)) for m in result["measurements"])


async def test_ghz_on_a_noisy_qpu_is_plausible_not_perfect(
    simulator_executor: SimulatorExecutor,
) -> None:
    counts = _counts((await simulator_executor.run(_ghz("Cepheus-1-108Q"))).result)
    ideal = counts["000"] + counts["111"]
    # Two CZ-native CNOTs at ~99.2 %, three qubits read at ~96 %: about 12 % of shots err.
    assert 0.75 * 2000 < ideal < 0.97 * 2000
    assert abs(counts["000"] - counts["111"]) < 0.15 * 2000
    assert len(counts) > 2


async def test_noise_can_be_turned_off(simulator_executor: SimulatorExecutor) -> None:
    simulator_executor.noise = False
    try:
        counts = _counts((await simulator_executor.run(_ghz("Cepheus-1-108Q"))).result)
    finally:
        simulator_executor.noise = True
    assert set(counts) == {"000", "111"}
