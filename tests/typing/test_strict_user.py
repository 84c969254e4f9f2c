"""Code written as a user of braket-async writes it, checked by ``mypy --strict`` (in
``.ci/run``: ``mypy tests/typing``) and run as a test against the local service.

``assert_type`` pins what a strict user's type checker sees; each ``# type: ignore[...]``
pins a mistake the checker must catch (strict mypy reports an ignore that is not needed, so
a type that became too loose fails the check).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_type

import pytest

from braket_async import (
    Batch,
    BatchOutcome,
    BraketSession,
    GateModelResult,
    OpenQASMProgram,
    ParameterError,
    QuantumTask,
    QuantumTaskFilter,
    QuantumTaskStatus,
    ResultKindError,
    TaskRequest,
)
from braket_async.local import LocalBraket
from braket_async.models import Job, TaskResult
from braket_async.waiters import BraketWaiter

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_quickstart_result_is_a_typed_gate_model_result(
    braket: BraketSession, braket_local: LocalBraket
) -> None:
    arn = await braket.create_quantum_task(
        device_arn=SV1, action=BELL, shots=100,
        output_s3_bucket=braket_local.default_bucket, output_s3_key_prefix="typing",
    )
    assert_type(arn, str)
    task = await braket.wait_for_quantum_task(arn, timeout=60)
    assert_type(task, QuantumTask)
    assert_type(task.status, QuantumTaskStatus)

    result = await braket.get_quantum_task_result(arn)
    assert_type(result, TaskResult)
    counts = result.gate_model().counts  # the typed way to a gate-model result
    assert_type(counts, Mapping[str, int])
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100

    gate = result.gate_model()
    assert_type(gate, GateModelResult)
    assert gate is result
    with pytest.raises(ResultKindError, match="GateModelResult, not a ProgramSetResult"):
        result.program_set()
    if isinstance(result, GateModelResult):  # isinstance narrows too
        assert_type(result.counts, Mapping[str, int])


async def test_filters_take_enums_or_literal_strings(braket: BraketSession) -> None:
    by_enum = QuantumTaskFilter.status(QuantumTaskStatus.COMPLETED)
    by_literal = QuantumTaskFilter.status("COMPLETED", "FAILED")
    assert_type(by_literal, QuantumTaskFilter)
    assert by_enum.values == ("COMPLETED",)
    async for task in braket.iter_quantum_tasks([by_literal], max_items=5):
        assert task.status in {"COMPLETED", "FAILED"}

    with pytest.raises(ParameterError, match=r"COMPLETED.*got 'COMPLETD'"):
        QuantumTaskFilter.status("COMPLETD")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"QuantumTaskFilter.name"):
        QuantumTaskFilter("stauts", "EQUAL", ["COMPLETED"])  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"QuantumTaskFilter.operator"):
        QuantumTaskFilter("status", "CONTAINS", ["COMPLETED"])


async def test_enum_valued_arguments_take_literals(braket: BraketSession) -> None:
    task_arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/" + "0" * 36
    with pytest.raises(ParameterError, match="QueueInfo"):
        await braket.get_quantum_task(
            task_arn, additional_attribute_names=["QueueInfoo"]  # type: ignore[list-item]
        )


async def test_batch_items_are_a_union_of_program_types(
    braket: BraketSession, braket_local: LocalBraket
) -> None:
    items: list[str | OpenQASMProgram | TaskRequest | Mapping[str, Any]] = [
        BELL,
        OpenQASMProgram(BELL),
        TaskRequest(action=BELL, shots=20),
        {"action": BELL},
    ]
    batch = braket.submit_batch(
        items, device_arn=SV1, shots=10,
        output_s3_bucket=braket_local.default_bucket, output_s3_key_prefix="typing-batch",
    )
    assert_type(batch, Batch)
    async with batch:
        outcomes = await batch.wait()
    assert_type(outcomes, list[BatchOutcome])
    assert [o.ok for o in outcomes] == [True] * 4

    with pytest.raises(ParameterError):
        braket.submit_batch([42], device_arn=SV1, shots=1,  # type: ignore[list-item]
                            output_s3_bucket="b", output_s3_key_prefix="p")


async def test_waiters_are_typed_by_name() -> None:
    session = BraketSession(region_name="us-east-1")
    assert_type(session.get_waiter("job_completed"), BraketWaiter[Job])
    assert_type(session.get_waiter("quantum_task_terminal"), BraketWaiter[QuantumTask])

