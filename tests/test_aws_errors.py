"""``_aws_errors.aws_errors``: botocore's errors of raw S3 / Logs calls as braket_async errors,
against the local service's real S3, a scripted wire server and a closed port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _wire import Reply, wire_server
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from braket_async import errors
from braket_async._aws_errors import aws_errors
from braket_async.local import LocalBraket

_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
async def s3(local_braket: LocalBraket) -> AsyncIterator[Any]:
    async with get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=local_braket.s3_endpoint_url, **_KEYS
    ) as client:
        yield client


async def test_a_service_answer_becomes_the_service_error_of_its_code(s3: Any) -> None:
    target = "s3://no-such-bucket-here/key"
    with pytest.raises(errors.ServiceError) as info, aws_errors("GetObject", target):
        await s3.get_object(Bucket="no-such-bucket-here", Key="key")
    assert info.value.code == "NoSuchBucket"
    assert info.value.status_code == 404
    assert info.value.operation == "GetObject"
    assert info.value.message.startswith(f"{target}: ")


async def test_no_answer_becomes_connection_failed() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = AioConfig(retries={"max_attempts": 1}, connect_timeout=2)
    async with get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}", config=config,
        **_KEYS,
    ) as s3:
        with pytest.raises(errors.ConnectionFailed) as info, aws_errors("GetObject", "s3://b/k"):
            await s3.get_object(Bucket="b", Key="k")
    assert info.value.operation == "GetObject"
    assert "GetObject s3://b/k: " in str(info.value)


async def test_an_answer_without_a_code_is_classified_by_its_status() -> None:
    # a bare 429 (no body, so no error code) from a proxy in front of S3: botocore uses the
    # status as the code; the class comes from the status, as for Braket's answers
    config = AioConfig(retries={"max_attempts": 1})
    async with wire_server() as wire, get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=wire.url, config=config, **_KEYS
    ) as s3:
        wire.reply = Reply(429, b"", {"Content-Type": "application/xml"})
        with pytest.raises(errors.ThrottlingException) as info, aws_errors("GetObject", "s3://b/k"):
            await s3.get_object(Bucket="b", Key="k")
    assert info.value.code == "429"
    assert info.value.status_code == 429
    assert info.value.operation == "GetObject"
