"""BraketSession lifecycle, configuration and environment, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _common import SV1
from _wire import wire_server
from aiohttp import web
from botocore.config import Config

from braket_async import BraketSession, ConfigurationError, RateLimits, SessionStateError
from braket_async.local import LocalBraket
from braket_async.ratelimit import RateLimiter

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No AWS configuration from the machine: empty config files, no AWS_* variables."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_BRAKET", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield monkeypatch


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- lifecycle -------------------------------------------------------------------------------


async def test_use_before_open_is_a_clear_error(local_braket: LocalBraket) -> None:
    session = BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                            **CREDS)
    with pytest.raises(SessionStateError, match="not open"):
        await session.get_device(SV1)
    with pytest.raises(SessionStateError, match="not open"):
        _ = session.client
    with pytest.raises(SessionStateError, match="not open"):
        await session._s3()
    assert not session.is_open


async def test_use_after_close_is_a_clear_error(local_braket: LocalBraket) -> None:
    async with BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                             **CREDS) as session:
        assert session.is_open
        assert (await session.get_device(SV1)).device_arn == SV1
    with pytest.raises(SessionStateError, match="closed"):
        await session.get_device(SV1)
    with pytest.raises(SessionStateError, match="closed"):
        await session._logs()
    with pytest.raises(SessionStateError, match="closed"):
        await session.open()
    await session.close()  # idempotent


async def test_open_twice_and_open_close_by_hand(local_braket: LocalBraket) -> None:
    session = BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                            **CREDS)
    assert await session.open() is session
    try:
        with pytest.raises(SessionStateError, match="already open"):
            await session.open()
        assert (await session.get_device(SV1)).device_name
    finally:
        await session.close()


async def test_use_from_another_event_loop_is_a_clear_error(local_braket: LocalBraket) -> None:
    async with BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                             **CREDS) as session:
        caught: list[BaseException] = []

        def other_thread() -> None:
            try:
                asyncio.run(session.get_device(SV1))
            except BaseException as exc:
                caught.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        assert len(caught) == 1 and isinstance(caught[0], SessionStateError)
        assert "another event loop" in str(caught[0])
        # ...and the session still works on its own loop.
        assert (await session.get_device(SV1)).device_arn == SV1


async def test_properties(local_braket: LocalBraket) -> None:
    async def sleep(delay: float) -> None:
        return None

    def clock() -> float:
        return 42.0

    session = BraketSession(endpoint_url=local_braket.endpoint_url, region_name="eu-west-1",
                            sleep=sleep, clock=clock, **CREDS)
    assert session.sleep is sleep and session.clock is clock
    assert isinstance(session.rate_limiter, RateLimiter)
    assert session.endpoint_url == local_braket.endpoint_url
    assert session.region_name == "eu-west-1"
    async with session:
        assert session.client.meta.region_name == "eu-west-1"
        assert "open" in repr(session)


# -- configuration ---------------------------------------------------------------------------


async def test_defaults_pool_and_standard_retries(clean_env: pytest.MonkeyPatch) -> None:
    async with BraketSession(region_name="us-east-1", **CREDS) as session:
        config = session.client.meta.config
        assert config.max_pool_connections == 100
        # Not adaptive: the session's per-operation limiter is the only pacer.
        assert config.retries["mode"] == "standard"
        assert "braket-async" in config.user_agent_extra
        assert session.endpoint_url == "https://braket.us-east-1.amazonaws.com"


async def test_user_config_is_merged_on_top(clean_env: pytest.MonkeyPatch) -> None:
    user = Config(retries={"total_max_attempts": 2}, read_timeout=7)
    async with BraketSession(region_name="us-east-1", config=user, max_pool_connections=8,
                             **CREDS) as session:
        config = session.client.meta.config
        assert config.max_pool_connections == 8
        assert config.read_timeout == 7
        assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    for mode in ("legacy", "adaptive"):  # a mode the caller names wins
        given = Config(retries={"mode": mode, "max_attempts": 1})
        async with BraketSession(region_name="us-east-1", config=given, **CREDS) as session:
            assert session.client.meta.config.retries["mode"] == mode


async def test_endpoint_from_environment_and_explicit_wins(
    local_braket: LocalBraket, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL_BRAKET", local_braket.endpoint_url)
    clean_env.setenv("AWS_ENDPOINT_URL_S3", local_braket.s3_endpoint_url)
    async with BraketSession(region_name="us-east-1", **CREDS) as session:
        assert session.endpoint_url == local_braket.endpoint_url
        assert (await session.get_device(SV1)).device_arn == SV1
        s3 = await session._s3()
        assert s3.meta.endpoint_url == local_braket.s3_endpoint_url
    # An explicit endpoint beats the environment.
    clean_env.setenv("AWS_ENDPOINT_URL_BRAKET", f"http://127.0.0.1:{closed_port()}")
    async with BraketSession(region_name="us-east-1", endpoint_url=local_braket.endpoint_url,
                             **CREDS) as session:
        assert (await session.get_device(SV1)).device_arn == SV1


TASK = "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000001"


async def signed_with(session: BraketSession, wire: Any) -> str:
    """The access key and region of the signature the server received."""
    await session.list_tags_for_resource(TASK)
    authorization = wire.headers[-1]["Authorization"]
    credential = authorization.split("Credential=")[1].split(",")[0]
    key, _date, region, *_ = credential.split("/")
    return f"{key}@{region}"


async def test_region_and_credentials_from_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    async with wire_server() as wire:
        async with BraketSession(endpoint_url=wire.url) as session:
            assert session.region_name == "us-west-2"
            assert await signed_with(session, wire) == "AKIDENV@us-west-2"
        clean_env.setenv("AWS_REGION", "eu-west-2")  # AWS_REGION wins over AWS_DEFAULT_REGION
        async with BraketSession(endpoint_url=wire.url) as session:
            assert await signed_with(session, wire) == "AKIDENV@eu-west-2"
        async with BraketSession(endpoint_url=wire.url, region_name="ap-south-1",
                                 aws_access_key_id="AKIDARG",
                                 aws_secret_access_key="s") as session:
            # Explicit arguments win over the environment.
            assert await signed_with(session, wire) == "AKIDARG@ap-south-1"


async def test_profile_from_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile lab]\nregion = ca-central-1\n")
    (tmp_path / "credentials").write_text(
        "[lab]\naws_access_key_id = AKIDLAB\naws_secret_access_key = s\n"
    )
    clean_env.setenv("AWS_PROFILE", "lab")
    async with wire_server() as wire:
        async with BraketSession(endpoint_url=wire.url) as session:
            assert session.region_name == "ca-central-1"
            assert await signed_with(session, wire) == "AKIDLAB@ca-central-1"
        clean_env.delenv("AWS_PROFILE")
        async with BraketSession(endpoint_url=wire.url, profile_name="lab") as session:
            assert await signed_with(session, wire) == "AKIDLAB@ca-central-1"


async def test_missing_region_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    session = BraketSession(**CREDS)
    with pytest.raises(ConfigurationError, match="region"):
        await session.open()
    assert not session.is_open


async def test_unknown_profile_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        await BraketSession(profile_name="nope", region_name="us-east-1").open()


async def test_no_credentials_is_a_configuration_error(
    local_braket: LocalBraket, clean_env: pytest.MonkeyPatch
) -> None:
    async with BraketSession(endpoint_url=local_braket.endpoint_url,
                             region_name="us-east-1") as session:
        with pytest.raises(ConfigurationError, match="credentials"):
            await session.get_device(SV1)


# -- lazy S3 / Logs clients, warm first call -----------------------------------------------


async def test_s3_and_logs_clients_are_created_once_on_first_need(
    local_braket: LocalBraket,
) -> None:
    async with BraketSession(
        endpoint_url=local_braket.endpoint_url, s3_endpoint_url=local_braket.s3_endpoint_url,
        logs_endpoint_url=local_braket.s3_endpoint_url, region_name="us-east-1", **CREDS,
    ) as session:
        assert session._transport._lazy_clients == {}  # none before first need
        s3_clients = await asyncio.gather(*(session._s3() for _ in range(10)))
        assert all(c is s3_clients[0] for c in s3_clients)
        logs = await asyncio.gather(session._logs(), session._logs())
        assert logs[0] is logs[1]
        buckets = await s3_clients[0].list_buckets()
        assert local_braket.default_bucket in {b["Name"] for b in buckets["Buckets"]}
        await logs[0].describe_log_groups()
    assert session._transport._lazy_clients == {}  # closed with the session


async def test_first_call_runs_alone_then_calls_run_concurrently() -> None:
    in_flight = 0
    peak_while_first = 0
    first_done = asyncio.Event()
    peak = 0
    device = json.dumps({
        "deviceArn": SV1, "deviceName": "SV1", "providerName": "p", "deviceType": "SIMULATOR",
        "deviceStatus": "ONLINE", "deviceCapabilities": "{}",
    })

    async with wire_server() as wire:
        async def handler(request: web.Request) -> web.StreamResponse:
            nonlocal in_flight, peak_while_first, peak
            in_flight += 1
            peak = max(peak, in_flight)
            if not first_done.is_set():
                # Give any other (unwanted) first call the chance to arrive meanwhile.
                for _ in range(20):
                    await asyncio.sleep(0)
                    peak_while_first = max(peak_while_first, in_flight)
                await asyncio.sleep(0.05)
                peak_while_first = max(peak_while_first, in_flight)
                first_done.set()
            else:
                await asyncio.sleep(0.02)
            in_flight -= 1
            return web.Response(body=device, content_type="application/json")

        wire.handler = handler
        async with BraketSession(endpoint_url=wire.url, region_name="us-east-1",
                                 rate_limits=RateLimits.off(), **CREDS) as session:
            devices = await asyncio.gather(*(session.get_device(SV1) for _ in range(20)))
    assert all(d.device_arn == SV1 for d in devices)
    assert len(wire.requests) == 20
    assert peak_while_first == 1
    assert peak > 1  # after the first call the rest overlap


async def test_raw_client_returns_aware_utc_datetimes(local_braket: LocalBraket) -> None:
    from datetime import UTC

    async with BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                             **CREDS) as session:
        await session.create_quantum_task(
            device_arn=SV1, action="OPENQASM 3; qubit q; bit b; b = measure q;", shots=1,
            output_s3_bucket=local_braket.default_bucket, output_s3_key_prefix="utc",
        )
        page = await session.client.search_quantum_tasks(filters=[], maxResults=1)
        typed = await session.search_quantum_tasks(filters=[], max_results=1)
    assert page["quantumTasks"][0]["createdAt"].tzinfo is UTC
    assert typed.quantum_tasks[0].created_at == page["quantumTasks"][0]["createdAt"]


async def test_rate_limiter_is_awaited_for_every_call(
    local_braket: LocalBraket, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    async with BraketSession(endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
                             **CREDS) as session:
        async def acquire(operation: str) -> None:
            seen.append(operation)

        monkeypatch.setattr(session.rate_limiter, "acquire", acquire)
        await session.get_device(SV1)
        await session.search_devices()
    assert seen == ["GetDevice", "SearchDevices"]
