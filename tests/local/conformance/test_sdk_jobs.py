"""Conformance: the Amazon Braket SDK's hybrid jobs, unmodified, against the local service.

``AwsQuantumJob.create(..., wait_until_complete=True)`` uploads the script, creates the job
and tails its logs until it ends; ``.result()`` downloads model.tar.gz and reads the saved
results; ``.logs()`` prints the job's log lines. The SDK is synchronous (it sleeps between
polls), so it runs in a thread while the service keeps serving on the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from braket_async.local import LocalBraket
from braket_async.local._jobs import process_job_runner_factory

JOBS_DATA = Path(__file__).parents[2] / "data" / "jobs"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonBraketJobsExecutionRole-local"
SHOTS = 200


def _run_sdk_job() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from braket.aws import AwsQuantumJob

    job = AwsQuantumJob.create(
        device=SV1,
        source_module=str(JOBS_DATA / "sdk_job.py"),
        entry_point="sdk_job:start_here",
        hyperparameters={"shots": SHOTS},
        role_arn=ROLE,
        wait_until_complete=True,
    )
    result = job.result()
    job.logs()
    return job, result, job.metadata()


async def test_sdk_hybrid_job_create_result_logs(
    make_local: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # .result() downloads and extracts model.tar.gz into the working directory
    monkeypatch.chdir(tmp_path)
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "BRAKET_JOBS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ENDPOINT_URL_BRAKET": local.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    for service in ("S3", "STS", "IAM", "CLOUDWATCH_LOGS"):
        env[f"AWS_ENDPOINT_URL_{service}"] = local.s3_endpoint_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    job, result, metadata = await asyncio.to_thread(_run_sdk_job)

    assert metadata["status"] == "COMPLETED"
    events = [event["eventType"] for event in metadata["events"]]
    assert events[-2:] == ["UPLOADING_RESULTS", "COMPLETED"]
    # a Bell pair: only 00 and 11, all the shots
    counts = result["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == SHOTS
    # the task the SDK ran inside the job carries the job's ARN (the job token)
    task = local.store.tasks[result["task_arn"]]
    assert task.job_arn == job.arn
    printed = capsys.readouterr().out
    # tailed once by create(wait_until_complete=True), printed again by logs()
    assert printed.count(f"running a Bell pair on SV1 with {SHOTS} shots") == 2
    assert printed.count("counts: {") == 2
