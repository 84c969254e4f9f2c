"""``python -m braket_async.local serve``: the ready line, serving, and stopping."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from braket_async.local import FaultConfig, FaultSpec, LocalBraket
from braket_async.local.__main__ import (
    ACCESS_KEY_ENV,
    SECRET_KEY_ENV,
    build_parser,
    fault_config,
    main,
    serve,
)
from braket_async.local._limits import DEFAULT_TASK_MEMORY_LIMIT, DEFAULT_TASK_TIME_LIMIT

from ._helpers import SV1, SignedHttp
from ._processes import alive, child_pids


def test_parser_reads_every_option() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
            "--queue-delay",
            "0.5",
            "--run-delay",
            "1",
            "--quota-scale",
            "2",
            "--no-quotas",
            "--workers",
            "1",
            "--s3-endpoint-url",
            "http://s3.local",
        ]
    )
    assert (args.host, args.port, args.queue_delay, args.run_delay) == ("0.0.0.0", 8080, 0.5, 1.0)
    assert (args.quota_scale, args.no_quotas, args.workers) == (2.0, True, 1)
    assert args.s3_endpoint_url == "http://s3.local"
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


async def test_serve_prints_ready_line_and_stops_on_event(
    local_braket: LocalBraket, simulator_executor: Any
) -> None:
    stop = asyncio.Event()
    out = io.StringIO()
    server = asyncio.create_task(
        serve(
            stop=stop,
            out=out,
            no_quotas=True,
            executor=simulator_executor,
            s3_endpoint_url=local_braket.s3_endpoint_url,
        )
    )
    for _ in range(500):
        if out.getvalue() or server.done():
            break
        await asyncio.sleep(0.01)
    line = json.loads(out.getvalue())
    assert set(line) == {
        "endpoint_url",
        "s3_endpoint_url",
        "events_endpoint_url",
        "default_bucket",
        "region",
        "access_key_id",
        "control_token",
    }
    assert line["access_key_id"] == "testing" and len(line["control_token"]) >= 32
    # An S3 endpoint of its own and no events endpoint: no events are published.
    assert line["events_endpoint_url"] is None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{line['endpoint_url']}/_local/health") as resp,
    ):
        health = await resp.json()
    assert health["quotas"]["rates"] == {}
    stop.set()
    await server


async def test_subprocess_service_answers_braket_calls(
    local_braket_subprocess: dict[str, Any],
) -> None:
    url = local_braket_subprocess["endpoint_url"]
    token = {"Authorization": f"Bearer {local_braket_subprocess['control_token']}"}
    async with aiohttp.ClientSession() as session:
        http = SignedHttp(session)
        async with http.post(f"{url}/devices", json_body={"filters": []}) as resp:
            assert resp.status == 200
            devices = (await resp.json())["devices"]
        async with http.get(f"{url}/_local/ledger", headers=token, sign=False) as resp:
            ledger = await resp.json()
    assert {d["deviceName"] for d in devices} >= {"SV1", "DM1", "TN1"}
    assert ledger["calls"]["SearchDevices"] >= 1


def test_fault_options_parse_into_a_config() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--latency",
            "0.05",
            "--fault-internal-error",
            "0.1",
            "--fault-throttle",
            "0.2",
            "--fault-drop",
            "0.05",
            "--fault",
            "CreateQuantumTask:drop_after_effect=0.5,latency=0",
            "--fault",
            "GetDevice:drop=1,internal-error=0,throttle=0",
            "--fault-seed",
            "9",
        ]
    )
    options = {k: v for k, v in vars(args).items() if k == "latency" or k.startswith("fault")}
    config = fault_config(**options)
    assert config is not None and config.seed == 9
    assert config.default == FaultSpec(
        internal_error=0.1, throttle=0.2, drop_connection=0.05, latency=0.05
    )
    # an operation's spec starts from the default one and replaces what it names
    assert config.per_operation["CreateQuantumTask"] == FaultSpec(
        internal_error=0.1, throttle=0.2, drop_connection=0.05, drop_after_effect=0.5
    )
    assert config.per_operation["GetDevice"] == FaultSpec(drop_connection=1.0, latency=0.05)
    assert fault_config() is None  # no option: no fault injection at all


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault-throttle", "1.5"], "argument --fault-throttle: must be in [0, 1], got 1.5"),
        (["--latency", "-1"], "argument --latency: must be in [0, 600], got -1"),
        (["--latency", "1e300"], "argument --latency: must be in [0, 600], got 1e300"),
        (["--fault", "GetDevice"], "argument --fault: expected OPERATION:kind=value"),
        (
            ["--fault", "GetDevices:throttle=1"],
            "argument --fault: 'GetDevices' is not a Braket operation name",
        ),
        (
            ["--fault", "GetDevice:slow=1"],
            "GetDevice: 'slow=1' must be kind=value with kind one of",
        ),
        (["--fault", "GetDevice:throttle=x"], "throttle must be a number, got 'x'"),
        (["--fault-throttle", "0.6", "--fault-drop", "0.6"], "must sum to at most 1"),
        (["--fault", "GetDevice:throttle=0.5,drop=0.6"], "--fault GetDevice: FaultSpec"),
    ],
)
def test_bad_fault_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


async def test_serve_applies_fault_options(
    local_braket: LocalBraket, simulator_executor: Any
) -> None:
    args = build_parser().parse_args(
        ["serve", "--no-quotas", "--fault", "SearchDevices:throttle=1", "--fault-seed", "1"]
    )
    options = {k: v for k, v in vars(args).items() if k != "command"}
    options["s3_endpoint_url"] = local_braket.s3_endpoint_url
    stop = asyncio.Event()
    out = io.StringIO()
    server = asyncio.create_task(serve(**options, stop=stop, out=out, executor=simulator_executor))
    try:
        line = await _ready_line(out, server)
        token = {"Authorization": f"Bearer {line['control_token']}"}
        async with aiohttp.ClientSession() as session:
            http = SignedHttp(session)
            async with http.get(
                f"{line['endpoint_url']}/_local/faults", headers=token, sign=False
            ) as resp:
                faults = await resp.json()
            async with http.post(f"{line['endpoint_url']}/devices", json_body={"filters": []}) as r:
                status, error_type = r.status, r.headers["x-amzn-ErrorType"]
        assert faults["per_operation"]["SearchDevices"]["throttle"] == 1.0
        assert faults["seed"] == 1
        assert (status, error_type) == (429, "ThrottlingException")
    finally:
        stop.set()
        await server
    with pytest.raises(ValueError, match="not both"):
        await serve(latency=1.0, faults=FaultConfig(), executor=simulator_executor)


async def _ready_line(out: io.StringIO, server: asyncio.Task[None]) -> dict[str, Any]:
    for _ in range(500):
        if out.getvalue() or server.done():
            break
        await asyncio.sleep(0.01)
    line: dict[str, Any] = json.loads(out.getvalue())
    return line


async def test_cli_service_in_another_process_is_controlled_over_http(
    local_braket: LocalBraket,
) -> None:
    argv = [
        sys.executable, "-m", "braket_async.local", "serve",
        "--workers", "1", "--s3-endpoint-url", local_braket.s3_endpoint_url,
        "--latency", "0.001", "--fault", "GetDevice:internal_error=1",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = json.loads(await proc.stdout.readline())
        url = line["endpoint_url"]
        token = {"Authorization": f"Bearer {line['control_token']}"}
        device = f"{url}/device/{quote(SV1, safe='')}"
        async with aiohttp.ClientSession() as session:
            http = SignedHttp(session)
            async with http.get(f"{url}/_local/faults", headers=token, sign=False) as r:
                faults = await r.json()
            assert faults["default"]["latency"] == 0.001
            assert faults["per_operation"]["GetDevice"]["internal_error"] == 1.0
            async with http.get(device) as r:
                assert r.status == 500
            async with http.put(
                f"{url}/_local/faults", json_body={}, headers=token, sign=False
            ) as r:
                assert r.status == 200
            async with http.put(
                f"{url}/_local/quotas", json_body={"off": True}, headers=token, sign=False
            ) as r:
                assert (await r.json())["off"] is True
            async with http.get(device) as r:
                assert r.status == 200
            async with http.get(f"{url}/_local/ledger", headers=token, sign=False) as r:
                ledger = await r.json()
        assert ledger["faults"]["GetDevice"] == {"internal_error": 1, "latency": 1}
    finally:
        proc.terminate()
        await proc.wait()


async def test_non_loopback_host_warns_and_credentials_come_from_the_environment(
    local_braket: LocalBraket, simulator_executor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = os.urandom(8).hex()
    monkeypatch.setenv(ACCESS_KEY_ENV, "AKIDFROMENV")
    monkeypatch.setenv(SECRET_KEY_ENV, secret)
    stop = asyncio.Event()
    out, err = io.StringIO(), io.StringIO()
    server = asyncio.create_task(
        serve(
            host="0.0.0.0",
            stop=stop,
            out=out,
            err=err,
            no_quotas=True,
            executor=simulator_executor,
            s3_endpoint_url=local_braket.s3_endpoint_url,
        )
    )
    try:
        line = await _ready_line(out, server)
        assert line["access_key_id"] == "AKIDFROMENV"
        assert "warning: the local Braket service listens on 0.0.0.0, not loopback" in (
            err.getvalue()
        )
        port = line["endpoint_url"].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}/devices"
        async with aiohttp.ClientSession() as session:
            http = SignedHttp(session)
            async with http.post(url, json_body={"filters": []}) as resp:
                assert resp.status == 403  # testing/testing is not the key any more
            async with http.post(
                url, json_body={"filters": []}, credentials=("AKIDFROMENV", secret)
            ) as resp:
                assert resp.status == 200
    finally:
        stop.set()
        await server


async def test_loopback_host_does_not_warn(
    local_braket: LocalBraket, simulator_executor: Any
) -> None:
    stop = asyncio.Event()
    out, err = io.StringIO(), io.StringIO()
    server = asyncio.create_task(
        serve(
            stop=stop,
            out=out,
            err=err,
            access_key_id="AKIDFLAG",
            secret_access_key="flag-secret",
            executor=simulator_executor,
            s3_endpoint_url=local_braket.s3_endpoint_url,
        )
    )
    try:
        line = await _ready_line(out, server)
        assert line["access_key_id"] == "AKIDFLAG"
        assert err.getvalue() == ""
    finally:
        stop.set()
        await server


def test_parser_reads_the_task_limits() -> None:
    args = build_parser().parse_args(
        ["serve", "--task-time-limit", "30", "--task-memory-limit", "512", "--max-workers", "4"]
    )
    assert (args.task_time_limit, args.task_memory_limit, args.max_workers) == (30.0, 512 << 20, 4)
    off = build_parser().parse_args(["serve", "--task-time-limit", "0", "--task-memory-limit", "0"])
    assert (off.task_time_limit, off.task_memory_limit) == (None, None)
    defaults = build_parser().parse_args(["serve"])
    assert defaults.task_time_limit == DEFAULT_TASK_TIME_LIMIT
    assert defaults.task_memory_limit == DEFAULT_TASK_MEMORY_LIMIT
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--task-time-limit", "-1"])


def test_workers_die_with_a_killed_service() -> None:
    # kill -9 of the service leaves no simulator worker behind (parent-death signal and
    # the workers' watch on their stdin pipe).
    proc = subprocess.Popen(
        [sys.executable, "-m", "braket_async.local", "serve", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["endpoint_url"]
        workers = {
            pid for pid in child_pids(proc.pid) if b"braket_async.local._worker" in _cmdline(pid)
        }
        assert len(workers) == 2
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def test_parser_reads_the_qpu_options() -> None:
    from braket_async.local import QpuQueue
    from braket_async.local.__main__ import _qpu_options

    args = build_parser().parse_args(
        ["serve", "--no-noise", "--qpu-time-scale", "3600", "--qpu-backlog", "7200"]
    )
    kwargs = _qpu_options({"qpu_time_scale": args.qpu_time_scale, "qpu_backlog": args.qpu_backlog})
    assert args.noise is False
    assert kwargs == {"qpu_queue": QpuQueue(time_scale=3600.0, backlog=7200.0)}
    defaults = build_parser().parse_args(["serve"])
    assert defaults.noise is True
    assert _qpu_options({"qpu_time_scale": None, "qpu_backlog": 0.0}) == {}
    with pytest.raises(ValueError, match="--qpu-time-scale"):
        _qpu_options({"qpu_time_scale": None, "qpu_backlog": 5.0})
