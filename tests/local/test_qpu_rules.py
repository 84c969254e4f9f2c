"""A QPU's rules at CreateQuantumTask, through a boto3-compatible client on real device ARNs:
unsupported gates, qubits beyond the device, verbatim boxes off the native gates or the
connectivity, shots out of range, unsupported result types, a wrong action type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _common import raw_client
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket

from ._helpers import NO_RETRIES, openqasm, task_request

GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
HEAD = "OPENQASM 3.0;\n"


async def _create(local: LocalBraket, device: str, action: str, shots: int = 100) -> Any:
    region = device.split(":")[3]
    async with raw_client("braket", local.endpoint_url, region=region, config=NO_RETRIES) as c:
        return await c.create_quantum_task(
            **task_request(local, deviceArn=device, action=action, shots=shots)
        )


async def _refused(local: LocalBraket, device: str, action: str, shots: int = 100) -> str:
    with pytest.raises(ClientError) as info:
        await _create(local, device, action, shots)
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = error["Message"]
    return message


@pytest.mark.parametrize(
    ("device", "source", "expected"),
    [
        pytest.param(
            FORTE, "qubit[2] q;\nh q[0];\ncphaseshift(0.3) q[0], q[1];",
            "[line 4] uses a gate: cphaseshift which is not supported by the device or defined "
            "via a defcal", id="unsupported-gate",
        ),
        pytest.param(
            FORTE, "qubit[37] q;\nh q[0];",
            f"[line 2] The program declares 37 qubits; device {FORTE} has 36.", id="too-many",
        ),
        pytest.param(
            GARNET, "bit[1] b;\nh $21;\nb[0] = measure $21;",
            f"[line 3] Qubit $21 does not exist on device {GARNET}.", id="no-such-qubit",
        ),
        pytest.param(
            GARNET, "#pragma braket verbatim\nbox {\n  cz $1, $3;\n}",
            f"[line 4] Qubits $1 and $3 of cz in a verbatim box are not connected on device "
            f"{GARNET}.", id="verbatim-not-adjacent",
        ),
        pytest.param(
            GARNET, "#pragma braket verbatim\nbox {\n  h $1;\n}",
            f"[line 4] Gate h in a verbatim box is not a native gate of device {GARNET}; native "
            "gates: cz, prx.", id="verbatim-not-native",
        ),
        pytest.param(
            FORTE, "qubit[2] q;\n#pragma braket result state_vector\nh q[0];",
            "Pragma 'braket_result_type_state_vector' is not supported by this device",
            id="unsupported-result-type",
        ),
    ],
)  # fmt: skip
async def test_a_program_breaking_a_rule_is_refused_at_create(
    local_braket: LocalBraket, device: str, source: str, expected: str
) -> None:
    message = await _refused(local_braket, device, openqasm(HEAD + source))
    assert message.startswith(expected)


async def test_shots_outside_the_range_and_a_wrong_action_are_refused(
    local_braket: LocalBraket,
) -> None:
    bell = openqasm(HEAD + "qubit[2] q;\nh q[0];\ncnot q[0], q[1];")
    message = await _refused(local_braket, FORTE, bell, shots=5001)
    assert message == f"Shot count should be between 1 and 5000 on {FORTE}, but found 5001."
    ahs = json.dumps({"braketSchemaHeader": {"name": "braket.ir.ahs.program", "version": "1"}})
    message = await _refused(local_braket, FORTE, ahs)
    assert message.startswith(f"Device {FORTE} does not support action braket.ir.ahs.program")


async def test_programs_within_the_rules_are_accepted(local_braket: LocalBraket) -> None:
    native = "#pragma braket verbatim\nbox {\n  prx(0.5, 0.1) $1;\n  cz $1, $2;\n}"
    compiled = "qubit[3] q;\nh q[0];\ncnot q[0], q[2];\nswap q[1], q[2];"
    for device, source in ((GARNET, native), (GARNET, compiled), (FORTE, compiled)):
        created = await _create(local_braket, device, openqasm(HEAD + source), shots=10)
        assert created["quantumTaskArn"]
