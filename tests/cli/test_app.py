"""The command as a whole: option placement, errors, exit codes, ``--local``, ``local serve``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest

from braket_async import errors
from braket_async.cli import main
from braket_async.cli._app import exit_code_for, region_hint, split_local_serve
from braket_async.cli._errors import EXIT_ERROR, EXIT_FAILED, EXIT_TIMEOUT
from braket_async.local import LocalBraket

from ._helpers import run_main


async def test_global_options_work_before_the_command_too(
    cli: Any, local_braket: LocalBraket
) -> None:
    run = await cli(
        "--json", "--endpoint-url", local_braket.endpoint_url, "--region", "us-east-1",
        "devices", endpoint=False,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "arn:aws:braket:::device/quantum-simulator/amazon/sv1" in {d["arn"] for d in run.json()}


async def test_an_unreachable_endpoint_is_a_clear_error_with_exit_1(cli: Any) -> None:
    run = await cli(
        "devices", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1", endpoint=False
    )
    assert run.code == 1
    assert run.err.startswith("error:") and "127.0.0.1:9" in run.err
    assert "Traceback" not in run.err


async def test_debug_adds_the_traceback(cli: Any) -> None:
    run = await cli(
        "devices", "--debug", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1",
        endpoint=False,
    )  # fmt: skip
    assert run.code == 1
    assert "Traceback" in run.err


async def test_a_missing_region_names_the_fix(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    run = await cli("devices", endpoint=False)
    assert run.code == 1
    assert "region" in run.err.lower()


async def test_service_errors_exit_1_with_the_service_message(cli: Any) -> None:
    missing = (
        "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000000"
    )
    run = await cli("task", "status", missing)
    assert run.code == 1
    assert "ResourceNotFoundException" in run.err and missing in run.err


async def test_parameter_errors_are_caught_before_the_network(
    cli: Any, local_braket: LocalBraket
) -> None:
    before = local_braket.ledger.snapshot()["total_calls"]
    run = await cli("task", "status", "not-an-arn")
    assert run.code == 1
    assert "quantum_task_arn" in run.err
    assert local_braket.ledger.snapshot()["total_calls"] == before


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("task", "submit")[0] == 2  # FILE missing
    assert run_main("demo", "--tasks", "0")[0] == 2
    assert run_main("nonsense")[0] == 2
    assert "must be >= 1" in capsys.readouterr().err


async def test_local_and_an_endpoint_exclude_each_other(cli: Any) -> None:
    run = await cli("devices", "--local")  # the fixture adds --endpoint-url
    assert run.code == 2
    assert "--local starts its own service" in run.err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("--help")[0] == 0
    text = capsys.readouterr().out
    for command in ("devices", "task", "tasks", "job", "local", "demo"):
        assert command in text


def test_local_serve_help_is_the_services_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("local", "serve", "--help")[0] == 0
    text = capsys.readouterr().out
    assert "usage: braket-async local serve" in text and "--quota-scale" in text
    assert run_main("local", "serve", "--port", "not-a-port")[0] == 2


def test_local_serve_arguments_pass_through_untouched() -> None:
    assert split_local_serve(["--json", "local", "serve", "--port", "0"]) == (
        ["--json", "local", "serve"],
        ["--port", "0"],
    )
    assert split_local_serve(["devices"]) == (["devices"], None)


def test_exit_codes_by_error() -> None:
    assert exit_code_for(errors.WaiterTimeout("arn", "RUNNING", 1.0)) == EXIT_TIMEOUT
    assert exit_code_for(errors.ConnectionFailed("down")) == EXIT_ERROR
    assert exit_code_for(errors.ServiceError("X", "m")) == EXIT_ERROR
    assert issubclass(errors.JobCancelled, errors.BraketError)
    assert EXIT_FAILED == 3


@pytest.mark.usefixtures("quick_local")
async def test_local_flag_runs_the_command_on_an_embedded_service() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(
        main, ["devices", "--local", "--json"], stdout=stdout, stderr=stderr
    )
    assert code == 0, stderr.getvalue()
    names = {d["name"] for d in json.loads(stdout.getvalue())}
    assert {"SV1", "DM1", "TN1"} <= names


async def test_local_serve_runs_until_interrupted_and_the_cli_can_use_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "braket_async.cli", "local", "serve", "--port", "0", "--workers", "1",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
        stdout, stderr = io.StringIO(), io.StringIO()
        argv = [
            "devices", "--json", "--region", "us-east-1",
            "--endpoint-url", ready["endpoint_url"], "--s3-endpoint-url", ready["s3_endpoint_url"],
        ]  # fmt: skip
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        code = await asyncio.to_thread(main, argv, stdout=stdout, stderr=stderr)
        assert code == 1
        assert "export AWS_ACCESS_KEY_ID=testing" in stderr.getvalue()  # the hint

        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        stdout, stderr = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(main, argv, stdout=stdout, stderr=stderr)
        assert code == 0, stderr.getvalue()
        assert len(json.loads(stdout.getvalue())) >= 3
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 60) == 0


def test_without_rich_the_command_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if (
            name == "rich"
            or name.startswith("rich.")
            or (name.startswith("braket_async.cli.") and name != "braket_async.cli._errors")
        ):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)  # as if it were not installed
    code, _, err = run_main("devices")
    assert code == 2
    assert "pip install 'braket-async[cli]'" in err


def test_sub_command_help_points_to_the_global_options_instead_of_repeating_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_main("--help")[0] == 0
    top = capsys.readouterr().out
    for flag in ("--endpoint-url", "--s3-endpoint-url", "--region", "--profile", "--local",
                 "--json", "--debug"):  # fmt: skip
        assert flag in top
    for command in (("task", "submit"), ("devices",), ("job", "status"), ("events", "tail")):
        assert run_main(*command, "--help")[0] == 0
        text = capsys.readouterr().out
        for option in ("--endpoint-url URL", "--s3-endpoint-url", "AWS region (default"):
            assert option not in text, (command, option)
        assert "braket-async --help" in text
    assert len(text.splitlines()) < 25


def test_a_busy_port_is_one_line_naming_it() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run_main("local", "serve", "--port", str(port))
    assert code == EXIT_ERROR
    assert out == ""
    assert err.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use: stop what listens there, or "
        "choose another --port (0 picks a free one)"
    ]


async def test_an_unknown_region_hints_at_brakets_regions(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries of the failed connection
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BRAKET"):
        monkeypatch.delenv(name, raising=False)
    run = await cli("devices", "--region", "us-east-7", endpoint=False)
    assert run.code == 1
    hint = run.err.strip().splitlines()[-1]
    assert hint.startswith("hint: Amazon Braket has no endpoint in region 'us-east-7'")
    for region in ("us-east-1", "us-west-2", "eu-north-1"):
        assert region in hint


def test_no_region_hint_for_a_known_region_or_another_endpoint() -> None:
    assert region_hint("https://braket.us-east-1.amazonaws.com") is None
    assert region_hint("http://127.0.0.1:9") is None
    assert region_hint("https://braket.mars-1.amazonaws.com") is not None
