"""Shared fixtures: the local Braket service comes from the project's own pytest plugin
(``braket_async_pytest``, settings in pyproject's ``braket_local_*`` ini options); the names
below are the ones the tests have always used, as thin aliases of the plugin's fixtures.

- ``simulator_executor`` (session): ``braket_simulator_executor``, the warm worker pool.
- ``local_braket`` (session): ``braket_local_session``: AWS default quotas, 10 ms delays,
  the embedded moto server, jobs run no script.
- ``make_local``: ``braket_local_factory`` with no delays unless given: extra short-lived
  services sharing the session's workers and S3.
- ``local_env``: ``braket_env``, every AWS client in this process pointed at ``local_braket``.
- ``braket`` (the plugin's own): a :class:`braket_async.BraketSession` on ``local_braket``.
- ``slow`` (module): a second service on the session's workers and S3 whose tasks stay QUEUED
  (for timeouts and cancellation).
- ``program_sets_local`` (module): a second service on the session's workers and S3 that also
  lists the test-only ``_common.PROGRAM_SET_DEVICE`` (no Braket simulator runs program sets).
- ``local_braket_subprocess`` (session): ``python -m braket_async.local serve`` in a child
  process; yields its ready line ``{"endpoint_url", "s3_endpoint_url", ...}``.
- ``threaded_local`` (session) and ``threaded_env``: for synchronous tests (boto3, the AWS CLI,
  the Braket SDK, PennyLane, Qiskit), a second service on a thread of its own
  (``ThreadedLocalBraket``: AWS default quotas, no delays, job scripts run), sharing the
  session's moto server; ``threaded_env`` applies its ``environ()`` to ``os.environ`` for one
  test. This suite's ``braket_local`` lives on the session loop, which synchronous tests
  cannot reach.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from _common import program_set_device
from _wire import WireServer, wire_server

from braket_async.local import CONFLICTING_VARIABLES, LocalBraket, ThreadedLocalBraket

LocalFactory = Callable[..., Awaitable[LocalBraket]]

TEST_REGION = "us-east-1"
TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def simulator_executor(braket_simulator_executor: Any) -> Any:
    """One simulator worker pool for the whole session (warming it costs seconds)."""
    return braket_simulator_executor


@pytest.fixture(scope="session")
def local_braket(braket_local_session: LocalBraket) -> LocalBraket:
    """The session's local Braket service."""
    return braket_local_session


@pytest.fixture
def make_local(braket_local_factory: LocalFactory) -> LocalFactory:
    """Start extra services sharing the session's executor and S3; closed after the test.
    No queue/run delay unless given (the session's 10 ms are not theirs)."""

    async def factory(**kwargs: Any) -> LocalBraket:
        kwargs.setdefault("queue_delay", 0.0)
        kwargs.setdefault("run_delay", 0.0)
        return await braket_local_factory(**kwargs)

    return factory


@pytest.fixture(scope="module")
async def slow(local_braket: LocalBraket, simulator_executor: Any) -> AsyncIterator[LocalBraket]:
    """A service whose tasks stay QUEUED (for timeouts and cancellation)."""
    async with LocalBraket(
        executor=simulator_executor,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        queue_delay=3600.0,
    ) as local:
        yield local


@pytest.fixture(scope="module")
async def program_sets_local(
    local_braket: LocalBraket, simulator_executor: Any
) -> AsyncIterator[LocalBraket]:
    """A service that also lists the test-only device running program sets."""
    from braket_async.local._devices import default_devices

    async with LocalBraket(
        executor=simulator_executor,
        s3_endpoint_url=local_braket.s3_endpoint_url,
        devices=[*default_devices(), program_set_device()],
    ) as local:
        yield local


@pytest.fixture
def local_env(braket_env: dict[str, str]) -> dict[str, str]:
    """Point every AWS client in this process at ``local_braket`` (env vars, undone after)."""
    return braket_env


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


@pytest.fixture(scope="session")
def threaded_local(local_braket: LocalBraket) -> Iterator[ThreadedLocalBraket]:
    """A service on its own thread for synchronous tests, on the session's moto server (where
    the session's service created the SDK's default jobs role and bucket)."""
    with ThreadedLocalBraket(s3_endpoint_url=local_braket.s3_endpoint_url, workers=1) as local:
        yield local


@pytest.fixture
def threaded_env(
    threaded_local: ThreadedLocalBraket, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """``threaded_local.environ()`` in ``os.environ`` for the test (conflicting names unset)."""
    env = threaded_local.environ()
    for name in CONFLICTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def wire() -> AsyncIterator[WireServer]:
    """The scripted loopback server of ``tests/_wire.py`` (replies set per test)."""
    async with wire_server() as server:
        yield server
