"""The embedded moto server and the async S3 writer, over real loopback HTTP."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from botocore.exceptions import ClientError

from braket_async.local.aws._s3 import EmbeddedAws, ObjectStore

from .._helpers import sigv4_headers


def _bucket() -> str:
    # moto's backends are process-wide (shared with other tests' servers): unique names.
    return f"braket-async-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
async def aws() -> AsyncIterator[EmbeddedAws]:
    server = EmbeddedAws()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def store(aws: EmbeddedAws) -> AsyncIterator[ObjectStore]:
    async with ObjectStore(aws.endpoint_url) as opened:
        yield opened


async def test_endpoint_is_loopback_with_a_free_port(aws: EmbeddedAws) -> None:
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert int(aws.endpoint_url.rsplit(":", 1)[1]) > 0


async def test_responses_carry_one_server_header(aws: EmbeddedAws) -> None:
    # werkzeug + moto used to send two, which aiohttp (so aiobotocore) refuses.
    url = aws.endpoint_url + "/"
    empty = hashlib.sha256(b"").hexdigest()
    headers = sigv4_headers("GET", url, headers={"X-Amz-Content-SHA256": empty}, service="s3")
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers=headers) as response,
    ):
        assert response.status == 200
        assert len(response.headers.getall("Server")) == 1
        await response.read()


async def test_json_and_bytes_round_trip(store: ObjectStore) -> None:
    bucket = _bucket()
    assert not await store.bucket_exists(bucket)
    await store.ensure_bucket(bucket)
    await store.ensure_bucket(bucket)  # idempotent
    assert await store.bucket_exists(bucket)

    doc = {"measurements": [[0, 1], [1, 1]], "nested": {"pi": 3.14159}}
    await store.put_json(bucket, "prefix/task-1/results.json", doc)
    assert json.loads(await store.get_bytes(bucket, "prefix/task-1/results.json")) == doc

    text = json.dumps(doc, indent=2)
    await store.put_json(bucket, "verbatim.json", text)  # a str is written as-is
    assert (await store.get_bytes(bucket, "verbatim.json")).decode() == text

    payload = bytes(range(256)) * 4
    await store.put_bytes(bucket, "blob.bin", payload)
    assert await store.get_bytes(bucket, "blob.bin") == payload

    head = await store.s3.head_object(Bucket=bucket, Key="prefix/task-1/results.json")
    assert head["ContentType"] == "application/json"


async def test_missing_key_raises_no_such_key(store: ObjectStore) -> None:
    bucket = _bucket()
    await store.ensure_bucket(bucket)
    with pytest.raises(ClientError) as caught:
        await store.get_bytes(bucket, "absent.json")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


async def test_bucket_in_another_region(aws: EmbeddedAws) -> None:
    async with ObjectStore(aws.endpoint_url, "eu-west-1") as store:
        bucket = _bucket()
        await store.ensure_bucket(bucket)
        await store.ensure_bucket(bucket)
        location = await store.s3.get_bucket_location(Bucket=bucket)
        assert location["LocationConstraint"] == "eu-west-1"


async def test_logs_client_on_the_same_endpoint(store: ObjectStore) -> None:
    logs = await store.logs_client()
    assert await store.logs_client() is logs  # created once
    group, stream = f"/aws/braket/jobs-{uuid.uuid4().hex[:8]}", "job-name/algo-1"
    await logs.create_log_group(logGroupName=group)
    await logs.create_log_stream(logGroupName=group, logStreamName=stream)
    await logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello from a job"}],
    )
    events = await logs.get_log_events(logGroupName=group, logStreamName=stream)
    assert [e["message"] for e in events["events"]] == ["hello from a job"]


async def test_store_lifecycle_errors(aws: EmbeddedAws) -> None:
    store = ObjectStore(aws.endpoint_url)
    with pytest.raises(RuntimeError, match="not open"):
        _ = store.s3
    with pytest.raises(RuntimeError, match="not open"):
        await store.logs_client()
    await store.open()
    with pytest.raises(RuntimeError, match="already open"):
        await store.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(RuntimeError, match="not open"):
        await store.put_json("bucket", "key", {})


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("localhost:9000",), {}, "endpoint_url"),
        (("http://127.0.0.1:1", ""), {}, "region"),
        (("http://127.0.0.1:1",), {"aws_access_key_id": None}, "together"),
    ],
)
def test_store_rejects_bad_arguments(
    args: tuple[str, ...], kwargs: dict[str, str | None], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ObjectStore(*args, **kwargs)  # type: ignore[arg-type]


async def test_embedded_aws_lifecycle() -> None:
    server = EmbeddedAws()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint_url
    async with server as endpoint_url:
        assert server.endpoint_url == endpoint_url
        with pytest.raises(RuntimeError, match="already started"):
            await server.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint_url
    await server.close()  # idempotent
    with pytest.raises(ValueError, match="port"):
        EmbeddedAws(port=70000)
