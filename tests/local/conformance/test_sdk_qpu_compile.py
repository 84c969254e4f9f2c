"""QPU programs compiled to native gates and connectivity, through boto3 and the unmodified
Braket SDK, on real device ARNs: what ran is in the provider's metadata, the counts are over
the user's qubits."""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from typing import Any

import boto3

from braket_async.local import LocalBraket

from .test_sdk_fidelity import sdk_call

GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"
CEPHEUS = "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q"
#: A six-qubit GHZ as a star from q[0]: no qubit of Garnet's square lattice has five
#: neighbours, so the compiler must move qubits (SWAPs) to run it.
STAR_GHZ = "\n".join(
    ["OPENQASM 3.0;", "qubit[6] q;", "bit[6] c;", "h q[0];"]
    + [f"cnot q[0], q[{i}];" for i in range(1, 6)]
    + ["c = measure q;"]
)


def _edges(device_arn: str) -> set[tuple[int, int]]:
    client = boto3.client("braket", region_name=device_arn.split(":")[3])
    capabilities = json.loads(client.get_device(deviceArn=device_arn)["deviceCapabilities"])
    graph = capabilities["paradigm"]["connectivity"]["connectivityGraph"]
    return {(min(int(a), int(b)), max(int(a), int(b))) for a, bs in graph.items() for b in bs}


def _gates(program: str) -> list[tuple[str, list[int]]]:
    found = re.findall(r"^\s*([a-z]\w*)(?:\([^)]*\))? ((?:\$\d+(?:, )?)+);$", program, re.M)
    return [(gate, [int(q) for q in re.findall(r"\d+", qubits)]) for gate, qubits in found]


def _run_with_boto3(device_arn: str, source: str, shots: int, bucket: str) -> dict[str, Any]:
    """Create a task, wait for it, return its results.json from S3."""
    region = device_arn.split(":")[3]
    braket = boto3.client("braket", region_name=region)
    arn = braket.create_quantum_task(
        deviceArn=device_arn,
        action=json.dumps(
            {
                "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                "source": source,
                "inputs": {},
            }
        ),
        shots=shots,
        outputS3Bucket=bucket,
        outputS3KeyPrefix="compile",
    )["quantumTaskArn"]
    deadline = time.monotonic() + 60
    while True:
        task = braket.get_quantum_task(quantumTaskArn=arn)
        if task["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        assert time.monotonic() < deadline, task["status"]
        time.sleep(0.05)
    assert task["status"] == "COMPLETED", task.get("failureReason")
    s3 = boto3.client("s3", region_name=region)
    key = f"{task['outputS3Directory']}/results.json"
    body = s3.get_object(Bucket=task["outputS3Bucket"], Key=key)["Body"].read()
    result: dict[str, Any] = json.loads(body)
    return result


async def test_ghz_routed_on_iqm_garnet_is_noisy_over_the_users_qubits(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    result = await sdk_call(
        lambda: _run_with_boto3(GARNET, STAR_GHZ, 300, local_braket.default_bucket)
    )
    assert result["measuredQubits"] == [0, 1, 2, 3, 4, 5]  # the user's qubits, in order
    counts = Counter("".join(map(str, shot)) for shot in result["measurements"])
    ideal = counts["000000"] + counts["111111"]
    assert sum(counts.values()) == 300
    # More CZs than the five CNOTs (routing) at ~99 %, six readouts at ~98 %: plausible, not
    # perfect; both halves of the GHZ present.
    assert 0.6 * 300 < ideal < 300
    assert counts["000000"] > 60 and counts["111111"] > 60
    compiled = result["additionalMetadata"]["iqmMetadata"]["compiledProgram"]
    assert result["additionalMetadata"]["iqmMetadata"]["braketSchemaHeader"] == {
        "name": "braket.task_result.iqm_metadata",
        "version": "1",
    }
    gates = _gates(compiled)
    edges = await sdk_call(lambda: _edges(GARNET))
    assert {g for g, _ in gates} == {"prx", "cz"}
    assert all((min(q), max(q)) in edges for g, q in gates if g == "cz")
    assert sum(g == "cz" for g, _ in gates) > 5  # SWAPs were added
    # what the user sent is the action; what ran is the compiled program
    assert result["additionalMetadata"]["action"]["source"] == STAR_GHZ


def _sdk_run(device_arn: str, build: Any, **kwargs: Any) -> Any:
    from braket.aws import AwsDevice

    device = AwsDevice(device_arn)
    task = device.run(build(), shots=100, poll_interval_seconds=0.05, **kwargs)
    return task.result(), task.state()


async def test_sdk_circuit_of_non_native_gates_runs_native_gates_on_connected_pairs(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    from braket.circuits import Circuit

    # A triangle of two-qubit gates: Garnet's lattice has none, so one pair needs a SWAP.
    result, state = await sdk_call(
        lambda: _sdk_run(GARNET, lambda: Circuit().h(0).cnot(0, 1).cnot(1, 2).cz(0, 2))
    )
    assert state == "COMPLETED"
    assert result.measured_qubits == [0, 1, 2]
    counts = result.measurement_counts
    assert counts["000"] + counts["111"] >= 80 and counts["000"] > 20 and counts["111"] > 20
    # the SDK parsed the metadata with its schema class (IqmMetadata)
    compiled = result.additional_metadata.iqmMetadata.compiledProgram
    gates = _gates(compiled)
    edges = await sdk_call(lambda: _edges(GARNET))
    assert gates and {g for g, _ in gates} <= {"prx", "cz"}
    assert all((min(q), max(q)) in edges for g, q in gates if g == "cz")
    assert not re.search(r"^\s*(h|cnot) ", compiled, re.M)


async def test_sdk_verbatim_box_runs_as_written_and_the_rest_is_compiled(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    from braket.circuits import Circuit

    def build() -> Any:
        box = Circuit().prx(1, math.pi / 2, 0).cz(1, 4).prx(4, math.pi, math.pi / 2)
        return Circuit().h(4).add_verbatim_box(box).cnot(1, 4)

    result, state = await sdk_call(lambda: _sdk_run(GARNET, build))
    assert state == "COMPLETED"
    # physical qubits (no rewiring), in the order the SDK's program measures them
    assert result.measured_qubits == [4, 1]
    assert "b[0] = measure $4;" in result.additional_metadata.action.source
    compiled = result.additional_metadata.iqmMetadata.compiledProgram
    box = (
        f"#pragma braket verbatim\nbox {{\n  prx({math.pi / 2!r}, 0.0) $1;\n  cz $1, $4;\n"
        f"  prx({math.pi!r}, {math.pi / 2!r}) $4;\n}}\n"
    )
    assert box in compiled
    before, after = compiled.split(box)
    assert "h " not in before and {g for g, _ in _gates(before)} == {"prx"}
    assert "cnot" not in after and {g for g, _ in _gates(after)} == {"prx", "cz"}
    assert {q for _, qubits in _gates(compiled) for q in qubits} == {1, 4}


async def test_sdk_disable_qubit_rewiring_keeps_the_qubits(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    from braket.circuits import Circuit

    # Rigetti Cepheus: 13 and 14 are neighbours; 13 and 15 are not.
    result, state = await sdk_call(
        lambda: _sdk_run(
            CEPHEUS, lambda: Circuit().h(13).cnot(13, 14), disable_qubit_rewiring=True
        )
    )
    assert state == "COMPLETED"
    assert result.measured_qubits == [13, 14]
    compiled = result.additional_metadata.rigettiMetadata.compiledProgram
    gates = _gates(compiled)
    assert {q for _, qubits in gates for q in qubits} == {13, 14}
    assert {g for g, _ in gates} <= {"rx", "rz", "cz"} and ("cz", [13, 14]) in gates
    counts = result.measurement_counts
    assert counts["00"] + counts["11"] >= 80

    def unconnected() -> Any:
        from braket.aws import AwsDevice

        task = AwsDevice(CEPHEUS).run(
            Circuit().h(13).cnot(13, 15), shots=10, disable_qubit_rewiring=True
        )
        while task.state() not in ("COMPLETED", "FAILED", "CANCELLED"):
            time.sleep(0.05)
        return task.state(), task.metadata().get("failureReason")

    state, reason = await sdk_call(unconnected)
    assert state == "FAILED"
    assert "Qubits $13 and $15 are not connected" in reason and "rewiring is disabled" in reason
