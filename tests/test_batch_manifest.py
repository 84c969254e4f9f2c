"""The batch manifest's edge cases, through submit_batch against the local service: another
batch's manifest, ARNs the service does not know, a manifest that cannot be written, a
directory given as the path."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from test_batch import BELL, FAST_POLL, ONE, LocalFactory, session_on, submit

from braket_async import errors
from braket_async._batch_manifest import read_manifest
from braket_async.batch import MANIFEST_VERSION, BatchItemState
from braket_async.tracking import SweepPolicy, TrackerOptions

FAKE_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-dead-beef-0000-000000000000"


def task_lines(path: Path) -> list[dict[str, object]]:
    records = []
    for line in path.read_text().splitlines()[1:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line
        if record.get("kind") == "task":
            records.append(record)
    return records


# -- fingerprints ---------------------------------------------------------------------------------


async def test_another_batchs_manifest_with_the_same_count_is_refused(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local()
    manifest = tmp_path / "run.jsonl"
    async with session_on(local) as braket:
        await submit(braket, local, [ONE, ONE, BELL], manifest=manifest, track=False).wait()
        header = json.loads(manifest.read_text().splitlines()[0])
        assert header["version"] == MANIFEST_VERSION
        assert all(len(str(r["fingerprint"])) == 32 for r in task_lines(manifest))
        calls = local.ledger.snapshot()["calls"]["CreateQuantumTask"]

        # Same count, other programs: item 2 differs.
        with pytest.raises(errors.ParameterError) as info:
            await submit(braket, local, [ONE, ONE, ONE], resume=manifest).wait()
        message = str(info.value)
        assert info.value.field == "resume"
        assert str(manifest) in message and "item 2" in message
        assert header["batch_id"] in message
        # Same programs, other order; and the same program with other shots.
        with pytest.raises(errors.ParameterError, match="item 0"):
            await submit(braket, local, [BELL, ONE, ONE], resume=manifest).wait()
        with pytest.raises(errors.ParameterError, match="item 0"):
            await submit(braket, local, [ONE, ONE, BELL], resume=manifest, shots=11).wait()
        # The same items are accepted and nothing is sent again.
        outcomes = await submit(braket, local, [ONE, ONE, BELL], resume=manifest).wait()
    assert all(o.resumed and o.ok for o in outcomes)
    assert local.ledger.snapshot()["calls"]["CreateQuantumTask"] == calls


# -- an ARN the service does not know ----------------------------------------------------------


async def test_an_unknown_manifest_arn_is_that_items_outcome(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local()
    manifest = tmp_path / "run.jsonl"
    items = [ONE] * 4
    async with session_on(local) as braket:
        first = await submit(braket, local, items, manifest=manifest, track=False).wait()
        lines = manifest.read_text().splitlines()
        edited = []
        for line in lines:
            record = json.loads(line)
            if record.get("kind") == "task" and record["index"] == 1:
                record["task_arn"] = FAKE_ARN  # e.g. a manifest from another account
            edited.append(json.dumps(record))
        manifest.write_text("\n".join(edited) + "\n")
        sweep = SweepPolicy(min_interval=0.05, verify_after=0.2, verify_max=0.5)
        tracker = TrackerOptions(poll=FAST_POLL, sweep=sweep)
        outcomes = await submit(braket, local, items, resume=manifest, tracker=tracker).wait()
    assert [o.index for o in outcomes] == [0, 1, 2, 3]
    unknown = outcomes[1]
    assert isinstance(unknown.error, errors.ResourceNotFoundException)
    assert unknown.task_arn == FAKE_ARN and unknown.resumed and unknown.task is None
    assert FAKE_ARN in "".join(getattr(unknown.error, "__notes__", []))
    others = [o for o in outcomes if o.index != 1]
    assert all(o.ok and o.status == "COMPLETED" for o in others)
    assert [o.task_arn for o in others] == [first[i].task_arn for i in (0, 2, 3)]


# -- write errors ---------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_a_manifest_that_cannot_be_written_stops_before_any_create(
    make_local: LocalFactory,
) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [ONE] * 5, manifest="/dev/full", batch_id="full-disk")
        with pytest.raises(OSError, match="No space left on device") as info:
            await batch.wait()
    message = str(info.value)
    assert "/dev/full" in message and "'full-disk'" in message
    assert local.ledger.snapshot()["tasks_created"] == 0


_FSIZE_CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    from braket_async import BatchOptions, BraketSession, RateLimits

    endpoint, bucket, manifest, limit = sys.argv[1:5]
    ONE = "OPENQASM 3;\\nqubit[1] q;\\nbit[1] c;\\nx q[0];\\nc = measure q;"

    async def main() -> dict:
        async with BraketSession(
            endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing", rate_limits=RateLimits.off(),
        ) as braket:
            batch = braket.submit_batch(
                [ONE] * 40, device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
                shots=5, output_s3_bucket=bucket, output_s3_key_prefix="fsize",
                manifest=manifest, track=False,
                options=BatchOptions(batch_id="fsize-batch", max_in_flight=1),
            )
            try:
                await batch.wait()
            except OSError as exc:
                return {"error": type(exc).__name__, "message": str(exc),
                        "created": len(batch.task_arns)}
            return {"error": None, "created": len(batch.task_arns)}

    # A file-size limit, as a full disk would be: writes past it fail with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), resource.RLIM_INFINITY))
    print(json.dumps(asyncio.run(main())))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics of Linux")
async def test_a_write_error_mid_batch_names_path_and_batch_and_stops_creating(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local()
    manifest = tmp_path / "limited" / "run.jsonl"
    limit = 1200  # the header and a few task lines
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FSIZE_CHILD, local.endpoint_url, local.default_bucket,
        str(manifest), str(limit),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    report = json.loads(stdout.decode().splitlines()[-1])
    assert report["error"] == "OSError", report
    assert str(manifest) in report["message"] and "'fsize-batch'" in report["message"]
    assert "File too large" in report["message"]
    recorded = task_lines(manifest)
    assert 0 < len(recorded) < 40
    created = local.ledger.snapshot()["tasks_created"]
    # One worker: the task whose record failed is the last one created; none after it.
    assert created == len(recorded) + 1 == report["created"]


# -- a directory as the path --------------------------------------------------------------------


async def test_a_directory_as_the_manifest_path_says_so(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        with pytest.raises(errors.ParameterError, match="is a directory") as new:
            await submit(braket, local, [ONE], manifest=tmp_path).wait()
        assert new.value.field == "manifest" and str(tmp_path) in str(new.value)
        with pytest.raises(errors.ParameterError, match="is a directory") as resumed:
            await submit(braket, local, [ONE], resume=tmp_path).wait()
        assert resumed.value.field == "resume"
    assert local.ledger.snapshot()["tasks_created"] == 0




def test_read_manifest_tells_unsent_items_from_failed_creates(tmp_path: Path) -> None:
    """A task record wins over any other; otherwise the item's last record says its state."""
    header = {"kind": "braket-async.batch", "version": MANIFEST_VERSION, "batch_id": "b"}
    records = [
        header,
        {"kind": "error", "index": 0, "error": "ValidationException", "message": "no"},
        {"kind": "not_submitted", "index": 1, "reason": "the batch was cancelled"},
        {"kind": "not_submitted", "index": 2, "reason": "the batch was cancelled"},
        # a resume: item 2 created, item 1 failed this time
        {"kind": "task", "index": 2, "task_arn": "arn:t2", "client_token": "b-2"},
        {"kind": "error", "index": 1, "error": "InternalServiceException", "message": "boom"},
        {"kind": "task", "index": 3, "task_arn": "arn:t3", "client_token": "b-3"},
        {"kind": "not_submitted", "index": 3, "reason": "never after a task"},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    state = read_manifest(path)
    assert state.arns == {2: "arn:t2", 3: "arn:t3"}
    assert state.states == {
        0: BatchItemState.SUBMIT_FAILED,
        1: BatchItemState.SUBMIT_FAILED,
        2: BatchItemState.SUBMITTED,
        3: BatchItemState.SUBMITTED,
    }
