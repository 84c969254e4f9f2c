"""AHS and program-set tasks end to end through ``BraketSession``: create, wait, typed result."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _common import PROGRAM_SET_DEVICE, SV1, session_on

from braket_async import (
    AnalogHamiltonianSimulationResult,
    BraketSession,
    ProgramSetResult,
    ResultKindError,
    ValidationException,
)
from braket_async.local import LocalBraket
from braket_async.models.program_set_results import ExecutableFailure, ExecutableResult

AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"


def ahs_action(sites: list[list[str]]) -> dict[str, Any]:
    """A pi pulse on isolated atoms (far apart: no blockade), written as braket.ir.ahs."""
    duration = "0.000001"  # 1 us at 15.7 Mrad/s rabi ~ 2.5 pi: a ramped pi-ish pulse
    return {
        "braketSchemaHeader": {"name": "braket.ir.ahs.program", "version": "1"},
        "setup": {"ahs_register": {"sites": sites, "filling": [1] * len(sites)}},
        "hamiltonian": {
            "drivingFields": [
                {
                    "amplitude": {
                        "time_series": {
                            "values": ["0", "15700000", "15700000", "0"],
                            "times": ["0", "0.0000001", "0.0000009", duration],
                        },
                        "pattern": "uniform",
                    },
                    "phase": {
                        "time_series": {"values": ["0", "0"], "times": ["0", duration]},
                        "pattern": "uniform",
                    },
                    "detuning": {
                        "time_series": {"values": ["0", "0"], "times": ["0", duration]},
                        "pattern": "uniform",
                    },
                }
            ],
            "localDetuning": [],
        },
    }


async def test_ahs_task_end_to_end(braket: BraketSession, local_braket: LocalBraket) -> None:
    action = ahs_action([["0", "0"], ["0.00002", "0"]])
    arn = await braket.create_quantum_task(
        device_arn=AQUILA,
        action=json.dumps(action),
        shots=40,
        output_s3_bucket=local_braket.default_bucket,
        output_s3_key_prefix="ahs",
    )
    task = await braket.wait_for_quantum_task(arn)
    assert task.status == "COMPLETED" and task.num_successful_shots == 40
    result = await braket.get_quantum_task_result(task)
    assert isinstance(result, AnalogHamiltonianSimulationResult)
    assert result.task_arn == arn and result.shots == 40
    assert result.task_metadata.device_id == AQUILA
    assert len(result.shots_results) == 40
    assert all(s.ok and s.pre_sequence == (1, 1) for s in result.shots_results)
    # Two independent atoms: every state of the pair is g/r per site, 40 shots in total.
    assert sum(result.state_counts.values()) == 40
    assert set("".join(result.state_counts)) <= {"g", "r"}
    assert result.additional_metadata.action is not None
    # the typed narrowing: the kind it is, and a clear error for the others
    assert result.analog_hamiltonian_simulation() is result
    with pytest.raises(ResultKindError, match="AnalogHamiltonianSimulationResult, not a Gate"):
        result.gate_model()


async def test_ahs_task_over_the_device_limits_is_refused(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    too_long = ahs_action([["0", "0"]])
    for field in too_long["hamiltonian"]["drivingFields"][0].values():
        field["time_series"]["times"][-1] = "0.00001"  # 10 us > Aquila's 4 us
    with pytest.raises(ValidationException, match="4e-06 s"):
        await braket.create_quantum_task(
            device_arn=AQUILA,
            action=json.dumps(too_long),
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="ahs",
        )


def program_set(programs: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "braketSchemaHeader": {"name": "braket.ir.openqasm.program_set", "version": "1"},
            "programs": programs,
        }
    )


ROTATION = "OPENQASM 3.0; input float theta; qubit[1] q; bit[1] b; rx(theta) q[0]; b = measure q;"
BELL = "OPENQASM 3.0; qubit[2] q; bit[2] b; h q[0]; cnot q[0], q[1]; b = measure q;"
BROKEN = "OPENQASM 3.0; qubit[1] q; bit[1] b; nosuchgate q[0]; b = measure q;"


async def test_sv1_lists_no_program_sets(braket: BraketSession, local_braket: LocalBraket) -> None:
    """SV1 does not list the action (docs/devices.md): a program set is refused at create."""
    with pytest.raises(ValidationException, match="does not support action"):
        await braket.create_quantum_task(
            device_arn=SV1,
            action=program_set([{"source": BELL, "inputs": {}}]),
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="program-sets",
        )


async def test_program_set_end_to_end(program_sets_local: LocalBraket) -> None:
    local_braket = program_sets_local
    async with session_on(local_braket) as braket:
        await _program_set_end_to_end(braket, local_braket)


async def _program_set_end_to_end(braket: BraketSession, local_braket: LocalBraket) -> None:
    action = program_set(
        [
            {"source": ROTATION, "inputs": {"theta": [0.0, 3.141592653589793]}},
            {"source": BELL, "inputs": {}},
            {"source": BROKEN, "inputs": {}},
        ]
    )
    arn = await braket.create_quantum_task(
        device_arn=PROGRAM_SET_DEVICE,
        action=action,
        shots=200,  # 4 executables x 50 shots
        output_s3_bucket=local_braket.default_bucket,
        output_s3_key_prefix="program-sets",
    )
    task = await braket.wait_for_quantum_task(arn)
    assert task.status == "COMPLETED"
    assert task.action_metadata is not None
    assert task.action_metadata.program_count == 3
    assert task.action_metadata.executable_count == 4
    assert task.num_successful_shots == 150  # the broken program's 50 shots did not run
    result = await braket.get_quantum_task_result(task)
    assert isinstance(result, ProgramSetResult)
    assert len(result) == 3 and result.shots_per_executable == 50
    assert result.program_set() is result
    with pytest.raises(ResultKindError) as caught:
        result.gate_model()
    assert (caught.value.expected, caught.value.actual) == ("GateModelResult", "ProgramSetResult")
    assert arn in str(caught.value) and isinstance(caught.value, TypeError)
    assert result.task_metadata.total_failed_executables == 1
    zero, pi = result[0].executables
    assert isinstance(zero, ExecutableResult) and isinstance(pi, ExecutableResult)
    assert dict(zero.counts) == {"0": 50} and dict(pi.counts) == {"1": 50}
    assert result[0].inputs == {"theta": [0.0, 3.141592653589793]}
    (bell,) = result[1].executables
    assert isinstance(bell, ExecutableResult) and set(bell.counts) <= {"00", "11"}
    (failure,) = result[2].executables
    assert isinstance(failure, ExecutableFailure) and "nosuchgate" in failure.failure_reason


@pytest.mark.parametrize(
    ("programs", "shots", "match"),
    [
        ([{"source": BELL, "inputs": {}}] * 2, 3, "multiple"),
        ([{"source": BELL, "inputs": {}}] * 101, 101, "at most 100"),
        ([{"source": ROTATION, "inputs": {"theta": [0.1], "phi": [1, 2]}}], 2, "failed"),
    ],
    ids=["shots-not-divisible", "too-many-executables", "unequal-inputs"],
)
async def test_program_set_refused_at_create(
    programs: list[dict[str, Any]],
    shots: int,
    match: str,
    program_sets_local: LocalBraket,
) -> None:
    local_braket = program_sets_local
    async with session_on(local_braket) as braket:
        with pytest.raises(ValidationException, match=match):
            await braket.create_quantum_task(
                device_arn=PROGRAM_SET_DEVICE,
                action=program_set(programs),
                shots=shots,
                output_s3_bucket=local_braket.default_bucket,
                output_s3_key_prefix="program-sets",
            )


async def test_ahs_amplitude_outside_the_device_range_is_refused(
    braket: BraketSession, local_braket: LocalBraket
) -> None:
    strong = ahs_action([["0", "0"]])
    strong["hamiltonian"]["drivingFields"][0]["amplitude"]["time_series"]["values"][1] = "1.4e9"
    with pytest.raises(
        ValidationException,
        match=r"Value 1 \(1400000000.0\) in amplitude time_series outside the allowed range "
        r"\[0.0, 15800000.0\]",
    ):
        await braket.create_quantum_task(
            device_arn=AQUILA,
            action=json.dumps(strong),
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="ahs",
        )
