"""The AWS CLI v1 (``awscli``, extra ``clients``), unmodified, against the local service with only
``environ()`` applied: devices, a task and its results in S3, a search, a hybrid job and its
logs. Each command is the documented ``aws braket ...`` / ``aws s3 ...`` / ``aws logs ...``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from braket_async.local import CONFLICTING_VARIABLES, LocalBraket
from braket_async.local._jobs import process_job_runner_factory

pytest.importorskip("awscli", reason="the AWS CLI comes with the 'clients' extra")

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
JOBS_DATA = Path(__file__).parents[1] / "data" / "jobs"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"


def _aws_command() -> list[str]:
    # The `aws` script beside this interpreter (the venv's), else the module.
    script = Path(sys.executable).with_name("aws")
    return [str(script)] if script.exists() else [sys.executable, "-m", "awscli"]


async def aws(local: LocalBraket, *args: str) -> Any:
    """Run ``aws ARGS --output json`` with ``local.environ()`` only; its JSON (or text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BRAKET_"))}
    for name in CONFLICTING_VARIABLES:
        env.pop(name, None)
    env.update(local.environ())
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    proc = await asyncio.create_subprocess_exec(
        *_aws_command(), *args, "--output", "json",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, (args, err.decode())
    text = out.decode()
    return json.loads(text) if text.strip().startswith(("{", "[")) else text


async def test_devices(local_braket: LocalBraket) -> None:
    found = await aws(local_braket, "braket", "search-devices", "--filters", "[]")
    arns = {d["deviceArn"] for d in found["devices"]}
    assert SV1 in arns
    device = await aws(local_braket, "braket", "get-device", "--device-arn", SV1)
    assert device["deviceName"] == "SV1" and device["deviceStatus"] == "ONLINE"
    actions = json.loads(device["deviceCapabilities"])["action"]
    assert set(actions) == {"braket.ir.openqasm.program", "braket.ir.jaqcd.program"}


async def test_task_results_and_search(local_braket: LocalBraket, tmp_path: Path) -> None:
    action = tmp_path / "bell.json"
    action.write_text(
        json.dumps(
            {
                "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                "source": BELL,
                "inputs": {},
            }
        )
    )
    bucket = local_braket.default_bucket
    created = await aws(
        local_braket, "braket", "create-quantum-task", "--device-arn", SV1,
        "--action", f"file://{action}", "--shots", "100",
        "--output-s3-bucket", bucket, "--output-s3-key-prefix", "cli-v1",
    )  # fmt: skip
    arn = created["quantumTaskArn"]
    for _ in range(200):
        task = await aws(local_braket, "braket", "get-quantum-task", "--quantum-task-arn", arn)
        if task["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        await asyncio.sleep(0.1)
    assert task["status"] == "COMPLETED"
    results = tmp_path / "results.json"
    await aws(
        local_braket, "s3", "cp",
        f"s3://{task['outputS3Bucket']}/{task['outputS3Directory']}/results.json", str(results),
    )  # fmt: skip
    doc = json.loads(results.read_text())
    assert doc["braketSchemaHeader"]["name"] == "braket.task_result.gate_model_task_result"
    assert len(doc["measurements"]) == 100
    assert {"".join(map(str, m)) for m in doc["measurements"]} <= {"00", "11"}
    found = await aws(
        local_braket, "braket", "search-quantum-tasks",
        "--filters", f"name=quantumTaskArn,operator=EQUAL,values={arn}",
    )  # fmt: skip
    assert [t["quantumTaskArn"] for t in found["quantumTasks"]] == [arn]


async def test_hybrid_job_and_its_logs(make_local: Any, tmp_path: Path) -> None:
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    bucket = local.default_bucket
    source = tmp_path / "sdk_job.py"
    shutil.copy(JOBS_DATA / "sdk_job.py", source)
    await aws(local, "s3", "cp", str(source), f"s3://{bucket}/cli-jobs/sdk_job.py")
    specification = {
        "scriptModeConfig": {
            "entryPoint": "sdk_job:start_here",
            "s3Uri": f"s3://{bucket}/cli-jobs/sdk_job.py",
            "compressionType": "NONE",
        }
    }
    created = await aws(
        local, "braket", "create-job", "--job-name", "cli-bell",
        "--role-arn", local.jobs_role_arn or "arn:aws:iam::123456789012:role/braket",
        "--algorithm-specification", json.dumps(specification),
        "--output-data-config", json.dumps({"s3Path": f"s3://{bucket}/cli-jobs/out"}),
        "--instance-config", json.dumps({"instanceType": "ml.m5.large", "volumeSizeInGb": 30}),
        "--device-config", json.dumps({"device": SV1}),
        "--hyper-parameters", json.dumps({"shots": "50"}),
    )  # fmt: skip
    arn = created["jobArn"]
    for _ in range(600):
        job = await aws(local, "braket", "get-job", "--job-arn", arn)
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        await asyncio.sleep(0.2)
    assert job["status"] == "COMPLETED", job.get("failureReason")
    streams = await aws(
        local, "logs", "describe-log-streams", "--log-group-name", "/aws/braket/jobs",
        "--log-stream-name-prefix", "cli-bell",
    )  # fmt: skip
    (stream,) = streams["logStreams"]
    events = await aws(
        local, "logs", "get-log-events", "--log-group-name", "/aws/braket/jobs",
        "--log-stream-name", stream["logStreamName"],
    )  # fmt: skip
    lines = [e["message"] for e in events["events"]]
    assert any("running a Bell pair on SV1 with 50 shots" in line for line in lines)
    assert any("Reporting training SUCCESS" in line for line in lines)
