"""Tasks handed to ``add()`` long after they were created (no creation time): located in the
first sweep, through the real local service, status calls counted by its ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from _common import create_task

from braket_async import BraketSession, QuantumTaskStatus, RateLimits
from braket_async.local import LocalBraket, Quotas
from braket_async.tracking import TaskTracker

from ._fake import DM1, SV1

SCALE = 5.0  # AWS default quotas x5: hundreds of tasks are created in seconds
STATUS_OPS = ("GetQuantumTask", "SearchQuantumTasks")
#: The target: at most this many status calls per task added late.
CALLS_PER_TASK = 0.15


@pytest.fixture
async def braket_on(make_local: Any) -> AsyncIterator[Any]:
    sessions: list[BraketSession] = []

    async def factory(**service: Any) -> tuple[LocalBraket, BraketSession]:
        local = await make_local(quotas=Quotas.aws_defaults(scale=SCALE), **service)
        session = BraketSession(
            endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            rate_limits=RateLimits.aws_defaults(scale=SCALE),
        )
        sessions.append(await session.open())
        return local, session

    yield factory
    for session in sessions:
        await session.close()


async def create_many(
    braket: BraketSession, local: LocalBraket, devices: Sequence[str]
) -> list[str]:
    creates = (create_task(braket, local, device_arn=d, prefix="late") for d in devices)
    return list(await asyncio.gather(*creates))


async def until_completed(local: LocalBraket, count: int) -> None:
    for _ in range(1200):  # the service has no completion hook: look every 50 ms, up to 60 s
        if local.ledger.snapshot()["tasks_completed"] >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} tasks completed within 60 s")


def status_calls(local: LocalBraket) -> int:
    calls = local.ledger.snapshot()["calls"]
    return sum(calls.get(op, 0) for op in STATUS_OPS)


async def follow_late(local: LocalBraket, braket: BraketSession, arns: list[str]) -> TaskTracker:
    """Hand every ARN to a fresh tracker (no creation time) and wait for all of them."""
    before = status_calls(local)
    tracker = braket.track()
    for arn in arns:
        tracker.add(arn)
    done = await tracker.wait_all(details=False)
    assert [t.quantum_task_arn for t in done] == arns
    assert {t.status for t in done} == {QuantumTaskStatus.COMPLETED}
    served = status_calls(local) - before
    assert served == tracker.stats.status_calls  # the tracker's count is the service's
    assert served <= CALLS_PER_TASK * len(arns), tracker.stats
    return tracker


async def test_three_hundred_finished_tasks(braket_on: Any) -> None:
    local, braket = await braket_on(run_delay=0.01)
    arns = await create_many(braket, local, [SV1] * 300)
    await until_completed(local, 300)
    tracker = await follow_late(local, braket, arns)
    # 10 ARNs say when they were created; the pages from then on hold all 300.
    assert tracker.stats.arn_sweeps == 1 and tracker.stats.locate_sweeps == 1
    assert tracker.stats.status_calls == 1 + 3
    assert tracker.stats.get_calls == 0


async def test_a_mix_of_finished_queued_and_running_tasks(braket_on: Any) -> None:
    # 100 tasks run at once (the SV1 quota), 2 s each: 300 take three rounds.
    local, braket = await braket_on(run_delay=2.0)
    arns = await create_many(braket, local, [SV1] * 300)
    await until_completed(local, 100)
    statuses = [local._store.task(arn).status for arn in arns]  # as handed over
    assert {"COMPLETED", "QUEUED", "RUNNING"} <= set(statuses)
    tracker = await follow_late(local, braket, arns)
    assert tracker.stats.locate_sweeps == 1 and tracker.stats.window_sweeps >= 1


async def test_tasks_created_hours_earlier(braket_on: Any) -> None:
    local, braket = await braket_on(run_delay=0.01)
    arns = await create_many(braket, local, [SV1] * 300)
    await until_completed(local, 300)
    # The service cannot create tasks in the past: its records are moved back 3 hours.
    for arn in arns:
        local._store.task(arn).created_at -= timedelta(hours=3)
    tracker = await follow_late(local, braket, arns)
    assert tracker.stats.locate_sweeps == 1 and tracker.stats.get_calls == 0


async def test_tasks_on_several_devices(braket_on: Any) -> None:
    local, braket = await braket_on(run_delay=0.01)
    arns = await create_many(braket, local, [SV1, DM1] * 150)
    await until_completed(local, 300)
    tracker = await follow_late(local, braket, arns)
    assert tracker.stats.locate_sweeps == 1 and tracker.stats.get_calls == 0
