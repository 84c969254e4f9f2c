"""Run the ``braket-async`` command in-process against the session's local service.

``main`` runs its own ``asyncio.run``, so it runs in a worker thread while the test's event
loop keeps serving the local Braket service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from braket_async.local import LocalBraket

from ._helpers import Run, run_main

CliRunner = Callable[..., Awaitable[Run]]


@pytest.fixture
def cli(local_braket: LocalBraket, local_env: dict[str, str]) -> CliRunner:
    """``await cli("devices", "--json")``; the endpoint options point at ``local_braket``."""

    async def run(*argv: str, endpoint: bool = True, local: LocalBraket | None = None) -> Run:
        """Run with the endpoint options of ``local`` (default: the session's service)."""
        service = local or local_braket
        options = [
            "--endpoint-url",
            service.endpoint_url,
            "--s3-endpoint-url",
            service.s3_endpoint_url,
            "--region",
            "us-east-1",
        ]
        tokens = [*argv, *options] if endpoint else list(argv)
        return Run(*await asyncio.to_thread(run_main, *tokens))

    return run


@pytest.fixture
def quick_local(
    monkeypatch: pytest.MonkeyPatch, simulator_executor: Any, local_braket: LocalBraket
) -> None:
    """``--local`` and ``demo`` start their service on the session's warm simulator pool and
    moto server, so they start in milliseconds (the subprocess smoke test starts cold)."""
    from braket_async.cli import _context, _demo

    original = _context.start_local

    async def start(stack: Any, out: Any, **kwargs: Any) -> LocalBraket:
        kwargs.setdefault("executor", simulator_executor)
        kwargs.setdefault("s3_endpoint_url", local_braket.s3_endpoint_url)
        return await original(stack, out, **kwargs)

    monkeypatch.setattr(_context, "start_local", start)
    monkeypatch.setattr(_demo, "start_local", start)
