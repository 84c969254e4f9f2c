"""The simulator executor: real programs in real worker processes, results in the service's
format (checked by amazon-braket-schemas and by the official SDK's result parser)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from braket.task_result import GateModelTaskResult
from braket.tasks import GateModelQuantumTaskResult

from braket_async.local._devices import default_devices
from braket_async.local._executor import (
    ExecutionOutcome,
    ExecutionRequest,
    SimulatorExecutor,
    format_timestamp,
)

from ._processes import child_pids

DEVICES = {d.name: d for d in default_devices()}
# A device with no local engine (every catalogue device has one): runs nothing.
DEVICES["no-engine"] = attrs.evolve(DEVICES["Forte 1"], simulator=None)
TASK_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/7f8e8a0c-0000-4000-8000-000000000001"
CREATED = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)

BELL = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
GHZ = "OPENQASM 3.0;\nqubit[3] q;\nh q[0];\ncnot q[0], q[1];\ncnot q[1], q[2];\n"
PARAMETERS_HEADER = "braket.device_schema.simulators.gate_model_simulator_device_parameters"


def openqasm(source: str, inputs: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
            "source": source,
            "inputs": inputs or {},
        }
    )


def jaqcd(instructions: list[dict[str, Any]], results: list[dict[str, Any]] | None = None) -> str:
    program: dict[str, Any] = {
        "braketSchemaHeader": {"name": "braket.ir.jaqcd.program", "version": "1"},
        "instructions": instructions,
    }
    if results is not None:
        program["results"] = results
    return json.dumps(program)


def device_parameters(qubit_count: int) -> str:
    return json.dumps(
        {
            "braketSchemaHeader": {"name": PARAMETERS_HEADER, "version": "1"},
            "paradigmParameters": {
                "braketSchemaHeader": {
                    "name": "braket.device_schema.gate_model_parameters",
                    "version": "1",
                },
                "qubitCount": qubit_count,
                "disableQubitRewiring": False,
            },
        }
    )


def request(
    action: str, shots: int, device: str = "SV1", parameters: str | None = None
) -> ExecutionRequest:
    return ExecutionRequest(TASK_ARN, DEVICES[device], action, parameters, shots, CREATED)


def completed(outcome: ExecutionOutcome) -> dict[str, Any]:
    """The result document, after checking it as the schemas and the SDK read it."""
    assert outcome.status == "COMPLETED", outcome.failure_reason
    assert outcome.failure_reason is None
    assert outcome.result is not None and outcome.result_json is not None
    assert json.loads(outcome.result_json) == outcome.result
    GateModelTaskResult.parse_raw(outcome.result_json)
    return outcome.result


def sdk(outcome: ExecutionOutcome) -> GateModelQuantumTaskResult:
    assert outcome.result_json is not None
    return GateModelQuantumTaskResult.from_string(outcome.result_json)


def failed(outcome: ExecutionOutcome) -> str:
    assert outcome.status == "FAILED"
    assert outcome.result is None and outcome.result_json is None
    assert outcome.failure_reason
    return outcome.failure_reason


async def test_bell_with_shots(simulator_executor: SimulatorExecutor) -> None:
    action = openqasm(BELL)
    outcome = await simulator_executor.run(request(action, 1000))
    doc = completed(outcome)
    assert doc["braketSchemaHeader"] == {
        "name": "braket.task_result.gate_model_task_result",
        "version": "1",
    }
    assert doc["measuredQubits"] == [0, 1]
    assert len(doc["measurements"]) == 1000
    assert all(shot in ([0, 0], [1, 1]) for shot in doc["measurements"])
    metadata = doc["taskMetadata"]
    assert metadata["braketSchemaHeader"]["name"] == "braket.task_result.task_metadata"
    assert (metadata["id"], metadata["deviceId"], metadata["shots"], metadata["status"]) == (
        TASK_ARN,
        DEVICES["SV1"].arn,
        1000,
        "COMPLETED",
    )
    assert metadata["createdAt"] == "2025-03-04T05:06:07.891Z"
    assert metadata["endedAt"] >= metadata["createdAt"]
    assert "deviceParameters" not in metadata
    assert doc["additionalMetadata"]["action"] == json.loads(action)
    assert doc["additionalMetadata"]["simulatorMetadata"]["executionDuration"] >= 0

    counts = sdk(outcome).measurement_counts
    assert set(counts) == {"00", "11"}  # both outcomes, never a mixed one
    assert sum(counts.values()) == 1000
    assert min(counts.values()) > 350  # 1000 fair coin flips: P(fail) < 1e-19


async def test_ghz_state_vector_result_types(simulator_executor: SimulatorExecutor) -> None:
    source = GHZ + "\n".join(
        [
            "#pragma braket result state_vector",
            '#pragma braket result amplitude "000", "111", "010"',
            "#pragma braket result probability q[0], q[2]",
            "#pragma braket result expectation z(q[0]) @ z(q[2])",
            "#pragma braket result expectation x(q[1])",
            "#pragma braket result variance z all",
            "#pragma braket result density_matrix q[0]",
        ]
    )
    outcome = await simulator_executor.run(
        request(openqasm(source), 0, parameters=device_parameters(3))
    )
    doc = completed(outcome)
    assert "measurements" not in doc
    assert doc["taskMetadata"]["deviceParameters"] == json.loads(device_parameters(3))
    half = 1 / math.sqrt(2)
    values = [rt["value"] for rt in doc["resultTypes"]]
    # Complex numbers travel as [re, im] pairs, as in the service's results.
    state_vector, amplitudes, probability, zz, x1, variances, density = values
    assert state_vector == [pytest.approx([half, 0.0])] + [[0.0, 0.0]] * 6 + [
        pytest.approx([half, 0.0])
    ]
    assert amplitudes == {
        "000": pytest.approx([half, 0.0]),
        "111": pytest.approx([half, 0.0]),
        "010": [0.0, 0.0],
    }
    assert probability == pytest.approx([0.5, 0.0, 0.0, 0.5])
    assert zz == pytest.approx(1.0)
    assert x1 == pytest.approx(0.0)
    assert variances == pytest.approx([1.0, 1.0, 1.0])
    assert density == [
        [pytest.approx([0.5, 0.0]), [0.0, 0.0]],
        [[0.0, 0.0], pytest.approx([0.5, 0.0])],
    ]
    assert [rt["type"]["type"] for rt in doc["resultTypes"]] == [
        "statevector",
        "amplitude",
        "probability",
        "expectation",
        "expectation",
        "variance",
        "densitymatrix",
    ]

    result = sdk(outcome)
    assert result.values[0] == pytest.approx([half, 0, 0, 0, 0, 0, 0, half])
    assert result.values[1]["111"] == pytest.approx(complex(half, 0))


async def test_inputs_and_sampled_result_types(simulator_executor: SimulatorExecutor) -> None:
    # rx(pi) flips q[0]; q[1] stays |0>: every shot and every sampled value is deterministic.
    source = "\n".join(
        [
            "OPENQASM 3.0;",
            "input float theta;",
            "qubit[2] q;",
            "rx(theta) q[0];",
            "#pragma braket result expectation z(q[0])",
            "#pragma braket result probability",
            "#pragma braket result sample z(q[0]) @ z(q[1])",
            "#pragma braket result variance z(q[1])",
        ]
    )
    outcome = await simulator_executor.run(request(openqasm(source, {"theta": math.pi}), 20))
    doc = completed(outcome)
    assert doc["measurements"] == [[1, 0]] * 20
    expectation, probability, sample, variance = (rt["value"] for rt in doc["resultTypes"])
    assert expectation == pytest.approx(-1.0)
    assert probability == pytest.approx([0.0, 0.0, 1.0, 0.0])
    assert sample == pytest.approx([-1.0] * 20)
    assert variance == pytest.approx(0.0)
    result = sdk(outcome)
    assert result.measurement_counts == {"10": 20}
    assert result.values[0] == pytest.approx(-1.0)


async def test_jaqcd_with_and_without_shots(simulator_executor: SimulatorExecutor) -> None:
    bell = [{"type": "h", "target": 0}, {"type": "cnot", "control": 0, "target": 1}]
    sampled = await simulator_executor.run(
        request(
            jaqcd(bell, [{"type": "expectation", "observable": ["z"], "targets": [1]}]),
            200,
            parameters=device_parameters(2),
        )
    )
    doc = completed(sampled)
    assert all(shot in ([0, 0], [1, 1]) for shot in doc["measurements"])
    result = sdk(sampled)
    assert set(result.measurement_counts) <= {"00", "11"}
    assert -1.0 <= result.values[0] <= 1.0  # the SDK computes it from the measurements

    exact = await simulator_executor.run(request(jaqcd(bell, [{"type": "statevector"}]), 0))
    half = 1 / math.sqrt(2)
    assert completed(exact)["resultTypes"][0]["value"] == [
        pytest.approx([half, 0.0]),
        [0.0, 0.0],
        [0.0, 0.0],
        pytest.approx([half, 0.0]),
    ]


async def test_dm1_runs_noise_that_sv1_refuses(simulator_executor: SimulatorExecutor) -> None:
    source = "\n".join(
        [
            "OPENQASM 3.0;",
            "qubit[1] q;",
            "x q[0];",
            "#pragma braket noise bit_flip(0.25) q[0]",
            "#pragma braket result probability",
            "#pragma braket result density_matrix",
        ]
    )
    doc = completed(await simulator_executor.run(request(openqasm(source), 0, device="DM1")))
    assert doc["taskMetadata"]["deviceId"] == DEVICES["DM1"].arn
    probability, density = (rt["value"] for rt in doc["resultTypes"])
    assert probability == pytest.approx([0.25, 0.75])
    assert density == [
        [pytest.approx([0.25, 0.0]), [0.0, 0.0]],
        [[0.0, 0.0], pytest.approx([0.75, 0.0])],
    ]

    reason = failed(await simulator_executor.run(request(openqasm(source), 0, device="SV1")))
    assert "bit_flip" in reason or "noise" in reason.lower()


async def test_tn1_runs_small_circuits_on_the_state_vector_engine(
    simulator_executor: SimulatorExecutor,
) -> None:
    doc = completed(await simulator_executor.run(request(openqasm(BELL), 100, device="TN1")))
    assert doc["taskMetadata"]["deviceId"] == DEVICES["TN1"].arn
    assert len(doc["measurements"]) == 100

    wide = "OPENQASM 3.0;\nqubit[30] q;\nfor int i in [0:29] { h q[i]; }"
    reason = failed(await simulator_executor.run(request(openqasm(wide), 10, device="TN1")))
    assert "30 qubits" in reason and "at most 26" in reason


@pytest.mark.parametrize(
    ("action", "shots", "device", "parameters", "expected"),
    [
        pytest.param(openqasm("garbage"), 10, "SV1", None, "garbage", id="syntax-error"),
        pytest.param(
            openqasm("OPENQASM 3.0;\nqubit[35] q;\nh q[0];"), 10, "SV1", None, "35 qubits",
            id="declared-qubits-over-device",
        ),
        pytest.param(
            openqasm("OPENQASM 3.0;\nqubit[18] q;\nh q;"), 10, "DM1", None, "17 qubits",
            id="dm1-qubits",
        ),
        pytest.param(openqasm(BELL), 100_001, "SV1", None, "between 0 and 100000", id="shots-max"),
        pytest.param(openqasm(BELL), 0, "TN1", None, "between 1 and 1000", id="shots-min"),
        pytest.param(openqasm(BELL), -1, "SV1", None, "out of range", id="shots-negative"),
        pytest.param("{not json", 10, "SV1", None, "not a Braket program", id="not-json"),
        pytest.param("{}", 10, "SV1", None, "braketSchemaHeader", id="no-header"),
        pytest.param(
            json.dumps({"braketSchemaHeader": {"name": "braket.ir.ahs.program", "version": "1"}}),
            10, "SV1", None, "not supported by device", id="unsupported-action",
        ),
        pytest.param(
            json.dumps({"braketSchemaHeader": {"name": "braket.ir.openqasm.program"}}),
            10, "SV1", None, "Invalid braket.ir.openqasm.program", id="invalid-action",
        ),
        pytest.param(openqasm(BELL), 10, "no-engine", None, "no local simulator", id="qpu"),
        pytest.param(
            openqasm(BELL), 10, "SV1", device_parameters(40), "qubitCount 40", id="param-qubits"
        ),
        pytest.param(openqasm(BELL), 10, "SV1", '{"x": 1}', "deviceParameters", id="bad-params"),
        pytest.param(
            openqasm("OPENQASM 3.0;\ninput float theta;\nqubit[1] q;\nrx(theta) q[0];"),
            10, "SV1", None, "theta", id="missing-input",
        ),
        pytest.param(
            openqasm("OPENQASM 3.0;\nqubit[1] q;\nh q[0];"), 0, "SV1", None, "shots=0",
            id="shots-0-without-result-types",
        ),
        pytest.param(
            openqasm("OPENQASM 3.0;\nqubit[1] q;\nh q[0];\n#pragma braket result state_vector"),
            10, "SV1", None, "statevector", id="state-vector-with-shots",
        ),
    ],
)  # fmt: skip
async def test_bad_tasks_fail_with_a_reason(
    simulator_executor: SimulatorExecutor,
    action: str,
    shots: int,
    device: str,
    parameters: str | None,
    expected: str,
) -> None:
    reason = failed(await simulator_executor.run(request(action, shots, device, parameters)))
    assert expected in reason


async def test_source_is_never_read_as_a_file_path(
    simulator_executor: SimulatorExecutor, tmp_path: Any
) -> None:
    # The engine alone would load a source ending in ".qasm" from the server's disk.
    program_file = tmp_path / "bell.qasm"
    program_file.write_text(BELL)
    reason = failed(await simulator_executor.run(request(openqasm(str(program_file)), 10)))
    assert "QASM3ParsingError" in reason


async def test_many_concurrent_tasks(simulator_executor: SimulatorExecutor) -> None:
    outcomes = await asyncio.gather(
        *(simulator_executor.run(request(openqasm(BELL), 10)) for _ in range(40))
    )
    for outcome in outcomes:
        assert len(completed(outcome)["measurements"]) == 10


async def test_worker_crash_fails_the_task_and_the_pool_recovers() -> None:
    executor = SimulatorExecutor(workers=1, close_grace=0.1)
    with pytest.raises(RuntimeError, match="not started"):
        await executor.run(request(openqasm(BELL), 10))
    async with executor:
        assert executor.started and executor.workers == 1
        with pytest.raises(RuntimeError, match="already started"):
            await executor.start()
        # Kill the worker (as the OOM killer would) while it simulates a long program and
        # another task waits for it: the first fails, the waiting one runs on a fresh worker.
        busy = "OPENQASM 3.0;\nqubit[20] q;\nfor int i in [0:999] { h q; }"
        running = asyncio.ensure_future(executor.run(request(openqasm(busy), 1)))
        waiting = asyncio.ensure_future(executor.run(request(openqasm(BELL), 10)))
        pids = _worker_pids(executor)
        assert len(pids) == 1
        await asyncio.sleep(0.2)
        os.kill(pids[0], signal.SIGKILL)
        assert "exited unexpectedly" in failed(await running)
        completed(await waiting)
        completed(await executor.run(request(openqasm(BELL), 10)))
        assert set(_worker_pids(executor)).isdisjoint(pids)
        # Closing does not wait for a long simulation beyond close_grace.
        late = asyncio.ensure_future(executor.run(request(openqasm(busy), 1)))
        await asyncio.sleep(0.2)
    assert "closed before this task ended" in failed(await late)
    assert not executor.started
    await executor.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await executor.start()


async def test_interrupted_start_leaves_no_workers() -> None:
    before = child_pids()

    cancelled = SimulatorExecutor(workers=1)
    starting = asyncio.ensure_future(cancelled.start())
    await asyncio.sleep(0.1)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert not cancelled.started

    closed = SimulatorExecutor(workers=1)
    starting = asyncio.ensure_future(closed.start())
    await asyncio.sleep(0.1)
    await closed.close()
    with pytest.raises(RuntimeError, match="closed while starting"):
        await starting
    assert not closed.started

    assert child_pids() <= before


def _worker_pids(executor: SimulatorExecutor) -> list[int]:
    return executor.worker_pids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"max_local_qubits": {"tensor_network": 3}}, "max_local_qubits"),
        ({"max_local_qubits": {"state_vector": 0}}, "state_vector"),
        ({"close_grace": -1.0}, "close_grace"),
    ],
)
def test_executor_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorExecutor(**kwargs)


def test_outcome_and_timestamps() -> None:
    assert ExecutionOutcome.failed("why") == ExecutionOutcome("FAILED", None, "why")
    with pytest.raises(ValueError, match="status"):
        ExecutionOutcome("RUNNING", None, None)
    assert format_timestamp(CREATED) == "2025-03-04T05:06:07.891Z"
    plus_two = datetime(2025, 3, 4, 7, 6, 7, 891_234, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(plus_two) == "2025-03-04T05:06:07.891Z"
    assert format_timestamp(CREATED.replace(tzinfo=None)) == "2025-03-04T05:06:07.891Z"
