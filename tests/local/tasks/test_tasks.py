"""Quantum-task lifecycle, stepped deterministically with a gated sleep."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from braket.task_result import GateModelTaskResult

from braket_async.local import LocalBraket, Quotas
from braket_async.local.simulation._executor import SimulatorExecutor

from .._helpers import GatedSleep, RawClients, openqasm, task_request, wait_task, wait_until
from .._processes import gone

LocalFactory = Any


async def _status(client: Any, arn: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.get_quantum_task(
        quantumTaskArn=arn, additionalAttributeNames=["QueueInfo"]
    )
    return result


async def _gated(
    make_local: LocalFactory, clients: RawClients
) -> tuple[GatedSleep, LocalBraket, Any]:
    """A local service whose queue and run delays wait for the returned gate, and a raw
    client on it."""
    gate = GatedSleep()
    local: LocalBraket = await make_local(queue_delay=60, run_delay=60, sleep=gate)
    return gate, local, await clients.braket(local)


async def test_lifecycle_queued_running_completed_with_results_in_s3(
    make_local: LocalFactory, clients: RawClients
) -> None:
    gate, local, client = await _gated(make_local, clients)
    arn = (await client.create_quantum_task(**task_request(local, shots=200)))["quantumTaskArn"]

    queued = await wait_until(lambda: _status(client, arn), lambda r: gate.waiting == 1)
    assert queued["status"] == "QUEUED"
    assert queued["queueInfo"]["position"] == "1"
    assert "endedAt" not in queued
    gate.release()  # end of queue delay

    running = await wait_until(lambda: _status(client, arn), lambda r: r["status"] == "RUNNING")
    assert running["queueInfo"]["position"] == "None"
    assert "RUNNING status" in running["queueInfo"]["message"]
    await wait_until(lambda: _status(client, arn), lambda r: gate.waiting == 1)
    gate.release()  # end of run delay

    done = await wait_task(client, arn)
    assert done["status"] == "COMPLETED"
    assert done["endedAt"] >= done["createdAt"]
    body = await local.objects.get_bytes(
        done["outputS3Bucket"], f"{done['outputS3Directory']}/results.json"
    )
    result = GateModelTaskResult.parse_raw(body)
    assert result.taskMetadata.id == arn and result.taskMetadata.shots == 200
    counts: dict[str, int] = {}
    for shot in result.measurements or []:
        key = "".join(str(b) for b in shot)
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200
    assert json.loads(body)["braketSchemaHeader"]["name"] == (
        "braket.task_result.gate_model_task_result"
    )


async def test_cancel_queued_and_running_tasks(
    make_local: LocalFactory, clients: RawClients
) -> None:
    gate, local, client = await _gated(make_local, clients)
    running_arn = (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
    await wait_until(lambda: _status(client, running_arn), lambda r: gate.waiting == 1)
    gate.release()
    await wait_until(lambda: _status(client, running_arn), lambda r: r["status"] == "RUNNING")

    queued_arn = (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
    await wait_until(lambda: _status(client, queued_arn), lambda r: r["status"] == "QUEUED")
    answer = await client.cancel_quantum_task(quantumTaskArn=queued_arn)
    assert answer["cancellationStatus"] == "CANCELLING"
    cancelled = await wait_task(client, queued_arn)
    assert cancelled["status"] == "CANCELLED" and "endedAt" in cancelled
    again = await client.cancel_quantum_task(quantumTaskArn=queued_arn)
    assert again["cancellationStatus"] == "CANCELLED"

    answer = await client.cancel_quantum_task(quantumTaskArn=running_arn)
    assert answer["cancellationStatus"] == "CANCELLING"
    assert (await _status(client, running_arn))["status"] == "CANCELLING"
    gate.release(3)  # run delay of the running task, queue delay of the cancelled one
    final = await wait_task(client, running_arn)
    assert final["status"] == "CANCELLED"
    listing = await (await clients.s3(local)).list_objects_v2(
        Bucket=local.default_bucket, Prefix=final["outputS3Directory"]
    )
    assert listing.get("KeyCount", 0) == 0  # no results for a cancelled task
    assert local.ledger.snapshot()["tasks_cancelled"] == 2


async def test_concurrent_task_quota_keeps_the_rest_queued_fifo(
    make_local: LocalFactory, clients: RawClients
) -> None:
    gate = GatedSleep()
    quotas = Quotas(Quotas.aws_defaults().rates, None, concurrent_tasks=2)
    local: LocalBraket = await make_local(run_delay=60, quotas=quotas, sleep=gate)
    client = await clients.braket(local)
    arns = [
        (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        for _ in range(5)
    ]
    await wait_until(lambda: _status(client, arns[0]), lambda r: gate.waiting == 2)
    states = [await _status(client, arn) for arn in arns]
    assert [s["status"] for s in states] == ["RUNNING", "RUNNING", "QUEUED", "QUEUED", "QUEUED"]
    assert [s["queueInfo"]["position"] for s in states[2:]] == ["1", "2", "3"]
    assert local.tasks.running == 2
    device = await client.get_device(deviceArn=task_request(local)["deviceArn"])
    normal = [q for q in device["deviceQueueInfo"] if q.get("queuePriority") == "Normal"]
    assert normal[0]["queueSize"] == "3"
    gate.release(5)
    finals = [await wait_task(client, arn) for arn in arns]
    assert {f["status"] for f in finals} == {"COMPLETED"}
    assert local.ledger.snapshot()["tasks_completed"] == 5


async def test_too_many_qubits_end_failed_and_bad_shots_are_refused(
    local_braket: LocalBraket, raw: Any
) -> None:
    from .._helpers import openqasm

    wide = openqasm("OPENQASM 3; qubit[40] q; h q[0];")
    arn = (await raw.create_quantum_task(**task_request(local_braket, action=wide)))[
        "quantumTaskArn"
    ]
    task = await wait_task(raw, arn)
    assert task["status"] == "FAILED" and task["failureReason"]
    # Shots outside the device's shotsRange are refused at create, as Braket does.
    with pytest.raises(ClientError, match="Shot count should be between 0 and 100000"):
        await raw.create_quantum_task(**task_request(local_braket, shots=10**6))


RUNAWAY = "OPENQASM 3.0;\nqubit[1] q;\nfor int i in [0:999999999] { x q[0]; }"


async def test_cancel_stops_a_running_simulation_within_seconds(
    make_local: LocalFactory, clients: RawClients
) -> None:
    async with SimulatorExecutor(workers=1, time_limit=None, memory_limit=None) as executor:
        local: LocalBraket = await make_local(executor=executor)
        client = await clients.braket(local)
        [pid] = executor.worker_pids
        request = task_request(local, action=openqasm(RUNAWAY), shots=1)
        arn = (await client.create_quantum_task(**request))["quantumTaskArn"]
        await wait_until(lambda: _status(client, arn), lambda r: r["status"] == "RUNNING")
        await asyncio.sleep(0.5)  # well into the simulation
        loop = asyncio.get_running_loop()
        asked = loop.time()
        answer = await client.cancel_quantum_task(quantumTaskArn=arn)
        assert answer["cancellationStatus"] == "CANCELLING"
        final = await wait_task(client, arn)
        took = loop.time() - asked
        assert final["status"] == "CANCELLED", final
        assert took < 10, took
        assert await gone(pid)  # the simulation is gone, not left running
        # The replacement worker runs the next task.
        done = await wait_task(
            client, (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        )
        assert done["status"] == "COMPLETED"


async def test_a_task_over_the_time_limit_ends_failed(
    make_local: LocalFactory, clients: RawClients
) -> None:
    async with SimulatorExecutor(workers=1, time_limit=2.0, memory_limit=None) as executor:
        local: LocalBraket = await make_local(executor=executor)
        client = await clients.braket(local)
        request = task_request(local, action=openqasm(RUNAWAY), shots=1)
        runaway = (await client.create_quantum_task(**request))["quantumTaskArn"]
        # The limit runs from the task's start: poll for up to 60 s (wait_task's default
        # window, 600 x 20 ms, can end first on a loaded machine).
        failed = await wait_until(
            lambda: _status(client, runaway),
            lambda r: r["status"] in {"COMPLETED", "FAILED", "CANCELLED"},
            interval=0.1,
        )
        assert failed["status"] == "FAILED"
        assert "time limit of 2 s" in failed["failureReason"]


async def test_a_runaway_task_starves_no_one(
    make_local: LocalFactory, clients: RawClients
) -> None:
    async with SimulatorExecutor(
        workers=1, max_workers=2, burst_after=0.5, time_limit=None, memory_limit=None
    ) as executor:
        local: LocalBraket = await make_local(executor=executor)
        client = await clients.braket(local)
        request = task_request(local, action=openqasm(RUNAWAY), shots=1)
        runaway = (await client.create_quantum_task(**request))["quantumTaskArn"]
        await wait_until(lambda: _status(client, runaway), lambda r: r["status"] == "RUNNING")
        normal = [
            (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
            for _ in range(3)
        ]
        for arn in normal:
            assert (await wait_task(client, arn))["status"] == "COMPLETED"
        assert (await _status(client, runaway))["status"] == "RUNNING"
        await client.cancel_quantum_task(quantumTaskArn=runaway)
        assert (await wait_task(client, runaway))["status"] == "CANCELLED"
