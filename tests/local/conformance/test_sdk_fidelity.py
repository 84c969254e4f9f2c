"""Differences the Braket SDK's own integration suite found, reproduced through the SDK and boto3.

Each test makes the call the SDK's suite makes and expects what Braket answers: adjoint gradient
on SV1, several result pragmas on one line, partial measurement refused at create, reservations
refused on simulators, capabilities enforced at create; plus AHS and program-set tasks end to
end through the unmodified SDK.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
import pytest
from _common import PROGRAM_SET_DEVICE
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket

from .test_sdk import sdk_call as _sdk_call_in_shared_threads

T = TypeVar("T")


async def sdk_call(fn: Callable[[], T]) -> T:
    """``test_sdk.sdk_call`` in a thread of its own: the SDK keeps one event loop per thread,
    which that helper closes afterwards, so a pooled thread must not be reused."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return await loop.run_in_executor(pool, _in_own_thread, fn)


def _in_own_thread(fn: Callable[[], T]) -> T:
    return asyncio.run(_sdk_call_in_shared_threads(fn))


SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"
RESERVATION = (
    "arn:aws:braket:us-east-1:123456789012:reservation/a1b123cd-45e6-789f-gh01-i234567jk8l9"
)
PARTIAL = re.escape(
    "An error occurred (ValidationException) when calling the CreateQuantumTask operation: "
    "Device requires all qubits in the program to be measured. This may be caused by "
    "declaring non-contiguous qubits or measuring partial qubits"
)


# 1. Adjoint gradient on SV1 ------------------------------------------------------------------


def _adjoint_gradient(bucket: str) -> Any:
    from braket.aws import AwsQuantumTask, AwsSession
    from braket.circuits import Circuit, Observable
    from braket.parametric import FreeParameter

    theta = FreeParameter("theta")
    circuit = (
        Circuit()
        .rx(0, theta)
        .adjoint_gradient(
            observable=(-2 * Observable.Y()) @ (3 * Observable.I())
            + 0.75 * Observable.Y() @ Observable.Z(),
            target=[[0, 1], [2, 3]],
            parameters=["theta"],
        )
    )
    task = AwsQuantumTask.create(
        aws_session=AwsSession(),
        task_specification=circuit,
        s3_destination_folder=(bucket, "fidelity/adjoint"),
        device_arn=SV1,
        shots=0,
        inputs={"theta": 0.2},
        poll_interval_seconds=0.05,
    )
    return task.result()


async def test_adjoint_gradient_on_sv1_matches_braket(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    result = await sdk_call(lambda: _adjoint_gradient(local_braket.default_bucket))
    (value,) = result.values
    # Braket's answer for this circuit (SDK integration suite), bit for bit.
    assert value == {"expectation": 1.1920159847703675, "gradient": {"theta": 5.880399467047451}}
    assert result.result_types[0].type.observable == "-6 * y @ i + 0.75 * y @ z"
    assert result.additional_metadata.action.inputs == {"theta": 0.2}
    # The source is reported as sent (the pragma is not rewritten in the result).
    assert "adjoint_gradient" in result.additional_metadata.action.source


def _create_raw(device: str, action: dict[str, Any], shots: int, bucket: str, **extra: Any) -> str:
    """CreateQuantumTask through boto3 (blocking: call it in a thread); its ARN."""
    arn: str = boto3.client("braket").create_quantum_task(
        deviceArn=device,
        action=json.dumps(action),
        shots=shots,
        outputS3Bucket=bucket,
        outputS3KeyPrefix="fidelity",
        **extra,
    )["quantumTaskArn"]
    return arn


def _create(device: str, source: str, shots: int, bucket: str, **extra: Any) -> str:
    action = {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
        "source": source,
        "inputs": {},
    }
    return _create_raw(device, action, shots, bucket, **extra)


async def test_adjoint_gradient_is_refused_where_the_capabilities_forbid_it(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    source = (
        "OPENQASM 3.0; input float theta; qubit[1] q; rx(theta) q[0];\n"
        "#pragma braket result adjoint_gradient expectation(z(q[0])) theta"
    )
    for device, shots in ((DM1, 0), (SV1, 10)):  # DM1 forbids it; SV1 allows only shots=0
        with pytest.raises(ClientError) as caught:
            await asyncio.to_thread(_create, device, source, shots, local_braket.default_bucket)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "adjoint_gradient" in str(caught.value) or "AdjointGradient" in str(caught.value)


async def test_forbidden_noise_pragma_is_refused_at_create(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    source = "OPENQASM 3; qubit[1] q; x q[0];\n#pragma braket noise bit_flip(0.1) q[0]"
    with pytest.raises(ClientError, match="braket_noise_bit_flip") as caught:
        await asyncio.to_thread(_create, SV1, source, 10, local_braket.default_bucket)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# 2. Several pragmas on one line --------------------------------------------------------------


def _one_line_pragmas(device: str) -> list[Any]:
    from braket.aws import AwsDevice
    from braket.ir.openqasm import Program

    source = (
        "OPENQASM 3; qubit[2] q; h q[0]; cnot q[0], q[1]; "
        "#pragma braket result expectation z(q[0]) @ z(q[1]) "
        "#pragma braket result probability q[0], q[1]"
    )
    task = AwsDevice(device).run(Program(source=source), shots=0, poll_interval_seconds=0.05)
    return list(task.result().values)


@pytest.mark.parametrize("device", [SV1, DM1])
async def test_every_pragma_of_a_line_is_run(
    device: str, local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    values = await sdk_call(lambda: _one_line_pragmas(device))
    assert len(values) == 2
    assert values[0] == pytest.approx(1.0)
    assert list(values[1]) == pytest.approx([0.5, 0.0, 0.0, 0.5])


# 3. Partial measurement ----------------------------------------------------------------------


def _partial_measurement() -> None:
    from braket.aws import AwsDevice
    from braket.circuits import Circuit

    circuit = Circuit().h(0).cnot(0, 1).h(2).measure([0, 1])
    AwsDevice(SV1).run(circuit, shots=1000)


async def test_partial_measurement_is_refused_on_sv1(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    before = len(local_braket.store.tasks)
    with pytest.raises(ClientError, match=PARTIAL):
        await sdk_call(_partial_measurement)
    assert len(local_braket.store.tasks) == before  # no task was created


async def test_partial_measurement_through_boto3_and_full_measurement_accepted(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    bucket = local_braket.default_bucket
    partial = "OPENQASM 3; qubit[3] q; bit[2] b; h q[0]; b[0] = measure q[0]; b[1] = measure q[1];"
    with pytest.raises(ClientError, match=PARTIAL):
        await asyncio.to_thread(_create, SV1, partial, 10, bucket)
    full = "OPENQASM 3; qubit[3] q; bit[3] b; h q[0]; b = measure q;"
    ranged = "OPENQASM 3; qubit[3] q; bit[3] b; h q[0]; b = measure q[0:2];"
    implicit = "OPENQASM 3; qubit[3] q; h q[0];"  # no measurement: all qubits are measured
    for source in (full, ranged, implicit):
        arn = await asyncio.to_thread(_create, SV1, source, 10, bucket)
        assert arn.startswith("arn:aws:braket:")


# 4. Reservations on simulators ---------------------------------------------------------------


def _reserved_run(context: bool) -> None:
    from braket.aws import AwsDevice, DirectReservation
    from braket.circuits import Circuit

    device = AwsDevice(SV1)
    if context:
        with DirectReservation(device, reservation_arn=RESERVATION):
            device.run(Circuit().h(0), shots=10)
    else:
        device.run(Circuit().h(0), shots=10, reservation_arn=RESERVATION)


@pytest.mark.parametrize("context", [False, True], ids=["argument", "DirectReservation"])
async def test_reservation_on_a_simulator_is_refused(
    context: bool, local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    with pytest.raises(ClientError, match="Braket Direct is not supported for") as caught:
        await sdk_call(lambda: _reserved_run(context))
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# 5. AHS ----------------------------------------------------------------------------------------


def _ahs_program() -> Any:
    from braket.ahs.analog_hamiltonian_simulation import AnalogHamiltonianSimulation
    from braket.ahs.atom_arrangement import AtomArrangement
    from braket.ahs.driving_field import DrivingField
    from braket.timings.time_series import TimeSeries

    register = AtomArrangement().add((0.0, 0.0)).add((0.0, 5.0e-6)).add((12.0e-6, 0.0))
    omega = 1.58e7
    duration = 4.0e-6
    amplitude = TimeSeries().put(0.0, 0.0).put(1e-7, omega).put(3.9e-6, omega).put(duration, 0.0)
    detuning = TimeSeries().put(0.0, -1.25e8).put(1e-7, -1.25e8).put(3.9e-6, 1.25e8)
    detuning.put(duration, 1.25e8)
    phase = TimeSeries().put(0.0, 0.0).put(duration, 0.0)
    drive = DrivingField(amplitude=amplitude, phase=phase, detuning=detuning)
    return AnalogHamiltonianSimulation(register=register, hamiltonian=drive)


def _run_ahs() -> tuple[Any, Any, str]:
    from braket.aws import AwsDevice

    device = AwsDevice(AQUILA)
    task = device.run(_ahs_program(), shots=50, poll_interval_seconds=0.05)
    return task.result(), device.properties, task.state()


async def test_ahs_program_runs_through_the_sdk(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    from braket.device_schema.quera import QueraDeviceCapabilities
    from braket.tasks import AnalogHamiltonianSimulationQuantumTaskResult

    result, properties, state = await sdk_call(_run_ahs)
    assert state == "COMPLETED"
    assert isinstance(properties, QueraDeviceCapabilities)  # the SDK reads Aquila's schema
    assert isinstance(result, AnalogHamiltonianSimulationQuantumTaskResult)
    assert len(result.measurements) == 50
    for shot in result.measurements:
        assert shot.status.value == "Success"
        assert list(shot.pre_sequence) == [1, 1, 1]
        assert len(shot.post_sequence) == 3
    # Adiabatic sweep: the isolated third atom ends in the Rydberg state (post bit 0; 99.9% of
    # shots), and the blockaded pair (5 um apart) almost never holds two Rydberg atoms (0.5% of
    # shots, measured over 2000): bounds that fail by chance far less than once in 10^6 runs.
    rydberg_far = sum(1 - s.post_sequence[2] for s in result.measurements)
    assert rydberg_far >= 45
    both = sum(s.post_sequence[0] + s.post_sequence[1] == 0 for s in result.measurements)
    assert both <= 6


async def test_ahs_register_beyond_the_device_is_refused(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    program = json.loads(_ahs_program().to_ir().json())
    program["setup"]["ahs_register"]["sites"][2] = ["0.0001", "0.0"]  # 100 um > 75 um width
    with pytest.raises(ClientError, match="width") as caught:
        await asyncio.to_thread(_create_raw, AQUILA, program, 10, local_braket.default_bucket)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# 6. Program sets -----------------------------------------------------------------------------


def _run_program_set() -> tuple[Any, dict[str, Any]]:
    from braket.aws import AwsDevice
    from braket.circuits import Circuit
    from braket.parametric import FreeParameter
    from braket.program_sets import CircuitBinding, ProgramSet

    theta = FreeParameter("theta")
    program_set = ProgramSet(
        [
            CircuitBinding(Circuit().rx(0, theta), input_sets={"theta": [0.0, math.pi]}),
            Circuit().h(0).cnot(0, 1),
        ],
        shots_per_executable=100,
    )
    task = AwsDevice(PROGRAM_SET_DEVICE).run(program_set, poll_interval_seconds=0.05)
    return task.result(), task.metadata()


@pytest.fixture
def program_sets_env(
    program_sets_local: LocalBraket, monkeypatch: pytest.MonkeyPatch
) -> LocalBraket:
    """Every AWS client in this process pointed at ``program_sets_local``."""
    from braket_async.local import CONFLICTING_VARIABLES

    for name in CONFLICTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in program_sets_local.environ().items():
        monkeypatch.setenv(name, value)
    return program_sets_local


async def test_program_set_runs_through_the_sdk(program_sets_env: LocalBraket) -> None:
    from braket.tasks import ProgramSetQuantumTaskResult

    local_braket = program_sets_env
    result, metadata = await sdk_call(_run_program_set)
    assert metadata["actionMetadata"] == {
        "actionType": "braket.ir.openqasm.program_set",
        "programCount": 2,
        "executableCount": 3,
    }
    assert metadata["numSuccessfulShots"] == 300 and metadata["shots"] == 300
    assert isinstance(result, ProgramSetQuantumTaskResult)
    assert result.num_executables == 3 and len(result) == 2
    zero, pi = result[0]
    assert zero.counts == {"0": 100} and pi.counts == {"1": 100}
    (bell,) = result[1]
    assert set(bell.counts) <= {"00", "11"} and sum(bell.counts.values()) == 100
    # Braket's layout: results.json points at the other objects by relative key.
    body = await local_braket.objects.get_bytes(
        metadata["outputS3Bucket"], f"{metadata['outputS3Directory']}/results.json"
    )
    top = json.loads(body)
    assert top["programResults"] == ["programs/0/results.json", "programs/1/results.json"]
    assert top["taskMetadata"] == "metadata.json"
    assert top["s3Location"] == [metadata["outputS3Bucket"], metadata["outputS3Directory"]]


async def test_program_set_validation_failures(program_sets_env: LocalBraket) -> None:
    local_braket = program_sets_env
    partial = "OPENQASM 3; qubit[2] q; bit[1] b; h q[0]; b[0] = measure q[0];"
    action = {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program_set", "version": "1"},
        "programs": [
            {"source": "OPENQASM 3; qubit[1] q; h q[0];", "inputs": {}},
            {"source": partial, "inputs": {}},
        ],
    }
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(
            _create_raw, PROGRAM_SET_DEVICE, action, 20, local_braket.default_bucket
        )
    response = caught.value.response
    assert response["Error"]["Code"] == "ValidationException"
    (failure,) = response["programSetValidationFailures"]
    assert failure["programIndex"] == 1
    assert "measured" in failure["errors"][0]
