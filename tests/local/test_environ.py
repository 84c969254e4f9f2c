"""``LocalBraket.environ()``: every AWS client (boto3, the Braket SDK, the AWS CLI's botocore)
reaches the local service with only these variables applied."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from braket_async.local import CONFLICTING_VARIABLES, LocalBraket
from braket_async.local._environ import (
    AWS_PORT_SERVICES,
    ECR_VARIABLE,
    JOBS_ROLE_NAME,
    PRICE_LIST_VARIABLE,
    environ_for,
    environ_from_ready_line,
    format_exports,
)
from braket_async.local._jobs import process_job_runner_factory
from braket_async.local._price_list import PRICE_LIST_PATH

JOBS_DATA = Path(__file__).parents[1] / "data" / "jobs"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def _clean_environ(env: dict[str, str]) -> dict[str, str]:
    """The test process's environment minus every AWS / Braket setting, plus ``env``."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "BRAKET_", "AMZN_BRAKET_"))
    }
    return {**base, **env}


def test_each_endpoint_variable_is_the_one_botocore_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a distinct URL per service, so a wrong name resolves to the wrong (or AWS's) endpoint
    env = environ_for(
        endpoint_url="http://127.0.0.1:1",
        aws_endpoint_url="http://127.0.0.1:2",
        region="eu-west-2",
        credentials=("AKID", "SECRET"),
    )
    for name in CONFLICTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    clients = {"braket": "AWS_ENDPOINT_URL_BRAKET", "ecr": ECR_VARIABLE, **AWS_PORT_SERVICES}
    for client_name, variable in clients.items():
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(variable, f"http://127.0.0.1:9/{client_name}")
        session = boto3.Session()
        client = session.client(client_name)  # type: ignore[call-overload]
        assert client.meta.endpoint_url == f"http://127.0.0.1:9/{client_name}", variable
        assert client.meta.region_name == "eu-west-2"
        credentials = session.get_credentials()
        assert (credentials.access_key, credentials.secret_key) == ("AKID", "SECRET")
        assert credentials.token is None


async def test_environ_names_the_service_endpoints_region_and_credentials(
    local_braket: LocalBraket,
) -> None:
    env = local_braket.environ()
    assert env["AWS_ENDPOINT_URL_BRAKET"] == local_braket.endpoint_url
    # ECR (job images) and the SDK's price list are served on the Braket port
    assert env[ECR_VARIABLE] == local_braket.endpoint_url
    assert env[PRICE_LIST_VARIABLE] == local_braket.endpoint_url + PRICE_LIST_PATH
    for variable in AWS_PORT_SERVICES.values():
        assert env[variable] == local_braket.s3_endpoint_url
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == local_braket.credentials
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == local_braket.region


async def test_started_service_has_the_sdks_default_role_and_bucket(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    def discover() -> tuple[str, str]:
        from braket.aws import AwsSession

        session = AwsSession()
        return session.get_default_jobs_role(), session.default_bucket()

    role, bucket = await asyncio.to_thread(discover)

    assert role == local_braket.jobs_role_arn
    assert role.endswith(f":role/service-role/{JOBS_ROLE_NAME}")
    assert bucket == f"amazon-braket-{local_braket.region}-{local_braket.account_id}"
    assert await local_braket.objects.bucket_exists(bucket)


async def test_sdk_job_create_works_with_only_environ_applied(
    make_local: Any, tmp_path: Path
) -> None:
    """The Done-when of the environment: a separate process with nothing but ``environ()``
    runs ``AwsQuantumJob.create`` (role found through IAM, default bucket through STS, logs
    through CloudWatch Logs) to completion."""
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    script = f"""
import json
from braket.aws import AwsQuantumJob
# The SDK's log tail polls every 5 s (create's wait_until_complete); 0.5 s, same path.
AwsQuantumJob.logs.__defaults__ = (False, 0.5)
job = AwsQuantumJob.create(
    device={SV1!r},
    source_module={str(JOBS_DATA / "sdk_job.py")!r},
    entry_point="sdk_job:start_here",
    hyperparameters={{"shots": 100}},
    wait_until_complete=True,
)
print(json.dumps({{"status": job.state(), "role": job.metadata()["roleArn"],
                   "result": job.result()}}))
"""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=tmp_path,
        env=_clean_environ(local.environ()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["status"] == "COMPLETED"
    assert report["role"].endswith(f":role/service-role/{JOBS_ROLE_NAME}")
    counts = report["result"]["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100


def test_export_lines_survive_the_shell_and_unset_conflicts() -> None:
    env = {"AWS_ACCESS_KEY_ID": "it's a key", "AWS_SECRET_ACCESS_KEY": "$HOME `x` \"q\""}
    script = format_exports(env) + 'printf "%s|%s|%s" "$AWS_ACCESS_KEY_ID" '
    script += '"$AWS_SECRET_ACCESS_KEY" "${AWS_PROFILE-unset}"'
    shell = shutil.which("sh")
    assert shell is not None
    done = subprocess.run(
        [shell, "-c", script],
        env={"PATH": os.environ.get("PATH", ""), "AWS_PROFILE": "real-account"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "it's a key|$HOME `x` \"q\"|unset"
    assert json.loads(format_exports(env, as_json=True)) == env


def test_ready_line_fields_are_checked() -> None:
    line = {
        "endpoint_url": "http://127.0.0.1:1",
        "s3_endpoint_url": "http://127.0.0.1:2",
        "region": "us-west-2",
        "access_key_id": "testing",
    }
    env = environ_from_ready_line(line, "testing")
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:2"
    assert env["AWS_REGION"] == "us-west-2"
    with pytest.raises(ValueError, match="'s3_endpoint_url' must be a non-empty string"):
        environ_from_ready_line({**line, "s3_endpoint_url": None}, "testing")
