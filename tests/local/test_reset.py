"""``LocalBraket.reset`` and ``POST /_local/reset``: a clean slate without a new service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from _common import SV1, create_task, session_on

from braket_async.errors import ResourceNotFoundException, ThrottlingException
from braket_async.local import FaultConfig, FaultSpec, LocalBraket, NoScriptJobRunner, Quotas
from braket_async.ratelimit import RateLimits

from ._helpers import control_headers

LocalFactory = Callable[..., Awaitable[LocalBraket]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _job(local: LocalBraket, name: str) -> dict[str, Any]:
    bucket = local.default_bucket
    return {
        "job_name": name,
        "role_arn": "arn:aws:iam::123456789012:role/r",
        "algorithm_specification": {
            "scriptModeConfig": {"entryPoint": "m:f", "s3Uri": f"s3://{bucket}/code/m.py"}
        },
        "output_data_config": {"s3Path": f"s3://{bucket}/out"},
        "checkpoint_config": {"s3Uri": f"s3://{bucket}/ckpt"},
        "instance_config": {"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        "device_config": {"device": SV1},
    }


async def test_reset_over_http_forgets_tasks_and_jobs_and_restores_settings(
    make_local: LocalFactory, http: aiohttp.ClientSession
) -> None:
    started_with = FaultConfig(per_operation={"SearchJobs": FaultSpec(internal_error=1.0)})
    local = await make_local(
        queue_delay=3600.0,  # the task stays QUEUED until the reset drops it
        quotas=Quotas.aws_defaults(overrides={"GetDevice": (0.001, 1.0)}),
        faults=started_with,
        job_runner=NoScriptJobRunner(step_delay=3600.0),  # the job stays RUNNING
    )
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        task_arn = await create_task(braket, local)
        job_arn = await braket.create_job(**_job(local, "reset-me"))
        await braket.get_device(SV1)
        with pytest.raises(ThrottlingException):
            await braket.get_device(SV1)
        local.faults = None

        url = f"{local.endpoint_url}/_local/reset"
        async with http.post(url) as resp:
            assert resp.status == 403  # the control token is needed
        async with http.post(url, headers=control_headers(local)) as resp:
            assert resp.status == 200
            health = await resp.json()
        assert (health["tasks"], health["jobs"], health["running_tasks"]) == (0, 0, 0)

        for get in (braket.get_quantum_task(task_arn), braket.get_job(job_arn)):
            with pytest.raises(ResourceNotFoundException):
                await get
        assert (await braket.search_quantum_tasks(filters=[])).quantum_tasks == ()
        assert local.faults is started_with
        assert local.ledger.calls == {"GetQuantumTask": 1, "GetJob": 1, "SearchQuantumTasks": 1}
        await braket.get_device(SV1)  # the quotas' buckets are full again
        # the old job is gone, so its name is free again
        assert await braket.create_job(**_job(local, "reset-me")) == job_arn


async def test_reset_of_a_service_not_started_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await LocalBraket().reset()
