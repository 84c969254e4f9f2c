"""QPU queues and execution windows on a scaled clock, through a boto3-compatible client:
queue position and depth in Braket's format, windows that hold tasks QUEUED, cancel while
QUEUED, no cancel while RUNNING, priority for tasks of hybrid jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from _common import raw_client
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket, QpuQueue
from braket_async.local._qpu_queue import in_window, next_window_start

from ._helpers import NO_RETRIES, job_request, openqasm, task_request, wait_task, wait_until

FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
BELL = openqasm("OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];")
FORTE_WINDOWS = [
    {"executionDay": "Monday", "windowStartHour": "13:00:00", "windowEndHour": "23:59:59"},
    {"executionDay": "Tuesday", "windowStartHour": "00:00:00", "windowEndHour": "23:59:59"},
]
# 2026-11-30 is a Monday, 2026-12-01 a Tuesday.
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_windows_open_and_close_on_their_days_and_hours() -> None:
    assert not in_window(FORTE_WINDOWS, MONDAY_NOON)
    assert next_window_start(FORTE_WINDOWS, MONDAY_NOON) == MONDAY_NOON.replace(hour=13)
    assert in_window(FORTE_WINDOWS, TUESDAY_NOON)
    wednesday = datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)
    assert not in_window(FORTE_WINDOWS, wednesday)
    # Closed from Wednesday to the next Monday 13:00.
    assert next_window_start(FORTE_WINDOWS, wednesday) == datetime(2026, 12, 7, 13, tzinfo=UTC)
    weekdays = [{"executionDay": "Weekdays", "windowStartHour": "22:00", "windowEndHour": "02:00"}]
    assert in_window(weekdays, datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # past midnight
    assert not in_window(weekdays, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    assert in_window([], MONDAY_NOON)
    with pytest.raises(ValueError, match="time_scale"):
        QpuQueue(time_scale=0)


async def _client(local: LocalBraket) -> Any:
    return raw_client("braket", local.endpoint_url, region="us-east-1", config=NO_RETRIES)


async def _queue_info(client: Any, arn: str) -> dict[str, Any]:
    task = await client.get_quantum_task(quantumTaskArn=arn, additionalAttributeNames=["QueueInfo"])
    info: dict[str, Any] = task["queueInfo"]
    return {"status": task["status"], **info}


async def test_queue_position_depth_and_cancels(make_local: Any) -> None:
    # An hour of other users' work ahead, each task holds Forte-1 for a simulated hour, and an
    # hour passes in a real second.
    model = QpuQueue(time_scale=3600, backlog=3600, task_seconds=3600, simulated_start=TUESDAY_NOON)
    local: LocalBraket = await make_local(qpu_queue=model)
    async with await _client(local) as client:
        arns = [
            (await client.create_quantum_task(**task_request(local, deviceArn=FORTE, action=BELL)))[
                "quantumTaskArn"
            ]
            for _ in range(3)
        ]
        infos = [await _queue_info(client, arn) for arn in arns]
        assert [i["position"] for i in infos] == ["1", "2", "3"]
        assert {i["queue"] for i in infos} == {"QUANTUM_TASKS_QUEUE"}
        assert {i["queuePriority"] for i in infos} == {"Normal"}
        assert {i["status"] for i in infos} == {"QUEUED"}
        device = await client.get_device(deviceArn=FORTE)
        sizes = {q.get("queuePriority"): q["queueSize"] for q in device["deviceQueueInfo"]}
        # Ours and the backlog's (an hour of one-hour tasks: one more).
        assert sizes["Normal"] == "4" and sizes["Priority"] == "0"

        # Cancel while QUEUED succeeds; the others move up.
        cancel = await client.cancel_quantum_task(quantumTaskArn=arns[2])
        assert cancel["cancellationStatus"] == "CANCELLING"
        assert (await wait_task(client, arns[2]))["status"] == "CANCELLED"
        assert (await _queue_info(client, arns[1]))["position"] == "2"

        # After the backlog the first task holds the QPU: RUNNING cannot be cancelled.
        await wait_until(
            lambda: client.get_quantum_task(quantumTaskArn=arns[0]),
            lambda t: t["status"] == "RUNNING",
        )
        with pytest.raises(ClientError) as info:
            await client.cancel_quantum_task(quantumTaskArn=arns[0])
        assert info.value.response["Error"]["Code"] == "ConflictException"
        assert (await _queue_info(client, arns[1]))["position"] == "1"
        for arn in arns[:2]:
            assert (await wait_task(client, arn))["status"] == "COMPLETED"


async def test_nothing_runs_outside_the_execution_windows(make_local: Any) -> None:
    # Monday 12:59:00; Forte-1 opens at 13:00. A simulated minute per real second.
    start = MONDAY_NOON.replace(minute=59)
    local: LocalBraket = await make_local(
        qpu_queue=QpuQueue(time_scale=60, task_seconds=0, simulated_start=start)
    )
    async with await _client(local) as client:
        arn = (
            await client.create_quantum_task(**task_request(local, deviceArn=FORTE, action=BELL))
        )["quantumTaskArn"]
        await asyncio.sleep(0.5)  # 30 simulated seconds: still closed
        assert (await _queue_info(client, arn))["status"] == "QUEUED"
        assert local.tasks.lanes is not None and local.tasks.lanes.now() < start.replace(
            hour=13, minute=0
        )
        done = await wait_task(client, arn)
        assert done["status"] == "COMPLETED"
        assert local.tasks.lanes.now() >= start.replace(hour=13, minute=0)


async def test_tasks_of_a_job_get_priority(make_local: Any) -> None:
    model = QpuQueue(time_scale=3600, backlog=1800, task_seconds=360, simulated_start=TUESDAY_NOON)
    local: LocalBraket = await make_local(qpu_queue=model)
    async with await _client(local) as client:
        job_arn = (
            await client.create_job(**job_request("qpu-priority", deviceConfig={"device": FORTE}))
        )["jobArn"]
        token = local.store.job(job_arn).job_token
        normal = [
            (await client.create_quantum_task(**task_request(local, deviceArn=FORTE, action=BELL)))[
                "quantumTaskArn"
            ]
            for _ in range(2)
        ]
        priority = (
            await client.create_quantum_task(
                **task_request(local, deviceArn=FORTE, action=BELL, jobToken=token)
            )
        )["quantumTaskArn"]
        info = await _queue_info(client, priority)
        assert (info["position"], info["queuePriority"]) == ("1", "Priority")
        device = await client.get_device(deviceArn=FORTE)
        sizes = {q.get("queuePriority"): q["queueSize"] for q in device["deviceQueueInfo"]}
        assert sizes["Priority"] == "1"
        ended = {arn: (await wait_task(client, arn))["endedAt"] for arn in [priority, *normal]}
        assert ended[priority] < ended[normal[0]] < ended[normal[1]]
