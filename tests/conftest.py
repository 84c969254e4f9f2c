"""Shared fixtures: the local Braket service (in-loop and as a subprocess) and clients on it.

- ``simulator_executor`` (session): one warmed :class:`SimulatorExecutor` pool, shared.
- ``local_braket`` (session): a :class:`LocalBraket` with AWS default quotas, 10 ms delays,
  the embedded moto server and the shared executor.
- ``make_local``: a factory for extra, short-lived services (own quotas, faults, delays) that
  reuse the session's executor and S3 endpoint, so each starts in milliseconds.
- ``local_env``: AWS_* environment pointing boto3 / the Braket SDK / botocore at ``local_braket``.
- ``local_braket_subprocess`` (session): ``python -m braket_async.local serve`` in a child
  process; yields its ready line ``{"endpoint_url", "s3_endpoint_url", ...}``.
- ``braket``: a :class:`braket_async.BraketSession` on ``local_braket``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from braket_async.local import LocalBraket, NoScriptJobRunner

LocalFactory = Callable[..., Awaitable[LocalBraket]]

TEST_REGION = "us-east-1"
TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
async def simulator_executor() -> AsyncIterator[Any]:
    """One simulator worker pool for the whole session (warming it costs seconds)."""
    from braket_async.local._executor import SimulatorExecutor

    executor = SimulatorExecutor(workers=2)
    await executor.start()
    try:
        yield executor
    finally:
        await executor.close()


@pytest.fixture(scope="session")
async def local_braket(simulator_executor: Any) -> AsyncIterator[LocalBraket]:
    """The session's local Braket service: AWS default quotas, 10 ms queue and run delays
    (so QUEUED and RUNNING are observable without slowing tests down). Jobs run no script
    here; tests of real job scripts start their own service with the process runner."""
    async with LocalBraket(
        executor=simulator_executor,
        queue_delay=0.01,
        run_delay=0.01,
        job_runner=NoScriptJobRunner(),
    ) as local:
        yield local


@pytest.fixture
async def make_local(
    local_braket: LocalBraket, simulator_executor: Any
) -> AsyncIterator[LocalFactory]:
    """Start extra services sharing the session's executor and S3; closed after the test."""
    stack = contextlib.AsyncExitStack()

    async def factory(**kwargs: Any) -> LocalBraket:
        kwargs.setdefault("executor", simulator_executor)
        kwargs.setdefault("s3_endpoint_url", local_braket.s3_endpoint_url)
        if "job_runner" not in kwargs and "job_runner_factory" not in kwargs:
            kwargs["job_runner"] = NoScriptJobRunner()
        return await stack.enter_async_context(LocalBraket(**kwargs))

    async with stack:
        yield factory


def _env_for(endpoint_url: str, s3_endpoint_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_BRAKET": endpoint_url,
        "AWS_ENDPOINT_URL_S3": s3_endpoint_url,
        "AWS_ENDPOINT_URL_STS": s3_endpoint_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": s3_endpoint_url,
        "AWS_ENDPOINT_URL_IAM": s3_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": TEST_REGION,
        "AWS_REGION": TEST_REGION,
    }


@pytest.fixture
def local_env(local_braket: LocalBraket, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every AWS client in this process at ``local_braket`` (env vars, undone after)."""
    env = _env_for(local_braket.endpoint_url, local_braket.s3_endpoint_url)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def local_braket_subprocess() -> Iterator[dict[str, Any]]:
    """``python -m braket_async.local serve`` in a child process; yields its ready line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "braket_async.local", "serve", "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"local service exited early with code {proc.wait(timeout=10)}")
        info: dict[str, Any] = json.loads(line)
        yield info
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
async def braket(local_braket: LocalBraket) -> AsyncIterator[Any]:
    """A ``BraketSession`` on ``local_braket`` (test credentials, us-east-1)."""
    from braket_async import BraketSession

    async with BraketSession(
        endpoint_url=local_braket.endpoint_url,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        logs_endpoint_url=local_braket.s3_endpoint_url,
        region_name=TEST_REGION,
        aws_access_key_id=TEST_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=TEST_CREDENTIALS["aws_secret_access_key"],
    ) as session:
        yield session
