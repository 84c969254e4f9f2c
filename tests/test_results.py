"""Task results: parsing results.json documents, and downloading them from the local
service's S3 through the public API (cross-checked against the Braket SDK's own parser)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _common import BELL, SV1, create_task, session_on
from aiobotocore.session import get_session
from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program
from braket.tasks import GateModelQuantumTaskResult

from braket_async import (
    BraketSession,
    QuantumTaskCancelled,
    QuantumTaskFailed,
    QuantumTaskFilter,
    ResponseError,
    ResultNotAvailable,
)
from braket_async import results as results_module
from braket_async.local import LocalBraket
from braket_async.models.results import GateModelResult, complex_value
from braket_async.results import parse_result

BAD = "OPENQASM 3;\nqubit[2] q;\nnot_a_gate q[0];"
RESULT_TYPES = """OPENQASM 3;
qubit[2] q;
h q[0];
cnot q[0], q[1];
#pragma braket result probability q[0], q[1]
#pragma braket result expectation z(q[0])
#pragma braket result amplitude "00", "11"
"""


async def create(
    braket: BraketSession, local: LocalBraket, source: str = BELL, shots: int = 200
) -> str:
    return await create_task(braket, local, source, shots=shots, prefix="results-tests")


@pytest.fixture
async def s3(local_braket: LocalBraket) -> AsyncIterator[Any]:
    """A raw aiobotocore S3 client on the local service's S3 (to read or tamper with)."""
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=local_braket.s3_endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as client:
        yield client


async def raw_result(s3: Any, bucket: str, directory: str) -> bytes:
    response = await s3.get_object(Bucket=bucket, Key=f"{directory}/results.json")
    async with response["Body"] as body:
        data: bytes = await body.read()
    return data


# --------------------------------------------------------------------------- parsing


def simulator_document(source: str, shots: int) -> dict[str, Any]:
    """What the simulator itself returns (measurements as "0"/"1" strings)."""
    result = StateVectorSimulator().run_openqasm(Program(source=source, inputs={}), shots=shots)
    return dict(json.loads(result.json()))


def test_parses_the_simulators_own_document() -> None:
    doc = simulator_document(BELL, 50)
    result = GateModelResult.from_document(doc)
    assert len(result.measurements) == 50
    assert all(len(shot) == 2 for shot in result.measurements)
    assert result.measured_qubits == (0, 1)
    expected: dict[str, int] = {}
    for shot in doc["measurements"]:
        key = "".join(shot)
        expected[key] = expected.get(key, 0) + 1
    assert dict(result.counts) == expected
    assert set(result.counts) <= {"00", "11"}
    assert math.isclose(sum(result.probabilities.values()), 1.0)
    assert result.task_metadata.shots == 50
    assert result.additional_metadata.action is not None
    assert result.additional_metadata.action["source"] == BELL


def test_counts_are_computed_once() -> None:
    result = GateModelResult.from_document(simulator_document(BELL, 20))
    assert result.counts is result.counts
    assert result.probabilities is result.probabilities


def test_probabilities_only_documents() -> None:
    doc = {
        "braketSchemaHeader": {"name": "braket.task_result.gate_model_task_result", "version": "1"},
        "measurementProbabilities": {"00": 0.25, "11": 0.75},
        "measuredQubits": [0, 1],
        "taskMetadata": {"id": "task", "shots": 1000, "deviceId": "qpu"},
        "additionalMetadata": {"action": {}, "ionqMetadata": {"sharpenedProbabilities": {}}},
    }
    result = GateModelResult.from_document(doc)
    assert result.measurements == ()
    assert dict(result.probabilities) == {"00": 0.25, "11": 0.75}
    assert dict(result.counts) == {"00": 250, "11": 750}
    assert "ionqMetadata" in result.additional_metadata.provider_metadata


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"braketSchemaHeader": {"name": "braket.task_result.annealing_task_result"}}, "name"),
        (
            {"braketSchemaHeader": {"name": "braket.task_result.gate_model_task_result"}},
            "taskMetadata",
        ),
        (
            {
                "braketSchemaHeader": {"name": "braket.task_result.gate_model_task_result"},
                "taskMetadata": {"id": "x", "deviceId": "d"},
            },
            "taskMetadata.shots",
        ),
    ],
)
def test_documents_of_another_kind_are_refused(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(ResponseError, match=field):
        parse_result(json.dumps(doc).encode(), source="s3://b/k")
    with pytest.raises(ResponseError, match=r"is not a task result"):
        parse_result(b"{not json", source="s3://b/k")


def test_result_type_lookup_names_what_was_requested() -> None:
    result = GateModelResult.from_document(simulator_document(BELL, 10))
    with pytest.raises(KeyError, match="no result type 'expectation'"):
        result.result_type_value("expectation")
    assert complex_value([0.5, -1.0]) == complex(0.5, -1.0)


# --------------------------------------------------------------------------- local service


async def test_result_of_a_completed_task_matches_the_sdk(
    braket: BraketSession, local_braket: LocalBraket, s3: Any
) -> None:
    arn = await create(braket, local_braket, shots=200)
    task = await braket.wait_for_quantum_task(arn)
    result = await braket.get_quantum_task_result(task)
    sdk = GateModelQuantumTaskResult.from_string(
        (await raw_result(s3, task.output_s3_bucket, task.output_s3_directory)).decode()
    )
    assert dict(result.counts) == dict(sdk.measurement_counts)
    assert sum(result.counts.values()) == 200 == len(result.measurements)
    assert set(result.counts) == {"00", "11"}
    assert result.measured_qubits == tuple(sdk.measured_qubits)
    assert result.task_arn == arn
    assert result.task_metadata.device_id == SV1
    assert result.task_metadata.created_at is not None
    # The same through the ARN and through a search summary.
    by_arn = await braket.get_quantum_task_result(arn)
    page = await braket.search_quantum_tasks(filters=[QuantumTaskFilter.quantum_task_arns(arn)])
    by_summary = await braket.get_quantum_task_result(page.quantum_tasks[0])
    assert by_arn == result == by_summary


async def test_result_types_match_the_sdk(
    braket: BraketSession, local_braket: LocalBraket, s3: Any
) -> None:
    arn = await create(braket, local_braket, RESULT_TYPES, shots=0)
    task = await braket.wait_for_quantum_task(arn)
    result = await braket.get_quantum_task_result(arn)
    sdk = GateModelQuantumTaskResult.from_string(
        (await raw_result(s3, task.output_s3_bucket, task.output_s3_directory)).decode()
    )
    assert [rt.name for rt in result.result_types] == ["probability", "expectation", "amplitude"]
    for ours, theirs in zip(result.result_types, sdk.result_types, strict=True):
        if ours.name == "amplitude":
            amplitudes = {k: complex_value(v) for k, v in ours.value.items()}
            assert amplitudes == pytest.approx(theirs.value)
        else:
            assert ours.value == pytest.approx(
                list(theirs.value) if ours.name == "probability" else theirs.value
            )
    assert result.result_type_value("probability", [0, 1]) == pytest.approx(
        list(sdk.result_types[0].value)
    )
    assert result.result_types[0].targets == (0, 1)
    assert result.measurements == ()


async def test_failed_and_pending_tasks(
    braket: BraketSession, local_braket: LocalBraket, slow: LocalBraket
) -> None:
    bad = await create(braket, local_braket, BAD)
    with pytest.raises(QuantumTaskFailed) as failed:
        await braket.get_quantum_task_result(bad, wait=True)
    assert failed.value.failure_reason
    async with session_on(slow) as session:
        queued = await create(session, slow)
        with pytest.raises(ResultNotAvailable, match="QUEUED"):
            await session.get_quantum_task_result(queued)
        await session.cancel_quantum_task(queued)
        task = await session.get_quantum_task(queued)
        with pytest.raises(QuantumTaskCancelled):
            await session.get_quantum_task_result(task)


async def test_wait_for_the_result(make_local: Any) -> None:
    local = await make_local(run_delay=0.3)
    async with session_on(local) as session:
        arn = await create(session, local)
        with pytest.raises(ResultNotAvailable):
            await session.get_quantum_task_result(arn)
        result = await session.get_quantum_task_result(arn, wait=True, timeout=60)
    assert sum(result.counts.values()) == 200


async def test_missing_results_object_names_bucket_and_key(
    braket: BraketSession, local_braket: LocalBraket, s3: Any
) -> None:
    arn = await create(braket, local_braket)
    task = await braket.wait_for_quantum_task(arn)
    key = f"{task.output_s3_directory}/results.json"
    await s3.delete_object(Bucket=task.output_s3_bucket, Key=key)
    with pytest.raises(ResultNotAvailable) as info:
        await braket.get_quantum_task_result(task)
    assert f"s3://{task.output_s3_bucket}/{key}" in str(info.value)


async def test_large_documents_are_parsed_off_the_loop(
    braket: BraketSession, local_braket: LocalBraket, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = await create(braket, local_braket, shots=10)
    task = await braket.wait_for_quantum_task(arn)
    doc = json.loads(await raw_result(s3, task.output_s3_bucket, task.output_s3_directory))
    # Replace the result by a big one: 40000 shots of 20 qubits (~1.7 MB of JSON).
    doc["measurements"] = [[(i >> b) & 1 for b in range(20)] for i in range(40_000)]
    doc["measuredQubits"] = list(range(20))
    body = json.dumps(doc).encode()
    assert len(body) > results_module.PARSE_IN_THREAD_BYTES
    await s3.put_object(
        Bucket=task.output_s3_bucket, Key=f"{task.output_s3_directory}/results.json", Body=body
    )
    threaded: list[Any] = []
    real_to_thread = asyncio.to_thread

    async def to_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(func)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    result = await braket.get_quantum_task_result(task)
    assert parse_result in threaded
    assert len(result.measurements) == 40_000
    assert len(result.counts) == 40_000  # every shot a distinct bitstring
