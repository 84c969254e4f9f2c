"""Conformance: the Amazon Braket SDK's hybrid jobs, unmodified, against the local service.

``AwsQuantumJob.create(..., wait_until_complete=True)`` uploads the script, creates the job
and tails its logs until it ends; ``.result()`` downloads model.tar.gz and reads the saved
results; ``.logs()`` prints the job's log lines. The SDK is synchronous (it sleeps between
polls), so it runs in a thread while the service keeps serving on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from braket_async.local import LocalBraket
from braket_async.local.jobs._jobs import process_job_runner_factory

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


@pytest.fixture
async def sdk_local(make_local: Any, monkeypatch: pytest.MonkeyPatch) -> LocalBraket:
    """A service running job scripts, with the SDK's AWS environment pointing at it."""
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
    from braket.aws import AwsQuantumJob

    # create(wait_until_complete=True) tails the logs with logs(wait=True) at the SDK's
    # default 5 s interval (and one more poll after the job ends): the same SDK path at 0.5 s.
    monkeypatch.setattr(AwsQuantumJob.logs, "__defaults__", (False, 0.5))
    return local


#: What the SDK's own job integration tests look for in every job's logs (the job image's
#: launcher and braket_container.py write them).
CONTAINER_LINES = (
    "Invoking script with the following command:",
    "braket_container.py",
    "Running Code As Process",
    "Code Run Finished",
    '"user_entry_point": "braket_container.py"',
)


async def test_sdk_hybrid_job_create_result_logs(
    sdk_local: LocalBraket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # .result() downloads and extracts model.tar.gz into the working directory
    monkeypatch.chdir(tmp_path)
    local = sdk_local

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
    for line in (*CONTAINER_LINES, "Reporting training SUCCESS"):
        assert printed.count(line) >= 2, line
    # the launcher's lines frame the script's output, as in the job container
    assert printed.index("Invoking script with the following command:") < printed.index(
        "Running Code As Process"
    )
    assert printed.index("Code Run Finished") < printed.index("Reporting training SUCCESS")


def _run_failing_sdk_job() -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    from braket.aws import AwsQuantumJob

    job = AwsQuantumJob.create(
        device=SV1,
        source_module=str(JOBS_DATA / "sdk_failing_job.py"),
        entry_point="sdk_failing_job:start_here",
        role_arn=ROLE,
        wait_until_complete=False,
    )
    while job.state() not in AwsQuantumJob.TERMINAL_STATES:
        time.sleep(0.5)
    return job, job.state(use_cached_value=True), job.result(), job.metadata()


async def test_sdk_failed_job_logs_and_failure_reason(
    sdk_local: LocalBraket, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SDK's test_failed_quantum_job, against the local service."""
    job, state, result, metadata = await asyncio.to_thread(_run_failing_sdk_job)
    assert state == "FAILED"
    assert result == {}  # no results saved
    capsys.readouterr()
    await asyncio.to_thread(job.logs)
    printed, errors = capsys.readouterr()
    assert errors == ""
    for line in (
        *CONTAINER_LINES,
        "Test job started!!!!!",
        "FileNotFoundError: [Errno 2] No such file or directory: 'fake_file'",
    ):
        assert line in printed, line
    assert "Reporting training SUCCESS" not in printed
    assert "ExecuteUserScriptError:" in printed and "ExitCode 1" in printed
    assert metadata["failureReason"] == (
        "AlgorithmError: FileNotFoundError: [Errno 2] "
        "No such file or directory: 'fake_file', exit code: 1"
    )
    # the traceback is the user's: it starts in their script, with none of the service's frames
    traceback = printed[printed.index("Traceback (most recent call last):") :]
    first_frame = traceback.splitlines()[1]
    assert first_frame.strip().startswith('File "') and "sdk_failing_job.py" in first_frame
    assert 'braket_container.py", line' not in traceback
    assert "braket_async" not in printed
