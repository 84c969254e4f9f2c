"""``braket-async job create|status|watch|logs|result|cancel`` on local hybrid jobs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from _common import COMPLETED_JOB_EVENTS

from braket_async import BraketSession
from braket_async.local import LocalBraket
from braket_async.local.jobs._jobs import process_job_runner_factory

from ._helpers import Run, run_main

SCRIPT = """
import json
import os


def main():
    print("hello from the job")
    print("hyperparameter shots =", json.load(open(os.environ["AMZN_BRAKET_HP_FILE"]))["shots"])
    results = {
        "braketSchemaHeader": {"name": "braket.jobs_data.persisted_job_data", "version": "1"},
        "dataDictionary": {"answer": 42},
        "dataFormat": "plaintext",
    }
    path = os.path.join(os.environ["AMZN_BRAKET_JOB_RESULTS_DIR"], "results.json")
    with open(path, "w") as f:
        json.dump(results, f)


def fail():
    raise ValueError("the job broke on purpose")


def sleep():
    import time

    time.sleep(60)
"""


@pytest.fixture
async def jobs_local(make_local: Any) -> LocalBraket:
    """A local service that really runs job scripts (as subprocesses)."""
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    return local


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "cli_job.py"
    path.write_text(SCRIPT)
    return path


async def _create(
    cli: Any, local: LocalBraket, script: Path, entry_point: str, *options: str
) -> Run:
    """``job create`` of ``script`` on ``local`` with a role and its default bucket."""
    return await cli(
        "job", "create", str(script), "--entry-point", entry_point,
        "--role", "arn:aws:iam::123456789012:role/Test", "--bucket", local.default_bucket,
        *options, local=local,
    )  # fmt: skip


async def test_create_wait_logs_and_result(cli: Any, jobs_local: LocalBraket, script: Path) -> None:
    options = ("--hp", "shots=10", "--wait", "--json")
    run = await _create(cli, jobs_local, script, "cli_job:main", *options)
    assert run.code == 0, run.err
    events = [json.loads(line) for line in run.out.splitlines()]
    kinds = [e["event"] for e in events]
    assert [k for k in kinds if k in COMPLETED_JOB_EVENTS] == COMPLETED_JOB_EVENTS
    assert len(kinds) == len(set(kinds))  # each event once
    arn = run.err.split("created ", 1)[1].split()[0]

    logs = await cli("job", "logs", arn, "--no-follow", local=jobs_local)
    assert logs.code == 0, logs.err
    assert "hello from the job" in logs.out and "hyperparameter shots = 10" in logs.out

    result = await cli("job", "result", arn, local=jobs_local)
    assert result.code == 0, result.err
    assert result.json() == {"answer": 42}

    status = await cli("job", "status", arn, "--json", local=jobs_local)
    assert status.code == 0, status.err
    assert status.json()["status"] == "COMPLETED" and status.json()["job_arn"] == arn


async def test_a_failing_job_exits_3_with_its_reason(
    cli: Any, jobs_local: LocalBraket, script: Path
) -> None:
    run = await _create(cli, jobs_local, script, "cli_job:fail", "--wait")
    assert run.code == 3
    assert "ended FAILED" in run.err and "the job broke on purpose" in run.err


async def test_watch_and_cancel_a_job(
    cli: Any, braket: BraketSession, local_braket: LocalBraket
) -> None:
    arn = await braket.create_job(
        job_name="cli-watch",
        role_arn="arn:aws:iam::123456789012:role/Test",
        algorithm_specification={
            "scriptModeConfig": {"entryPoint": "x:main", "s3Uri": "s3://b/x.py"}
        },
        instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        output_data_config={"s3Path": f"s3://{local_braket.default_bucket}/jobs/out"},
        device_config={"device": "arn:aws:braket:::device/quantum-simulator/amazon/sv1"},
    )
    run = await cli("job", "watch", arn)
    assert run.code == 0, run.err
    assert "COMPLETED" in run.out and "Job has completed" in run.out

    done = await cli("job", "cancel", arn)
    assert done.code == 1  # a completed job cannot be cancelled: the service says why
    assert "CancelJob" in done.err


async def test_cancel_a_running_job_then_watch_it_end(
    cli: Any, jobs_local: LocalBraket, script: Path
) -> None:
    created = await _create(cli, jobs_local, script, "cli_job:sleep", "--json")
    assert created.code == 0, created.err
    arn = created.json()["job_arn"]
    cancel = await cli("job", "cancel", arn, "--json", local=jobs_local)
    assert cancel.code == 0, cancel.err
    assert cancel.json() == {"job_arn": arn, "status": "CANCELLING"}
    watch = await cli("job", "watch", arn, local=jobs_local)
    assert watch.code == 3
    assert f"job {arn} ended CANCELLED" in watch.err


async def test_create_needs_a_role_outside_the_local_service(
    cli: Any, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAKET_JOBS_ROLE_ARN", raising=False)
    run = await cli("job", "create", str(script), "--bucket", "b")
    assert run.code == 2
    assert "--role is required" in run.err


def test_hyperparameters_must_be_key_value() -> None:
    from braket_async.cli._errors import CliError
    from braket_async.cli._jobs import _key_value

    assert _key_value("a=b=c") == ("a", "b=c")
    with pytest.raises(CliError, match="KEY=VALUE"):
        _key_value("novalue")


@pytest.mark.usefixtures("quick_local")
async def test_local_flag_runs_the_jobs_script_with_local_defaults(script: Path) -> None:
    """``--local``: no role or bucket needed, and the script really runs (here: it fails)."""
    argv = ["--local", "job", "create", str(script), "--entry-point", "cli_job:fail", "--wait"]
    code, out, err = await asyncio.to_thread(run_main, *argv)
    assert code == 3, err
    assert "the job broke on purpose" in err
    assert "RUNNING" in out
