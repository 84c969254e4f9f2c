"""Fixtures for the local-service tests (helpers live in ``_helpers``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from braket_async.local import LocalBraket

from ._helpers import RawClients, SignedHttp


@pytest.fixture
async def clients() -> AsyncIterator[RawClients]:
    """Factory of raw aiobotocore clients (closed after the test)."""
    async with AsyncExitStack() as stack:
        yield RawClients(stack)


@pytest.fixture(scope="session")
async def raw(local_braket: LocalBraket) -> AsyncIterator[Any]:
    """A raw aiobotocore Braket client on ``local_braket``, retries off (one per session)."""
    async with AsyncExitStack() as stack:
        yield await RawClients(stack).braket(local_braket)


@pytest.fixture
async def http() -> AsyncIterator[SignedHttp]:
    """Raw HTTP to the local service, SigV4-signed like botocore (closed after the test)."""
    async with aiohttp.ClientSession() as session:
        yield SignedHttp(session)
