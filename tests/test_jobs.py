"""Jobs against the local service running real job scripts: create_hybrid_job uploads,
events are followed, logs streamed and results fetched; failures surface as JobFailed."""

from __future__ import annotations

import asyncio
import codecs
import json
import math
import pickle
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _common import SV1

from braket_async import BraketSession, JobCancelled, JobFailed, ParameterError, ResultNotAvailable
from braket_async.jobs import LogLine, PickledResultError, decode_persisted_job_data
from braket_async.local import LocalBraket
from braket_async.local.jobs._jobs import process_job_runner_factory
from braket_async.polling import PollPolicy

JOBS_DATA = Path(__file__).parent / "data" / "jobs"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonBraketJobsExecutionRole"
FAST = PollPolicy(initial=0.05, multiplier=1.5, maximum=0.5, jitter=0.0)
SHOTS = 40


@pytest.fixture(scope="module")
async def job_local(
    local_braket: LocalBraket, simulator_executor: Any
) -> AsyncIterator[LocalBraket]:
    """A local service whose jobs really run (sharing the session's S3 and simulator)."""
    async with LocalBraket(
        executor=simulator_executor,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        job_runner_factory=process_job_runner_factory,
    ) as local:
        yield local


@pytest.fixture(scope="module")
async def session(job_local: LocalBraket) -> AsyncIterator[BraketSession]:
    async with BraketSession(
        endpoint_url=job_local.endpoint_url,
        s3_endpoint_url=job_local.s3_endpoint_url,
        logs_endpoint_url=job_local.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as braket:
        yield braket


def _name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def bell_job(session: BraketSession, job_local: LocalBraket) -> str:
    """A job package that submits tasks through braket_async from inside the job."""
    return await session.create_hybrid_job(
        source_module=JOBS_DATA / "bell_job",
        entry_point="bell_job.run:main",
        device=SV1,
        job_name=_name("bell"),
        hyperparameters={"shots": SHOTS, "label": "bell"},
        input_data={"angles": JOBS_DATA / "angles.json"},
        role_arn=ROLE,
        s3_bucket=job_local.default_bucket,
    )


async def test_job_runs_end_to_end(session: BraketSession, bell_job: str) -> None:
    arn = bell_job

    async def events() -> list[Any]:
        return [event async for event in session.follow_job(arn, poll=FAST)]

    async def lines() -> list[LogLine]:
        return [line async for line in session.stream_job_logs(arn, poll=FAST)]

    followed, logged = await asyncio.gather(events(), lines())

    # every event once, in the service's order
    assert [str(e.event_type) for e in followed] == [
        "STARTING_INSTANCE",
        "DOWNLOADING_DATA",
        "RUNNING",
        "UPLOADING_RESULTS",
        "COMPLETED",
    ]
    job = await session.get_job(arn)
    assert str(job.status) == "COMPLETED"
    assert job.hyper_parameters == {"shots": str(SHOTS), "label": "bell"}

    # the script's own output, each line once and in order, framed by the job image's
    # launcher lines as in the Braket job container
    messages = [line.message for line in logged]
    script = messages[messages.index("Beginning Setup") : messages.index("Code Run Finished") + 1]
    assert len(script) == len(set(script))
    assert messages[0].endswith(" INFO     Invoking user script")
    assert messages[-1].endswith(" INFO     Reporting training SUCCESS")
    submitted_lines = [m for m in messages if m.startswith("bell: submitted")]
    assert len(submitted_lines) == 2
    assert all(line.stream_name.startswith(job.job_name) for line in logged)

    result = await session.get_job_result(arn)
    assert result["label"] == "bell" and result["shots"] == SHOTS
    by_angle = {float(angle): entry for angle, entry in result["results"].items()}
    assert set(by_angle) == {0.0, math.pi}
    # rx(0) leaves |0>, rx(pi) flips to |1>: every shot agrees
    assert by_angle[0.0]["counts"] == {"0": SHOTS}
    assert by_angle[math.pi]["counts"] == {"1": SHOTS}
    for entry in by_angle.values():
        task = await session.get_quantum_task(entry["task_arn"])
        assert task.job_arn == arn  # created with the job token
        assert entry["task_arn"] in "\n".join(submitted_lines)

    # the checkpoint the script wrote went to checkpointConfig.s3Uri
    assert job.checkpoint_config is not None
    bucket, _, prefix = job.checkpoint_config.s3_uri.removeprefix("s3://").partition("/")
    s3 = await session._s3()
    body = await s3.get_object(Bucket=bucket, Key=f"{prefix}/done.json")
    async with body["Body"] as stream:
        assert json.loads(await stream.read()) == sorted(result["results"])

    # a finished job's logs can be read again, without following
    again = [line.message async for line in session.stream_job_logs(arn, follow=False)]
    assert again == messages


async def test_failing_script_gives_job_failed(
    session: BraketSession, job_local: LocalBraket
) -> None:
    name = _name("failing")
    with pytest.raises(JobFailed) as caught:
        await session.create_hybrid_job(
            source_module=JOBS_DATA / "failing_job.py",
            entry_point="failing_job:main",
            device=SV1,
            job_name=name,
            role_arn=ROLE,
            s3_bucket=job_local.default_bucket,
            wait=True,
            poll=FAST,
        )
    arn = caught.value.job.job_arn
    assert caught.value.job.job_name == name
    reason = caught.value.failure_reason or ""
    assert reason.startswith("AlgorithmError: ValueError: angle hyperparameter missing")
    assert reason.endswith("exit code: 1")
    logged = [line.message async for line in session.stream_job_logs(arn, follow=False)]
    assert "ValueError: angle hyperparameter missing: cannot build the ansatz" in logged
    # the script saved nothing: an error that says so, not an empty result
    with pytest.raises(ResultNotAvailable, match="saved no results"):
        await session.get_job_result(arn)


async def test_result_of_a_running_job_is_not_available(
    session: BraketSession, job_local: LocalBraket
) -> None:
    arn = await session.create_hybrid_job(
        source_module=JOBS_DATA / "sleepy_job.py",
        device=SV1,
        job_name=_name("sleepy"),
        role_arn=ROLE,
        s3_bucket=job_local.default_bucket,
    )
    try:
        with pytest.raises(ResultNotAvailable, match="wait_for_job"):
            await session.get_job_result(arn)
    finally:
        await session.cancel_job(arn)
    with pytest.raises(JobCancelled):
        await session.wait_for_job(arn, poll=FAST)


def _persisted(data: dict[str, Any], data_format: str) -> dict[str, Any]:
    return {
        "braketSchemaHeader": {"name": "braket.jobs_data.persisted_job_data", "version": "1"},
        "dataDictionary": data,
        "dataFormat": data_format,
    }


def test_pickled_results_need_opting_in() -> None:
    # encoded as the Braket SDK's save_job_result(..., PICKLED_V4) does
    value = {"theta": complex(1, 2), "history": (1, 2)}
    doc = _persisted(
        {"value": codecs.encode(pickle.dumps(value, protocol=4), "base64").decode()}, "pickled_v4"
    )
    with pytest.raises(PickledResultError, match="allow_pickle=True"):
        decode_persisted_job_data(doc)
    assert decode_persisted_job_data(doc, allow_pickle=True) == {"value": value}
    assert decode_persisted_job_data(_persisted({"a": [1]}, "plaintext")) == {"a": [1]}


async def test_create_hybrid_job_checks_before_sending(
    session: BraketSession, job_local: LocalBraket, tmp_path: Path
) -> None:
    common: dict[str, Any] = {"device": SV1, "role_arn": ROLE, "s3_bucket": "any-bucket"}
    before = job_local.ledger.snapshot()["calls"].get("CreateJob", 0)
    with pytest.raises(ParameterError, match="job_name"):
        await session.create_hybrid_job(
            source_module=JOBS_DATA / "failing_job.py", job_name="no_underscores", **common
        )
    with pytest.raises(ParameterError, match="is not in source_module"):
        await session.create_hybrid_job(
            source_module=JOBS_DATA / "bell_job", entry_point="bell_job.nope:main", **common
        )
    with pytest.raises(ParameterError, match="no such file"):
        await session.create_hybrid_job(source_module=tmp_path / "missing.py", **common)
    with pytest.raises(ParameterError, match="entry_point"):
        await session.create_hybrid_job(source_module="s3://b/source.tar.gz", **common)
    with pytest.raises(ParameterError, match="role_arn"):
        await session.create_hybrid_job(
            source_module=JOBS_DATA / "failing_job.py", device=SV1, s3_bucket="b"
        )
    # nothing reached the service
    assert job_local.ledger.snapshot()["calls"].get("CreateJob", 0) == before
