"""The local service's hybrid-job runner: layout and environment, the bootstrap, S3 transfers,
log shipping, and whole jobs run as processes by ``LocalBraket``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tarfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _common import COMPLETED_JOB_EVENTS

from braket_async.jobs import (
    JOB_LOG_GROUP,
    job_log_stream_prefix,
    job_results_location,
    parse_s3_uri,
)
from braket_async.local import LocalBraket
from braket_async.local.aws._s3 import EmbeddedAws, ObjectStore
from braket_async.local.jobs._jobs import process_job_runner_factory
from braket_async.local.jobs._jobs_bootstrap import (
    CODE_DIR_ENV,
    FAILURE_FILE_ENV,
    bind_hyperparameters,
)
from braket_async.local.jobs._jobs_env import JobEndpoints, JobLayout, build_environment
from braket_async.local.jobs._jobs_logs import LogShipper
from braket_async.local.jobs._jobs_s3 import ChannelEmpty, download_channel, download_prefix

from .._helpers import TERMINAL, RawClients, job_request, wait_until

JOBS_DATA = Path(__file__).parents[2] / "data" / "jobs"
BOOTSTRAP = Path(sys.modules[bind_hyperparameters.__module__].__file__ or "")
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def _request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "jobName": "my-job",
        "algorithmSpecification": {
            "scriptModeConfig": {
                "entryPoint": "algo:main",
                "s3Uri": "s3://code-bucket/jobs/my-job/script/source.tar.gz",
                "compressionType": "GZIP",
            }
        },
        "outputDataConfig": {"s3Path": "s3://out-bucket/jobs/my-job/data"},
        "deviceConfig": {"device": SV1},
    }
    request.update(overrides)
    return request


# ------------------------------------------------------------------ layout and environment


def test_environment_is_the_job_containers(tmp_path: Path) -> None:
    layout = JobLayout(tmp_path)
    endpoints = JobEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2", region="us-west-2")
    env = build_environment(
        job_name="my-job",
        job_token="tok-1",
        request=_request(),
        layout=layout,
        endpoints=endpoints,
        environ={"PATH": "/bin", "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL": "https://aws"},
    )
    assert env["PATH"] == "/bin"
    # the caller's AWS settings never reach the job
    assert "AWS_PROFILE" not in env and "AWS_ENDPOINT_URL" not in env
    assert env["AMZN_BRAKET_JOB_NAME"] == "my-job"
    assert env["AMZN_BRAKET_JOB_TOKEN"] == "tok-1"
    assert env["AMZN_BRAKET_DEVICE_ARN"] == SV1
    assert env["AMZN_BRAKET_HP_FILE"] == str(tmp_path / "input/config/hyperparameters.json")
    assert env["AMZN_BRAKET_INPUT_DIR"] == str(tmp_path / "input/data")
    assert env["AMZN_BRAKET_JOB_RESULTS_DIR"] == str(tmp_path / "model")
    assert env["AMZN_BRAKET_CHECKPOINT_DIR"] == str(tmp_path / "checkpoints")
    assert env["AMZN_BRAKET_OUT_S3_BUCKET"] == "out-bucket"
    assert env["AMZN_BRAKET_TASK_RESULTS_S3_URI"] == "s3://out-bucket/jobs/my-job/tasks"
    assert env["AMZN_BRAKET_JOB_RESULTS_S3_PATH"] == "jobs/my-job/data/output"
    assert env["AMZN_BRAKET_SCRIPT_S3_URI"].endswith("/script/source.tar.gz")
    assert env["AMZN_BRAKET_SCRIPT_ENTRY_POINT"] == "algo:main"
    assert env["AMZN_BRAKET_SCRIPT_COMPRESSION_TYPE"] == "GZIP"
    assert env["AWS_DEFAULT_REGION"] == "us-west-2"
    assert env["AWS_ENDPOINT_URL_BRAKET"] == "http://127.0.0.1:1"
    for service in ("S3", "CLOUDWATCH_LOGS", "STS", "IAM"):
        assert env[f"AWS_ENDPOINT_URL_{service}"] == "http://127.0.0.1:2"
    assert env[FAILURE_FILE_ENV] == str(tmp_path / "failure")


def test_compression_type_defaults_to_none(tmp_path: Path) -> None:
    request = _request()
    del request["algorithmSpecification"]["scriptModeConfig"]["compressionType"]
    env = build_environment(
        job_name="j",
        job_token="t",
        request=request,
        layout=JobLayout(tmp_path),
        endpoints=JobEndpoints("http://a", "http://b"),
        environ={},
    )
    assert env["AMZN_BRAKET_SCRIPT_COMPRESSION_TYPE"] == "NONE"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b.py", ("bucket", "a/b.py")),
        ("s3://bucket", ("bucket", "")),
        ("https://bucket.s3.us-east-1.amazonaws.com/k/x", ("bucket", "k/x")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


def test_parse_s3_uri_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="not an S3 URI"):
        parse_s3_uri("file:///tmp/x")


def test_results_archive_and_log_prefix_follow_the_sdk() -> None:
    assert job_results_location("s3://b/jobs/j/data") == ("b", "jobs/j/data/output/model.tar.gz")
    assert job_results_location("s3://b/p/") == ("b", "p/output/model.tar.gz")
    assert job_log_stream_prefix("j", "arn:aws:braket:us-east-1:1:job/j") == "j"
    assert job_log_stream_prefix("j", "arn:aws:braket:us-east-1:1:job/uu-id") == "j/uu-id"


# ------------------------------------------------------------------ the bootstrap


def test_hyperparameters_bind_with_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"shots": "100", "label": "x"}))
    monkeypatch.setenv("AMZN_BRAKET_HP_FILE", str(hp))

    def entry(shots: int, label: str) -> None: ...

    assert bind_hyperparameters(entry) == {"shots": 100, "label": "x"}

    def other(shots: int) -> None: ...  # does not take every hyperparameter: no binding

    assert bind_hyperparameters(other) == {}


async def _bootstrap(code: Path, entry_point: str, tmp_path: Path) -> tuple[int, str, str, str]:
    failure = tmp_path / "failure"
    env = {
        **os.environ,
        "AMZN_BRAKET_SCRIPT_ENTRY_POINT": entry_point,
        FAILURE_FILE_ENV: str(failure),
        CODE_DIR_ENV: str(code),
    }
    env.pop("AMZN_BRAKET_HP_FILE", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BOOTSTRAP),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    reason = failure.read_text() if failure.exists() else ""
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode(), reason


async def test_bootstrap_runs_module_as_main_and_records_failures(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "algo.py").write_text(
        "import os\n"
        "def main():\n    raise KeyError('missing')\n"
        "if __name__ == '__main__':\n    print('as main in', os.getcwd())\n"
    )
    (tmp_path / "a").mkdir()
    (rc, out, _, reason), (rc2, out2, err2, reason2) = await asyncio.gather(
        _bootstrap(code, "algo", tmp_path / "a"), _bootstrap(code, "algo:main", tmp_path)
    )
    assert rc == 0 and f"as main in {code}" in out and reason == ""
    assert rc2 == 1 and reason2 == "KeyError: 'missing'"
    # the container's lines, in its order, the finish line after a failure too
    lines = out2.splitlines()
    assert lines.index("Beginning Setup") < lines.index("Running Code As Process")
    assert lines.index("Running Code As Process") < lines.index("Code Run Finished")
    # the traceback starts in the user's code: none of the supervisor's frames
    assert err2.startswith("Traceback (most recent call last):\n")
    assert f'File "{code / "algo.py"}", line 3, in main' in err2
    assert BOOTSTRAP.name not in err2 and "KeyError: 'missing'" in err2


# ------------------------------------------------------------------ S3 and logs (moto)


@pytest.fixture(scope="module")
async def aws() -> AsyncIterator[ObjectStore]:
    async with EmbeddedAws() as endpoint, ObjectStore(endpoint) as store:
        await store.ensure_bucket("h6-jobs-units")
        yield store


async def test_channel_download_follows_the_sdk(aws: ObjectStore, tmp_path: Path) -> None:
    bucket = "h6-jobs-units"
    for key in ("ch/data/a.csv", "ch/data/sub/b.csv", "ch/data-2.csv", "ch/single.txt"):
        await aws.put_bytes(bucket, key, key.encode())
    # a folder prefix: its contents land in the channel folder
    await download_channel(aws.s3, bucket, "ch/data/", tmp_path / "folder")
    assert (tmp_path / "folder/a.csv").read_text() == "ch/data/a.csv"
    assert (tmp_path / "folder/sub/b.csv").exists()
    # a prefix that also matches data-2.csv: paths relative to the prefix's parent
    await download_channel(aws.s3, bucket, "ch/data", tmp_path / "partial")
    assert (tmp_path / "partial/data/sub/b.csv").exists()
    assert (tmp_path / "partial/data-2.csv").read_text() == "ch/data-2.csv"
    await download_channel(aws.s3, bucket, "ch/single.txt", tmp_path / "one")
    assert (tmp_path / "one/single.txt").read_text() == "ch/single.txt"
    with pytest.raises(ChannelEmpty, match="No S3 objects found"):
        await download_channel(aws.s3, bucket, "nothing/here", tmp_path / "none")
    assert await download_prefix(aws.s3, bucket, "ch/data", tmp_path / "ckpt") == 2


class _CountingLogs:
    """The real logs client, counting put_log_events calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.puts = 0
        self.exceptions = client.exceptions

    async def put_log_events(self, **kwargs: Any) -> Any:
        self.puts += 1
        return await self._client.put_log_events(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def test_log_lines_are_shipped_in_batches(aws: ObjectStore) -> None:
    logs = _CountingLogs(await aws.logs_client())
    shipper = LogShipper(logs, group=JOB_LOG_GROUP, stream="units/u1/algo-1-1", flush_interval=60)
    await shipper.start()
    lines = [f"line {i}" for i in range(2500)]
    for line in lines:
        shipper.add(line + "\n")
    shipper.add("   ")  # blank lines are not shipped
    await shipper.close()
    assert logs.puts == 1 and shipper.shipped == len(lines)
    events: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"nextToken": token} if token else {}
        page = await logs.get_log_events(
            logGroupName=JOB_LOG_GROUP,
            logStreamName="units/u1/algo-1-1",
            startFromHead=True,
            **params,
        )
        events.extend(e["message"] for e in page["events"])
        if not page["events"]:
            break
        token = page["nextForwardToken"]
    assert events == lines


# ------------------------------------------------------------------ whole jobs on LocalBraket


@pytest.fixture
async def job_local(make_local: Any) -> LocalBraket:
    """A service (sharing the session's S3 and simulator) whose jobs run as processes."""
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    return local


async def _upload_script(local: LocalBraket, name: str) -> str:
    key = f"h6-scripts/{name}"
    await local.objects.put_bytes(local.default_bucket, key, (JOBS_DATA / name).read_bytes())
    return f"s3://{local.default_bucket}/{key}"


def _sleepy(local: LocalBraket, name: str, script_uri: str, **overrides: Any) -> dict[str, Any]:
    return job_request(
        name,
        algorithmSpecification={
            "scriptModeConfig": {
                "entryPoint": "sleepy_job",
                "s3Uri": script_uri,
                "compressionType": "NONE",
            }
        },
        outputDataConfig={"s3Path": f"s3://{local.default_bucket}/h6/{name}/data"},
        checkpointConfig={"s3Uri": f"s3://{local.default_bucket}/h6/{name}/checkpoints"},
        **overrides,
    )


def _types(job: dict[str, Any]) -> list[str]:
    return [event["eventType"] for event in job["events"]]


async def _get_job(raw: Any, arn: str) -> dict[str, Any]:
    job: dict[str, Any] = await raw.get_job(jobArn=arn)
    return job


async def _wait(raw: Any, arn: str, done: Any) -> dict[str, Any]:
    job: dict[str, Any] = await wait_until(lambda: _get_job(raw, arn), done, attempts=3000)
    return job


async def test_cancel_stops_the_process_and_the_job_quota_holds(
    job_local: LocalBraket, clients: RawClients
) -> None:
    raw = await clients.braket(job_local)
    uri = await _upload_script(job_local, "sleepy_job.py")
    names = [f"h6-cancel-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    arns = [(await raw.create_job(**_sleepy(job_local, name, uri)))["jobArn"] for name in names]
    # three run at once (the AWS quota); the fourth waits in the queue
    running = [await _wait(raw, arn, lambda j: "RUNNING" in _types(j)) for arn in arns[:3]]
    assert all(job["status"] == "RUNNING" for job in running)
    fourth = await _get_job(raw, arns[3])
    assert fourth["status"] == "QUEUED" and _types(fourth) == ["QUEUED_FOR_EXECUTION"]

    # the sleepy script says it waits once its checkpoint is written
    logs = await job_local.objects.logs_client()
    prefix = job_log_stream_prefix(names[0], arns[0])

    async def said_waiting() -> bool:
        streams = await logs.describe_log_streams(
            logGroupName=JOB_LOG_GROUP, logStreamNamePrefix=prefix
        )
        for stream in streams["logStreams"]:
            page = await logs.get_log_events(
                logGroupName=JOB_LOG_GROUP,
                logStreamName=stream["logStreamName"],
                startFromHead=True,
            )
            if any(e["message"] == "sleepy job waiting" for e in page["events"]):
                return True
        return False

    await wait_until(said_waiting, bool, attempts=3000)
    assert (await raw.cancel_job(jobArn=arns[0]))["cancellationStatus"] == "CANCELLING"
    cancelled = await _wait(raw, arns[0], lambda j: j["status"] in TERMINAL)
    assert cancelled["status"] == "CANCELLED" and _types(cancelled)[-1] == "CANCELLED"
    assert "COMPLETED" not in _types(cancelled)
    # the process is gone: its pid (saved with its checkpoint) names no process
    checkpoint = await job_local.objects.get_bytes(
        job_local.default_bucket, f"h6/{names[0]}/checkpoints/progress.txt"
    )
    pid = int(checkpoint.decode().split("pid ")[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    # a slot is free: the queued job starts
    await _wait(raw, arns[3], lambda j: "RUNNING" in _types(j))
    for arn in arns[1:]:
        await raw.cancel_job(jobArn=arn)
    for arn in arns[1:]:
        assert (await _wait(raw, arn, lambda j: j["status"] in TERMINAL))["status"] == "CANCELLED"


async def test_max_runtime_exceeded_and_container_note(
    job_local: LocalBraket, clients: RawClients
) -> None:
    raw = await clients.braket(job_local)
    uri = await _upload_script(job_local, "sleepy_job.py")
    name = f"h6-timeout-{uuid.uuid4().hex[:6]}"
    request = _sleepy(job_local, name, uri, stoppingCondition={"maxRuntimeInSeconds": 1})
    request["algorithmSpecification"]["containerImage"] = {
        "uri": "292282985366.dkr.ecr.us-east-1.amazonaws.com/amazon-braket-base-jobs:latest"
    }
    arn = (await raw.create_job(**request))["jobArn"]
    job = await _wait(raw, arn, lambda j: j["status"] in TERMINAL)
    assert job["status"] == "FAILED"
    assert job["failureReason"] == "Job exceeded its maximum runtime of 1 seconds"
    assert _types(job) == [
        "STARTING_INSTANCE",
        "DOWNLOADING_DATA",
        "RUNNING",
        "MAX_RUNTIME_EXCEEDED",
    ]
    assert "no container was started" in job["events"][0]["message"]
    # what it checkpointed before it was stopped is kept
    saved = await job_local.objects.get_bytes(
        job_local.default_bucket, f"h6/{name}/checkpoints/progress.txt"
    )
    assert saved.startswith(b"iteration 1")


async def test_archived_source_with_input_and_results(
    job_local: LocalBraket, clients: RawClients, tmp_path: Path
) -> None:
    """A GZIP source archive, an input channel and hyperparameters reach the script; its
    results.json comes back in model.tar.gz where the SDK reads it."""
    raw = await clients.braket(job_local)
    package = tmp_path / "echo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(
        "import json, os, pathlib\n"
        "def run():\n"
        "    hp = json.loads(pathlib.Path(os.environ['AMZN_BRAKET_HP_FILE']).read_text())\n"
        "    data = pathlib.Path(os.environ['AMZN_BRAKET_INPUT_DIR'], 'numbers', 'n.json')\n"
        "    total = sum(json.loads(data.read_text())) * int(hp['factor'])\n"
        "    print('total', total)\n"
        "    doc = {'braketSchemaHeader': {'name': 'braket.jobs_data.persisted_job_data',\n"
        "           'version': '1'}, 'dataDictionary': {'total': total,\n"
        "           'token_set': bool(os.environ['AMZN_BRAKET_JOB_TOKEN'])},\n"
        "           'dataFormat': 'plaintext'}\n"
        "    out = pathlib.Path(os.environ['AMZN_BRAKET_JOB_RESULTS_DIR'], 'results.json')\n"
        "    out.write_text(json.dumps(doc))\n"
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(package, arcname="echo")
    bucket = job_local.default_bucket
    name = f"h6-echo-{uuid.uuid4().hex[:6]}"
    await job_local.objects.put_bytes(bucket, f"h6/{name}/source.tar.gz", buffer.getvalue())
    await job_local.objects.put_bytes(bucket, f"h6/{name}/in/n.json", b"[1, 2, 3]")
    request = job_request(
        name,
        algorithmSpecification={
            "scriptModeConfig": {
                "entryPoint": "echo.main:run",
                "s3Uri": f"s3://{bucket}/h6/{name}/source.tar.gz",
                "compressionType": "GZIP",
            }
        },
        inputDataConfig=[
            {
                "channelName": "numbers",
                "dataSource": {"s3DataSource": {"s3Uri": f"s3://{bucket}/h6/{name}/in"}},
            }
        ],
        hyperParameters={"factor": "10"},
        outputDataConfig={"s3Path": f"s3://{bucket}/h6/{name}/data"},
    )
    arn = (await raw.create_job(**request))["jobArn"]
    job = await _wait(raw, arn, lambda j: j["status"] in TERMINAL)
    assert job["status"] == "COMPLETED", job.get("failureReason")
    assert _types(job) == COMPLETED_JOB_EVENTS
    assert job["startedAt"] <= job["endedAt"]
    archive = await job_local.objects.get_bytes(bucket, f"h6/{name}/data/output/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile("results.json")
        assert member is not None
        saved = json.loads(member.read())
    assert saved["dataDictionary"] == {"total": 60, "token_set": True}


async def test_missing_script_fails_the_job(job_local: LocalBraket, clients: RawClients) -> None:
    raw = await clients.braket(job_local)
    name = f"h6-missing-{uuid.uuid4().hex[:6]}"
    request = job_request(
        name,
        algorithmSpecification={
            "scriptModeConfig": {
                "entryPoint": "nope",
                "s3Uri": f"s3://{job_local.default_bucket}/h6/{name}/nothing.py",
            }
        },
    )
    arn = (await raw.create_job(**request))["jobArn"]
    job = await _wait(raw, arn, lambda j: j["status"] in TERMINAL)
    assert job["status"] == "FAILED"
    assert job["failureReason"].startswith("ClientError: Unable to download code from s3://")
    assert _types(job) == ["STARTING_INSTANCE", "DOWNLOADING_DATA", "FAILED"]
