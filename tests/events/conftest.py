"""Fixtures for the event-feed tests: a session whose SQS/EventBridge clients use the
embedded moto server, and a fresh rule -> queue on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _event_queue import EventQueue, event_queue

from braket_async import BraketSession
from braket_async.local import LocalBraket


def session_kwargs(local: LocalBraket, aws_endpoint_url: str) -> dict[str, Any]:
    """BraketSession arguments for ``local``, with SQS and EventBridge on ``aws_endpoint_url``."""
    return {
        "endpoint_url": local.endpoint_url,
        "s3_endpoint_url": local.s3_endpoint_url,
        "sqs_endpoint_url": aws_endpoint_url,
        "events_endpoint_url": aws_endpoint_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


@pytest.fixture
async def queue(local_braket: LocalBraket) -> AsyncIterator[EventQueue]:
    """A rule -> queue on the session's moto server, removed after the test."""
    async with event_queue(local_braket.s3_endpoint_url) as q:
        yield q


@pytest.fixture
async def session(local_braket: LocalBraket) -> AsyncIterator[BraketSession]:
    """A BraketSession on ``local_braket`` (no event feed of its own)."""
    async with BraketSession(**session_kwargs(local_braket, local_braket.s3_endpoint_url)) as s:
        yield s
