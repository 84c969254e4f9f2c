"""A hybrid job owns its whole process tree: detached and orphaned descendants end with the job
(completed, cancelled, service closed, service killed with SIGKILL), no pipe they hold keeps
the job running, and work directories go with their owner. Real processes throughout."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import get_session

from braket_async.local import LocalBraket
from braket_async.local.jobs._jobs import ProcessJobRunner, process_job_runner_factory
from braket_async.local.jobs._jobs_env import JobEndpoints
from braket_async.local.jobs._jobs_procs import owner_alive, process_start_ticks
from braket_async.local.jobs._jobs_workdirs import default_work_root, prepare_root, remove_stale

from .._helpers import TERMINAL, RawClients, job_request, wait_until

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="process-tree ownership relies on Linux /proc"
)

JOBS_DATA = Path(__file__).parents[2] / "data" / "jobs"


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an unreaped zombie has ended)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    return data[data.rfind(b")") + 2 :].split()[0] != b"Z"


def _pids(pid_file: Path) -> list[int]:
    return [int(line) for line in pid_file.read_text().split()] if pid_file.exists() else []


async def _all_pids(pid_file: Path) -> list[int]:
    """The job's process and its two sleepers, once all three have written their pid."""
    pids: list[int] = await wait_until(
        lambda: asyncio.to_thread(_pids, pid_file), lambda p: len(p) == 3, attempts=3000
    )
    return pids


def _detached_request(
    bucket: str, name: str, script_uri: str, pid_file: Path, mode: str, ignore_term: str = "0"
) -> dict[str, Any]:
    return job_request(
        name,
        algorithmSpecification={
            "scriptModeConfig": {
                "entryPoint": "detached_job:main",
                "s3Uri": script_uri,
                "compressionType": "NONE",
            }
        },
        hyperParameters={"pid_file": str(pid_file), "mode": mode, "ignore_term": ignore_term},
        outputDataConfig={"s3Path": f"s3://{bucket}/owned/{name}/data"},
    )


async def _start_detached_job(
    local: LocalBraket, raw: Any, tmp_path: Path, mode: str, ignore_term: str = "0"
) -> tuple[str, str, Path]:
    name = f"owned-{mode}-{uuid.uuid4().hex[:6]}"
    key = f"owned/{name}/detached_job.py"
    await local.objects.put_bytes(
        local.default_bucket, key, (JOBS_DATA / "detached_job.py").read_bytes()
    )
    pid_file = tmp_path / f"{name}.pids"
    request = _detached_request(
        local.default_bucket,
        name,
        f"s3://{local.default_bucket}/{key}",
        pid_file,
        mode,
        ignore_term,
    )
    arn = (await raw.create_job(**request))["jobArn"]
    return name, arn, pid_file


async def _terminal(raw: Any, arn: str) -> dict[str, Any]:
    job: dict[str, Any] = await wait_until(
        lambda: raw.get_job(jobArn=arn), lambda j: j["status"] in TERMINAL, attempts=3000
    )
    return job


async def _log_lines(local: LocalBraket, name: str) -> list[str]:
    logs = await local.objects.logs_client()
    streams = await logs.describe_log_streams(
        logGroupName="/aws/braket/jobs", logStreamNamePrefix=name
    )
    lines: list[str] = []
    for stream in streams["logStreams"]:
        page = await logs.get_log_events(
            logGroupName="/aws/braket/jobs",
            logStreamName=stream["logStreamName"],
            startFromHead=True,
        )
        lines += [event["message"] for event in page["events"]]
    return lines


@pytest.fixture
async def owned_local(make_local: Any, tmp_path: Path) -> LocalBraket:
    """A service whose jobs run as processes, with work directories under ``tmp_path/work``."""
    local: LocalBraket = await make_local(
        job_runner_factory=functools.partial(
            process_job_runner_factory, work_root=tmp_path / "work"
        )
    )
    return local


def _work_dirs(tmp_path: Path) -> list[str]:
    return sorted(os.listdir(tmp_path / "work"))


async def _no_work_dirs(tmp_path: Path) -> None:
    await wait_until(lambda: asyncio.to_thread(_work_dirs, tmp_path), lambda d: d == [])


async def test_a_detached_grandchild_does_not_hold_the_job(
    owned_local: LocalBraket, clients: RawClients, tmp_path: Path
) -> None:
    raw = await clients.braket(owned_local)
    name, arn, pid_file = await _start_detached_job(owned_local, raw, tmp_path, "return")
    job = await _terminal(raw, arn)
    # the entry point returned: the job completes, although two sleepers held its stdout
    assert job["status"] == "COMPLETED", job.get("failureReason")
    pids = _pids(pid_file)
    assert len(pids) == 3
    # ... and they ended with it, detached or orphaned alike
    assert [pid for pid in pids if _alive(pid)] == []
    lines = await _log_lines(owned_local, name)
    assert lines.count("sleeper up") == 2 and "detached job ready" in lines
    assert lines.index("Code Run Finished") < len(lines) - 1
    assert lines[-1].endswith(" INFO     Reporting training SUCCESS")
    await _no_work_dirs(tmp_path)


async def test_cancel_ends_the_whole_tree(
    owned_local: LocalBraket, clients: RawClients, tmp_path: Path
) -> None:
    raw = await clients.braket(owned_local)
    _, arn, pid_file = await _start_detached_job(owned_local, raw, tmp_path, "wait")
    pids = await _all_pids(pid_file)
    assert all(_alive(pid) for pid in pids)
    assert (await raw.cancel_job(jobArn=arn))["cancellationStatus"] == "CANCELLING"
    job = await _terminal(raw, arn)
    assert job["status"] == "CANCELLED"
    assert [pid for pid in pids if _alive(pid)] == []
    await _no_work_dirs(tmp_path)


async def test_close_ends_every_job_tree_within_five_seconds(
    owned_local: LocalBraket, clients: RawClients, tmp_path: Path
) -> None:
    raw = await clients.braket(owned_local)
    # the sleepers ignore SIGTERM: they go only when the grace period ends in SIGKILL
    _, arn, pid_file = await _start_detached_job(owned_local, raw, tmp_path, "wait", "1")
    pids = await _all_pids(pid_file)
    job = owned_local.store.jobs[arn]
    started = time.monotonic()
    await owned_local.close()
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"close() took {elapsed:.1f} s"
    assert job.status == "CANCELLED"
    assert [pid for pid in pids if _alive(pid)] == []
    assert _work_dirs(tmp_path) == []


def _start_service(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "braket_async.local", "serve", "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        # its work root goes under tmp_path; its own group, so the test can clean up after it
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"local service exited early with code {proc.wait(timeout=10)}")
    info: dict[str, Any] = json.loads(line)
    return proc, info


def _stat_ppid(pid: int) -> int:
    data = Path(f"/proc/{pid}/stat").read_bytes()
    return int(data[data.rfind(b")") + 2 :].split()[1])


async def test_job_processes_die_with_a_killed_service_and_leftovers_go_at_next_start(
    tmp_path: Path,
) -> None:
    proc, info = await asyncio.to_thread(_start_service, tmp_path)
    try:
        session = get_session()
        common: dict[str, Any] = {
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        async with (
            session.create_client("braket", endpoint_url=info["endpoint_url"], **common) as raw,
            session.create_client("s3", endpoint_url=info["s3_endpoint_url"], **common) as s3,
        ):
            bucket = info["default_bucket"]
            name = f"owned-kill9-{uuid.uuid4().hex[:6]}"
            key = f"owned/{name}/detached_job.py"
            await s3.put_object(
                Bucket=bucket, Key=key, Body=(JOBS_DATA / "detached_job.py").read_bytes()
            )
            pid_file = tmp_path / "kill9.pids"
            request = _detached_request(bucket, name, f"s3://{bucket}/{key}", pid_file, "wait")
            await raw.create_job(**request)
            pids = await _all_pids(pid_file)
        supervisor = _stat_ppid(pids[0])
        assert _stat_ppid(supervisor) == proc.pid  # the service's child
        tree = [supervisor, *pids]
        root = tmp_path / f"braket-async-jobs-{os.getuid()}"
        assert len(os.listdir(root)) == 1

        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
        # the supervisor sees its lifeline close and ends its tree
        await wait_until(
            lambda: asyncio.to_thread(lambda: [pid for pid in tree if _alive(pid)]),
            lambda alive: alive == [],
            attempts=750,
        )
    finally:
        # the rest of the killed service's group (its simulator worker) is not under test
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
        if proc.stdout is not None:
            proc.stdout.close()

    # the killed service's work directory was left behind; the next runner start removes it
    (leftover,) = os.listdir(root)
    runner = ProcessJobRunner(JobEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2"))
    runner.work_root = root
    live = root / f"{runner.owner}-live-job-x"
    live.mkdir()
    await runner.start()
    assert os.listdir(root) == [live.name]  # a running owner's directory stays
    await runner.close()
    assert os.listdir(root) == []
    assert leftover.startswith(f"{proc.pid}.")


def test_owner_liveness_uses_pid_and_start_time(tmp_path: Path) -> None:
    me = os.getpid()
    ticks = process_start_ticks(me)
    assert ticks is not None
    assert owner_alive(f"{me}.{ticks}.abcd")
    # the same pid with another start time: a recycled pid, not the owner
    assert not owner_alive(f"{me}.{ticks + 1}.abcd")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert not owner_alive(f"{int(gone.stdout)}.1.abcd")
    assert not owner_alive("not-an-owner")
    for owner in (f"{me}.{ticks}.abcd", f"{me}.{ticks + 1}.abcd", f"{int(gone.stdout)}.1.ab"):
        (tmp_path / f"{owner}-job-x").mkdir()
    (tmp_path / "unrelated").mkdir()
    removed = sorted(path.name for path in remove_stale(tmp_path))
    assert removed == sorted([f"{me}.{ticks + 1}.abcd-job-x", f"{int(gone.stdout)}.1.ab-job-x"])
    assert sorted(os.listdir(tmp_path)) == sorted([f"{me}.{ticks}.abcd-job-x", "unrelated"])


def test_work_root_is_per_user_under_the_temp_dir_and_never_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = default_work_root()
    assert root == tmp_path / f"braket-async-jobs-{os.getuid()}"
    prepare_root(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    # planted by someone else: a link to a directory of their choosing is refused
    planted = tmp_path / "planted"
    planted.mkdir()
    trap = tmp_path / "trap"
    trap.symlink_to(planted, target_is_directory=True)
    with pytest.raises(PermissionError, match="must be a directory owned by this user"):
        prepare_root(trap)
