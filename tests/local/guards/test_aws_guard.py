"""The embedded moto server answers only requests signed with the service's credentials."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yarl
from _common import raw_client
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from braket_async.local.aws._s3 import EmbeddedAws

from .._helpers import sigv4_headers

SECRET = ("AKIDMOTOGUARD", "moto-guard-secret")
NO_RETRIES = AioConfig(
    retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
)


@pytest.fixture(scope="module")
async def aws() -> AsyncIterator[EmbeddedAws]:
    server = EmbeddedAws(credentials=SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def _client(aws: EmbeddedAws, service: str, credentials: tuple[str, str] = SECRET) -> Any:
    return raw_client(service, aws.endpoint_url, credentials=credentials, config=NO_RETRIES)


async def test_signed_clients_of_every_service_work(aws: EmbeddedAws) -> None:
    bucket = f"guard-{uuid.uuid4().hex[:12]}"
    async with _client(aws, "s3") as s3, _client(aws, "logs") as logs, _client(aws, "sts") as sts:
        await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket=bucket, Key="a/b c.txt", Body=b"hello")
        body = await (await s3.get_object(Bucket=bucket, Key="a/b c.txt"))["Body"].read()
        assert body == b"hello"
        group = f"/guard/{uuid.uuid4().hex[:8]}"
        await logs.create_log_group(logGroupName=group)
        groups = await logs.describe_log_groups(logGroupNamePrefix=group)
        assert [g["logGroupName"] for g in groups["logGroups"]] == [group]
        assert (await sts.get_caller_identity())["Account"]


@pytest.mark.parametrize(
    ("service", "credentials", "code"),
    [
        ("s3", ("testing", "testing"), "InvalidAccessKeyId"),
        ("s3", (SECRET[0], "wrong"), "SignatureDoesNotMatch"),
        ("logs", ("testing", "testing"), "UnrecognizedClientException"),
        ("logs", (SECRET[0], "wrong"), "InvalidSignatureException"),
        ("sts", ("testing", "testing"), "InvalidClientTokenId"),
        ("sts", (SECRET[0], "wrong"), "SignatureDoesNotMatch"),
    ],
)
async def test_wrong_credentials_are_refused_in_each_protocol(
    aws: Any, service: str, credentials: tuple[str, str], code: str
) -> None:
    calls = {
        "s3": lambda c: c.list_buckets(),
        "logs": lambda c: c.describe_log_groups(),
        "sts": lambda c: c.get_caller_identity(),
    }
    async with _client(aws, service, credentials) as client:
        with pytest.raises(ClientError) as info:
            await calls[service](client)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_unsigned_and_browser_requests_are_refused_without_cors(aws: EmbeddedAws) -> None:
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Origin": "https://evil.example"}):
            async with http.get(f"{aws.endpoint_url}/", headers=headers) as resp:
                assert resp.status == 403
                assert "<Code>AccessDenied</Code>" in await resp.text()
                assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
        preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}
        async with http.options(f"{aws.endpoint_url}/b/k", headers=preflight) as resp:
            assert resp.status == 403
            assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
        # moto's own control API (reset, auth settings) is behind the same check
        async with http.post(f"{aws.endpoint_url}/moto-api/reset") as resp:
            assert resp.status == 403


async def test_signed_responses_carry_no_cors_headers(aws: EmbeddedAws) -> None:
    # flask-cors adds Access-Control-Allow-Origin to every moto answer; it is stripped.
    url = f"{aws.endpoint_url}/"
    empty = hashlib.sha256(b"").hexdigest()
    headers = sigv4_headers(
        "GET", url, headers={"X-Amz-Content-SHA256": empty}, credentials=SECRET, service="s3"
    )
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
        assert len(resp.headers.getall("Server")) == 1


async def test_presigned_urls_work_and_expire_or_break_when_tampered(aws: EmbeddedAws) -> None:
    bucket = f"guard-{uuid.uuid4().hex[:12]}"
    async with _client(aws, "s3") as s3, aiohttp.ClientSession() as http:
        await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket=bucket, Key="k.txt", Body=b"presigned")
        url = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k.txt"}, ExpiresIn=60
        )
        async with http.get(yarl.URL(url, encoded=True)) as resp:
            assert resp.status == 200 and await resp.read() == b"presigned"
        tampered = url.replace("k.txt", "other.txt")
        async with http.get(yarl.URL(tampered, encoded=True)) as resp:
            assert resp.status == 403
            assert "<Code>SignatureDoesNotMatch</Code>" in await resp.text()
        put_url = await s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": "up.txt", "ContentType": "text/plain"},
            ExpiresIn=60,
        )
        headers = {"Content-Type": "text/plain"}  # signed into the URL
        async with http.put(
            yarl.URL(put_url, encoded=True), data=b"uploaded", headers=headers
        ) as resp:
            assert resp.status == 200, await resp.text()
        body = await (await s3.get_object(Bucket=bucket, Key="up.txt"))["Body"].read()
        assert body == b"uploaded"
        expired = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k.txt"}, ExpiresIn=-10
        )
        async with http.get(yarl.URL(expired, encoded=True)) as resp:
            assert resp.status == 403
            assert "Request has expired" in await resp.text()
        v4_config = AioConfig(signature_version="s3v4", s3={"addressing_style": "path"})
        async with raw_client(
            "s3", aws.endpoint_url, region="eu-west-3", credentials=SECRET, config=v4_config
        ) as s3v4:
            url4 = await s3v4.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": "k.txt"}, ExpiresIn=60
            )
        assert "X-Amz-Signature=" in url4
        async with http.get(yarl.URL(url4, encoded=True)) as resp:
            assert resp.status == 200 and await resp.read() == b"presigned"


async def test_payload_hash_must_match_the_body(aws: EmbeddedAws) -> None:
    bucket = f"guard-{uuid.uuid4().hex[:12]}"
    async with _client(aws, "s3") as s3, aiohttp.ClientSession() as http:
        await s3.create_bucket(Bucket=bucket)
        url = f"{aws.endpoint_url}/{bucket}/k.txt"
        signed_body = b"what was signed"
        sha = hashlib.sha256(signed_body).hexdigest()
        headers = sigv4_headers(
            "PUT", url, signed_body, headers={"X-Amz-Content-SHA256": sha},
            credentials=SECRET, service="s3",
        )  # fmt: skip
        async with http.put(url, data=b"what was sent", headers=headers) as resp:
            assert resp.status == 400
            assert "<Code>XAmzContentSHA256Mismatch</Code>" in await resp.text()
        with pytest.raises(ClientError):
            await s3.head_object(Bucket=bucket, Key="k.txt")
