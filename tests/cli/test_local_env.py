"""``braket-async local env`` and the environment ``braket-async local serve`` prints."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from braket_async.local import LocalBraket
from braket_async.local._environ import environ_from_ready_line

from ._helpers import run_main

READY = {
    "endpoint_url": "http://127.0.0.1:1",
    "s3_endpoint_url": "http://127.0.0.1:2",
    "default_bucket": "amazon-braket-local",
    "region": "us-east-1",
    "access_key_id": "testing",
    "control_token": "x" * 43,
}


async def test_serve_prints_the_environment_and_env_prints_it_from_the_ready_line(
    local_braket: LocalBraket, tmp_path: Path
) -> None:
    argv = [
        sys.executable, "-m", "braket_async.cli", "local", "serve",
        "--workers", "1", "--s3-endpoint-url", local_braket.s3_endpoint_url,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        ready_text = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
        ready = json.loads(ready_text)  # stdout's first line is still the one JSON ready line
        printed: list[str] = []
        while not any(line.startswith("export AWS_EC2_METADATA_DISABLED") for line in printed):
            line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
            assert line, "serve ended before printing the environment"
            printed.append(line.decode().rstrip("\n"))
        exports = [line for line in printed if line.startswith(("export ", "unset "))]

        ready_file = tmp_path / "ready.json"
        ready_file.write_text(ready_text.decode())
        code, out, err = await asyncio.to_thread(
            run_main, "local", "env", "--from", str(ready_file)
        )
        assert code == 0, err
        assert out.splitlines() == exports
        code, out, err = await asyncio.to_thread(
            run_main, "local", "env", "--from", ready_text.decode(), "--json"
        )
        assert code == 0, err
        assert json.loads(out) == environ_from_ready_line(ready, "testing")

        # the lines work: a shell that evals them reaches the service with the AWS CLI's botocore
        shell = shutil.which("sh")
        assert shell is not None
        check = (
            f"{sys.executable} -c \"import boto3; print(len(boto3.client('braket')"
            ".search_devices(filters=[])['devices']))\""
        )
        script = "\n".join(exports) + "\n" + check
        sh = await asyncio.create_subprocess_exec(
            shell,
            "-c",
            script,
            env={**os.environ, "AWS_PROFILE": "no-such-profile"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        sh_out, sh_err = await asyncio.wait_for(sh.communicate(), timeout=120)
        assert sh.returncode == 0, sh_err.decode()[-2000:]
        assert int(sh_out) >= 3
    finally:
        proc.terminate()
        await proc.wait()


def test_env_needs_the_secret_of_a_non_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY", raising=False)
    line = json.dumps({**READY, "access_key_id": "AKIDMINE"})
    code, out, err = run_main("local", "env", "--from", line)
    assert code == 2 and out == ""
    assert "--secret-access-key is required" in err
    code, out, _ = run_main(
        "local", "env", "--from", line, "--secret-access-key", "s3cret", "--json"
    )
    assert code == 0
    assert json.loads(out)["AWS_SECRET_ACCESS_KEY"] == "s3cret"
    monkeypatch.setenv("BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY", "from-env")
    code, out, _ = run_main("local", "env", "--from", line, "--json")
    assert json.loads(out)["AWS_SECRET_ACCESS_KEY"] == "from-env"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no ready line"),
        ("not json\n", "not JSON"),
        ("[1]\n", "must be a JSON object"),
        (json.dumps({**READY, "region": ""}), "'region' must be a non-empty string"),
    ],
)
def test_env_refuses_a_bad_ready_line(tmp_path: Path, content: str, message: str) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text(content)
    code, out, err = run_main("local", "env", "--from", str(ready))
    assert code == 2 and out == ""
    assert message in err


def test_env_names_an_unreadable_file(tmp_path: Path) -> None:
    code, _, err = run_main("local", "env", "--from", str(tmp_path / "missing.json"))
    assert code == 2
    assert "cannot read" in err and "missing.json" in err


async def test_serve_does_not_print_a_secret_it_was_given(local_braket: LocalBraket) -> None:
    from braket_async.local.__main__ import environ_lines

    shown = environ_lines(local_braket, secret_given=False)
    assert "export AWS_SECRET_ACCESS_KEY=testing" in shown
    hidden = environ_lines(local_braket, secret_given=True)
    assert "export AWS_SECRET_ACCESS_KEY" not in hidden.replace("# export", "")
    assert "# export AWS_SECRET_ACCESS_KEY=<the secret access key" in hidden
    assert f"export AWS_ENDPOINT_URL_BRAKET={local_braket.endpoint_url}" in hidden
