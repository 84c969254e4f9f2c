"""SyntheticExecutor: the local service completes tasks unsimulated, with results of the real
shape (read back by our client and by the Braket SDK's result parser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from _common import session_on
from braket.tasks import GateModelQuantumTaskResult

from braket_async import QuantumTaskStatus
from braket_async.local import SyntheticExecutor
from braket_async.local.__main__ import build_parser
from braket_async.local._devices import default_devices
from braket_async.local._executor import ExecutionRequest

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
GHZ3 = (
    "OPENQASM 3;\nqubit[3] q;\nbit[3] c;\nh q[0];\ncnot q[0], q[1];\ncnot q[1], q[2];\n"
    "c = measure q;"
)


async def test_tasks_complete_with_all_zero_results_of_the_right_shape(make_local: Any) -> None:
    executor = SyntheticExecutor()
    local = await make_local(executor=executor)
    async with session_on(local) as braket:
        arn = await braket.create_quantum_task(
            device_arn=SV1,
            action=GHZ3,
            shots=50,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="synthetic",
        )
        task = await braket.wait_for_quantum_task(arn)
        result = await braket.get_quantum_task_result(task)
        s3 = await braket._s3()
        body = await s3.get_object(
            Bucket=task.output_s3_bucket, Key=f"{task.output_s3_directory}/results.json"
        )
        async with body["Body"] as stream:
            raw = (await stream.read()).decode()
    assert task.status == QuantumTaskStatus.COMPLETED
    assert executor.runs == 1
    assert dict(result.counts) == {"000": 50}  # nothing simulated: every shot all zeros
    assert result.measured_qubits == (0, 1, 2)
    assert result.task_metadata.device_id == SV1
    sdk = GateModelQuantumTaskResult.from_string(raw)
    assert dict(sdk.measurement_counts) == {"000": 50}
    assert json.loads(raw)["taskMetadata"]["id"] == arn


async def test_an_action_that_is_not_json_fails_the_task() -> None:
    device = next(d for d in default_devices() if d.arn == SV1)
    request = ExecutionRequest("arn:x", device, "not json", None, 1, datetime.now(UTC))
    outcome = await SyntheticExecutor().run(request)
    assert outcome.status == "FAILED" and "not JSON" in (outcome.failure_reason or "")


def test_serve_has_a_synthetic_switch() -> None:
    args = build_parser().parse_args(["serve", "--synthetic"])
    assert args.synthetic is True
    assert build_parser().parse_args(["serve"]).synthetic is False
