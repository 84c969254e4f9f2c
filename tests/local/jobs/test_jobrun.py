"""Hybrid-job lifecycle: queueing beyond the concurrent-jobs quota, runners, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError

from braket_async.local import JobControl, JobSpec, LocalBraket, NoScriptJobRunner, Quotas

from .._helpers import GatedSleep, RawClients, job_request, wait_job, wait_until


class HeldRunner:
    """A runner whose jobs run until the test releases them (or they are cancelled)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.fail_with: Exception | None = None
        self.extra_events = 0

    async def run(self, job: JobSpec, control: JobControl) -> None:
        self.started.append(job.job_name)
        event = self.release.setdefault(job.job_arn, asyncio.Event())
        control.emit("STARTING_INSTANCE", "Provisioning job instance")
        control.set_status("RUNNING")
        for i in range(self.extra_events):
            control.emit("RUNNING", f"step {i}")
        if self.fail_with is not None:
            raise self.fail_with
        await event.wait()
        if control.cancel_requested:
            control.emit("CANCELLED", "Job cancelled")
            control.set_status("CANCELLED")
            return
        control.set_status("COMPLETED")
        control.emit("COMPLETED", "Job has completed")

    async def cancel(self, job_arn: str) -> None:
        self.release.setdefault(job_arn, asyncio.Event()).set()


async def _job(client: Any, arn: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.get_job(
        jobArn=arn, additionalAttributeNames=["QueueInfo"]
    )
    return result


async def test_jobs_beyond_three_wait_queued_fifo(make_local: Any, clients: RawClients) -> None:
    runner = HeldRunner()
    local: LocalBraket = await make_local(job_runner=runner, quotas=Quotas.off())
    local.quotas = Quotas(concurrent_jobs=3)  # settable: the job scheduler follows it
    client = await clients.braket(local)
    arns = [(await client.create_job(**job_request(f"fifo-{i}")))["jobArn"] for i in range(5)]
    await wait_until(lambda: _job(client, arns[2]), lambda r: len(runner.started) == 3)
    states = [await _job(client, arn) for arn in arns]
    assert [s["status"] for s in states] == ["RUNNING"] * 3 + ["QUEUED"] * 2
    assert [s["queueInfo"]["position"] for s in states[3:]] == ["1", "2"]
    assert states[3]["events"][0]["eventType"] == "QUEUED_FOR_EXECUTION"
    assert states[0]["queueInfo"]["position"] == "None"
    runner.release[arns[1]].set()
    await wait_until(lambda: _job(client, arns[3]), lambda r: r["status"] == "RUNNING")
    assert runner.started == ["fifo-0", "fifo-1", "fifo-2", "fifo-3"]
    assert (await _job(client, arns[1]))["status"] == "COMPLETED"
    # Cancel a waiting job: it never starts.
    cancel = await client.cancel_job(jobArn=arns[4])
    assert cancel["cancellationStatus"] == "CANCELLED"
    # Cancel a running job: CANCELLING, the runner is told, then CANCELLED.
    cancel = await client.cancel_job(jobArn=arns[0])
    assert cancel["cancellationStatus"] in ("CANCELLING", "CANCELLED")
    final = await wait_job(client, arns[0])
    assert final["status"] == "CANCELLED" and final["events"][-1]["eventType"] == "CANCELLED"
    for arn in arns[2:4]:
        runner.release[arn].set()
    assert [(await wait_job(client, arn))["status"] for arn in arns] == [
        "CANCELLED",
        "COMPLETED",
        "COMPLETED",
        "COMPLETED",
        "CANCELLED",
    ]
    assert "fifo-4" not in runner.started


async def test_queue_limit_refuses_with_service_quota_exceeded(
    make_local: Any, clients: RawClients
) -> None:
    runner = HeldRunner()
    quotas = Quotas(concurrent_jobs=1, max_queued_jobs=1)
    local: LocalBraket = await make_local(job_runner=runner, quotas=quotas)
    client = await clients.braket(local)
    first = (await client.create_job(**job_request("limit-0")))["jobArn"]
    await client.create_job(**job_request("limit-1"))
    with pytest.raises(ClientError) as info:
        await client.create_job(**job_request("limit-2"))
    assert info.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    runner.release.setdefault(first, asyncio.Event()).set()


async def test_runner_failure_and_event_cap(make_local: Any, clients: RawClients) -> None:
    runner = HeldRunner()
    runner.fail_with = RuntimeError("boom")
    runner.extra_events = 30
    local: LocalBraket = await make_local(job_runner=runner, quotas=Quotas.off())
    client = await clients.braket(local)
    arn = (await client.create_job(**job_request("fails")))["jobArn"]
    job = await wait_job(client, arn)
    assert job["status"] == "FAILED"
    assert "boom" in job["failureReason"]
    assert len(job["events"]) == 20  # GetJob answers the latest 20
    assert job["events"][-1]["eventType"] == "FAILED"
    assert len(local.store.job(arn).events) == 32  # STARTING_INSTANCE + 30 + FAILED


async def test_default_runner_cancel_midway(make_local: Any, clients: RawClients) -> None:
    gate = GatedSleep()
    local: LocalBraket = await make_local(sleep=gate, quotas=Quotas.off())
    client = await clients.braket(local)
    arn = (await client.create_job(**job_request("cancel-me")))["jobArn"]
    gate.release(2)  # STARTING_INSTANCE, DOWNLOADING_DATA
    job = await wait_until(lambda: _job(client, arn), lambda r: len(r["events"]) == 2)
    assert job["status"] == "RUNNING" and "startedAt" in job
    assert (await client.cancel_job(jobArn=arn))["cancellationStatus"] == "CANCELLING"
    job = await wait_job(client, arn)
    assert job["status"] == "CANCELLED"
    assert [e["eventType"] for e in job["events"]] == [
        "STARTING_INSTANCE",
        "DOWNLOADING_DATA",
        "CANCELLED",
    ]


async def test_runner_factory_gets_the_started_service(
    make_local: Any, clients: RawClients
) -> None:
    seen: list[tuple[str, str]] = []

    def factory(local: LocalBraket) -> NoScriptJobRunner:
        seen.append((local.endpoint_url, local.s3_endpoint_url))
        return NoScriptJobRunner(step_delay=0)

    local: LocalBraket = await make_local(job_runner_factory=factory, quotas=Quotas.off())
    assert seen == [(local.endpoint_url, local.s3_endpoint_url)]
    client = await clients.braket(local)
    arn = (await client.create_job(**job_request("factory")))["jobArn"]
    assert (await wait_job(client, arn))["status"] == "COMPLETED"
