"""``BraketSession(events=queue_url)``: ``track()`` and ``submit_batch`` take their statuses from
the real PutEvents -> rule -> SQS path on the embedded moto, and the service's ledger shows
how few status calls remain (the slow safety-net sweep)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _event_queue import event_queue

from braket_async import BraketSession, TaskRequest
from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
STATUS_OPS = ("GetQuantumTask", "SearchQuantumTasks")
TASKS = 30


def status_calls(local: LocalBraket) -> int:
    calls = local.ledger.snapshot()["calls"]
    return sum(calls.get(op, 0) for op in STATUS_OPS)


@pytest.fixture
async def service(make_local: Any, local_braket: LocalBraket) -> LocalBraket:
    """Tasks spend 0.3 s QUEUED and 0.3 s RUNNING; every change is published as an event."""
    local: LocalBraket = await make_local(
        queue_delay=0.3, run_delay=0.3, events_endpoint_url=local_braket.s3_endpoint_url
    )
    return local


@pytest.fixture
async def evented(service: LocalBraket, local_braket: LocalBraket) -> AsyncIterator[BraketSession]:
    aws = local_braket.s3_endpoint_url
    async with (
        event_queue(aws) as queue,
        BraketSession(
            endpoint_url=service.endpoint_url,
            s3_endpoint_url=service.s3_endpoint_url,
            sqs_endpoint_url=aws,
            events_endpoint_url=aws,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            events=queue.url,
        ) as session,
    ):
        yield session


async def test_track_follows_the_sessions_events(
    evented: BraketSession, service: LocalBraket
) -> None:
    arns = [
        await evented.create_quantum_task(
            device_arn=SV1,
            action=BELL,
            shots=10,
            output_s3_bucket=service.default_bucket,
            output_s3_key_prefix="tracking-events",
        )
        for _ in range(TASKS)
    ]
    before = status_calls(service)
    async with evented.track() as tracker:
        for arn in arns:
            tracker.add(arn, device_arn=SV1, just_created=True)
        finished = await tracker.wait_all(details=False)

    assert sorted(t.quantum_task_arn for t in finished) == sorted(arns)
    assert {str(t.status) for t in finished} == {"COMPLETED"}
    assert tracker.stats.events_applied >= TASKS  # each task's terminal event was used
    # Statuses came from events: the safety net made a handful of calls, not one per task.
    assert status_calls(service) - before == tracker.stats.status_calls
    assert tracker.stats.status_calls <= 0.2 * TASKS


async def test_a_batch_on_an_evented_session_tracks_by_events(
    evented: BraketSession, service: LocalBraket
) -> None:
    before = status_calls(service)
    requests = [
        TaskRequest(device_arn=SV1, action=BELL, shots=10, output_s3_key_prefix="batch-events")
        for _ in range(TASKS)
    ]
    async with evented.submit_batch(
        requests, output_s3_bucket=service.default_bucket, details=False
    ) as batch:
        outcomes = await batch.wait()

    assert len(outcomes) == TASKS
    assert all(o.ok and str(o.status) == "COMPLETED" for o in outcomes), outcomes
    stats = batch.tracker_stats
    assert stats is not None and stats.events_applied >= TASKS
    assert status_calls(service) - before == stats.status_calls <= 0.2 * TASKS
