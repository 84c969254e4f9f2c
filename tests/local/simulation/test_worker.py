"""Simulator workers are plain python children: a script without a ``__main__`` guard can start
the local service (issue #15)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from braket_async.local.simulation._worker import decode_header, encode_message, read_message

GUARDLESS = textwrap.dedent(
    """\
    import asyncio
    from braket_async import BraketSession
    from braket_async.local import LocalBraket

    BELL = "OPENQASM 3;\\nqubit[2] q;\\nbit[2] c;\\nh q[0];\\ncnot q[0], q[1];\\nc = measure q;"

    async def bell():
        async with LocalBraket(workers=1) as local, BraketSession(
            endpoint_url=local.endpoint_url, s3_endpoint_url=local.s3_endpoint_url,
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
        ) as braket:
            arn = await braket.create_quantum_task(
                device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1", action=BELL,
                shots=10, output_s3_bucket=local.default_bucket, output_s3_key_prefix="demo",
            )
            task = await braket.wait_for_quantum_task(arn)
            print("STATUS", task.status.value)

    asyncio.run(bell())
    """
)


def test_a_script_without_main_guard_runs_a_task(tmp_path: Path) -> None:
    script = tmp_path / "demo.py"
    script.write_text(GUARDLESS)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "STATUS COMPLETED" in done.stdout


def test_messages_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pipe"
    path.write_bytes(
        encode_message({"job": ["a", 1, None]}) + encode_message({"status": "X"}, b"body")
    )
    with path.open("rb") as stream:
        assert read_message(stream) == ({"job": ["a", 1, None]}, b"")
        assert read_message(stream) == ({"status": "X"}, b"body")
        assert read_message(stream) is None
    with pytest.raises(ValueError, match="JSON object"):
        decode_header(b"[1]")
