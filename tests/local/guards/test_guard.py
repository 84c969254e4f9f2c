"""Authentication of the local service over real loopback HTTP: SigV4 on every Braket request,
no web browser, and the cross-site chain that used to run a command as the user."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _common import raw_client
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket
from braket_async.local.jobs._jobs import process_job_runner_factory

from .._helpers import (
    SV1,
    RawClients,
    SignedHttp,
    job_request,
    sigv4_headers,
    task_request,
    wait_job,
)

NO_RETRIES = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
EVIL_ORIGIN = "https://evil.example"


def _no_cors(headers: Any) -> bool:
    return not [name for name in headers if name.lower().startswith("access-control-")]


async def _error(resp: aiohttp.ClientResponse) -> tuple[int, str, str]:
    body = await resp.json()
    return resp.status, resp.headers.get("x-amzn-ErrorType", ""), body["message"]


# --------------------------------------------------------------------------- SigV4


async def test_unsigned_request_is_403_missing_token(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    url = f"{local_braket.endpoint_url}/quantum-task"
    async with http.post(url, json_body=task_request(local_braket), sign=False) as resp:
        assert await _error(resp) == (
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
        assert resp.headers["x-amzn-RequestId"]
        assert _no_cors(resp.headers)


@pytest.mark.parametrize(
    ("credentials", "code", "message"),
    [
        (
            ("AKIDNOTTHEKEY", "testing"),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            ("testing", "wrong-secret"),
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ),
    ],
)
async def test_wrong_key_or_secret_is_refused_for_boto_clients(
    local_braket: LocalBraket, credentials: tuple[str, str], code: str, message: str
) -> None:
    before = local_braket.ledger.snapshot()["tasks_created"]
    async with raw_client(
        "braket", local_braket.endpoint_url, credentials=credentials, config=NO_RETRIES
    ) as client:
        for call in (
            lambda: client.get_device(deviceArn=SV1),
            lambda: client.create_quantum_task(**task_request(local_braket)),
        ):
            with pytest.raises(ClientError) as info:
                await call()
            assert info.value.response["Error"]["Code"] == code
            assert info.value.response["Error"]["Message"].startswith(message)
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert local_braket.ledger.snapshot()["tasks_created"] == before


@pytest.mark.parametrize(
    ("shift", "start"),
    [
        (timedelta(minutes=-10), "Signature expired: "),
        (timedelta(minutes=10), "Signature not yet current: "),
    ],
)
async def test_stale_or_future_date_is_refused(
    local_braket: LocalBraket, http: SignedHttp, shift: timedelta, start: str
) -> None:
    when = datetime.now(UTC) + shift
    url = f"{local_braket.endpoint_url}/devices"
    async with http.post(url, json_body={"filters": []}, when=when) as resp:
        status, code, message = await _error(resp)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith(start + when.strftime("%Y%m%dT%H%M%SZ"))
    assert message.endswith(" 5 min.)")
    # within the 5-minute skew a request is accepted
    async with http.post(url, json_body={"filters": []}, when=datetime.now(UTC)) as resp:
        assert resp.status == 200


async def test_tampered_body_is_refused_and_has_no_effect(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    url = f"{local_braket.endpoint_url}/quantum-task"
    signed_body = json.dumps(task_request(local_braket, shots=10)).encode()
    tampered = json.dumps(task_request(local_braket, shots=1000)).encode()
    headers = sigv4_headers("POST", url, signed_body, headers={"Content-Type": "application/json"})
    before = local_braket.ledger.snapshot()["tasks_created"]
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=tampered, headers=headers) as resp,
    ):
        status, code, message = await _error(resp)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "does not match the signature you provided" in message
    assert local_braket.ledger.snapshot()["tasks_created"] == before


async def test_tampered_path_and_query_are_refused(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/x"
    signed_url = f"{local_braket.endpoint_url}/quantum-task/{arn.replace(':', '%3A')}"
    headers = sigv4_headers("GET", signed_url)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{signed_url}?additionalAttributeNames=QueueInfo", headers=headers) as resp,
    ):
        assert (await _error(resp))[:2] == (403, "InvalidSignatureException")


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        ("Bearer abc", "Authorization header requires 'Credential' parameter."),
        (
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/braket/aws4_request",
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=testing/us-east-1, SignedHeaders=host, Signature=00",
            "Credential must have exactly 5 slash-delimited elements",
        ),
    ],
)
async def test_malformed_authorization_is_incomplete_signature(
    local_braket: LocalBraket, http: SignedHttp, authorization: str, fragment: str
) -> None:
    headers = {"Authorization": authorization, "X-Amz-Date": "20260101T000000Z"}
    url = f"{local_braket.endpoint_url}/devices"
    async with http.post(url, json_body={}, headers=headers, sign=False) as resp:
        status, code, message = await _error(resp)
    assert (status, code) == (403, "IncompleteSignatureException")
    assert fragment in message


async def test_credential_scope_must_name_braket(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    url = f"{local_braket.endpoint_url}/devices"
    async with http.post(url, json_body={"filters": []}, service="s3") as resp:
        status, code, message = await _error(resp)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("Credential should be scoped to correct service: 'braket'.")


async def test_any_region_in_the_scope_is_accepted(local_braket: LocalBraket) -> None:
    async with raw_client(
        "braket", local_braket.endpoint_url, region="mars-north-7", config=NO_RETRIES
    ) as client:
        assert (await client.get_device(deviceArn=SV1))["deviceArn"] == SV1


async def test_signed_body_must_be_json(local_braket: LocalBraket, http: SignedHttp) -> None:
    url = f"{local_braket.endpoint_url}/devices"
    body = json.dumps({"filters": []}).encode()
    async with http.post(url, data=body, content_type="text/plain") as resp:
        status, code, _ = await _error(resp)
    assert (status, code) == (415, "UnsupportedMediaTypeException")
    async with http.post(url, data=body, content_type="application/json; charset=utf-8") as r:
        assert r.status == 200


async def test_preflight_gets_nothing_that_allows_a_browser(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    headers = {
        "Origin": EVIL_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    url = f"{local_braket.endpoint_url}/quantum-task"
    async with http.request("OPTIONS", url, headers=headers, sign=False) as resp:
        assert resp.status == 403
        assert _no_cors(resp.headers)


async def test_browser_headers_are_refused_even_when_signed(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    url = f"{local_braket.endpoint_url}/devices"
    for extra in ({"Origin": EVIL_ORIGIN}, {"Sec-Fetch-Mode": "cors"}):
        async with http.post(url, json_body={"filters": []}, headers=extra) as resp:
            status, code, message = await _error(resp)
            assert (status, code) == (403, "AccessDeniedException")
            assert "web browsers are refused" in message
            assert _no_cors(resp.headers)


async def test_configured_credentials_replace_the_defaults(
    make_local: Any, local_braket: LocalBraket
) -> None:
    secret = uuid.uuid4().hex
    local: LocalBraket = await make_local(credentials=("AKIDLOCALTEST", secret))
    assert local.credentials == ("AKIDLOCALTEST", secret)
    async with raw_client(
        "braket", local.endpoint_url, credentials=("AKIDLOCALTEST", secret), config=NO_RETRIES
    ) as client:
        assert (await client.get_device(deviceArn=SV1))["deviceArn"] == SV1
    async with raw_client("braket", local.endpoint_url, config=NO_RETRIES) as client:
        with pytest.raises(ClientError, match="UnrecognizedClientException"):
            await client.get_device(deviceArn=SV1)


def test_control_token_is_random_per_service_and_checked() -> None:
    with pytest.raises(ValueError, match="control_token must be at least 16"):
        LocalBraket(control_token="short")
    with pytest.raises(ValueError, match="credentials must be"):
        LocalBraket(credentials=("", "x"))


async def test_each_service_gets_its_own_control_token(
    make_local: Any, local_braket: LocalBraket
) -> None:
    other: LocalBraket = await make_local()
    assert len(local_braket.control_token) >= 32
    assert other.control_token != local_braket.control_token


# --------------------------------------------------------------------------- the chain


def _browser_upload(s3_url: str, bucket: str, key: str, script: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("key", key)
    form.add_field("file", script, filename="x.py", content_type="text/x-python")
    return form


async def test_cross_site_chain_is_refused_at_every_step(
    make_local: Any, clients: RawClients, tmp_path: Path
) -> None:
    """The chain a web page could run with simple requests (no preflight): upload a script to
    the embedded S3 with a form POST, then CreateJob with entry point ``os:system`` and a shell
    command as hyperparameter, ``text/plain`` so the browser sends it without asking."""
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    marker = tmp_path / "pwned"
    key = f"evil/{uuid.uuid4().hex}.py"
    script = b"print('hello')\n"
    request = job_request(
        f"evil-{uuid.uuid4().hex[:8]}",
        algorithmSpecification={
            "scriptModeConfig": {
                "entryPoint": "os:system",
                "s3Uri": f"s3://{local.default_bucket}/{key}",
                "compressionType": "NONE",
            }
        },
        hyperParameters={"command": f"touch {marker}"},
    )
    bucket_url = f"{local.s3_endpoint_url}/{local.default_bucket}"
    job_url = f"{local.endpoint_url}/job"

    async with aiohttp.ClientSession() as browser:
        for origin in ({"Origin": EVIL_ORIGIN}, {}):  # a browser; or whatever omits Origin
            # 1. the upload: multipart/form-data POST Object, a "simple" request
            form = _browser_upload(bucket_url, local.default_bucket, key, script)
            async with browser.post(bucket_url, data=form, headers=origin) as resp:
                text = await resp.text()
                assert resp.status == 403, text
                assert "<Code>AccessDenied</Code>" in text
                assert _no_cors(resp.headers)
            # 2. CreateJob as text/plain, no Authorization
            async with browser.post(
                job_url,
                data=json.dumps({**request, "clientToken": str(uuid.uuid4())}),
                headers={**origin, "Content-Type": "text/plain;charset=UTF-8"},
            ) as resp:
                status, code, _ = await _error(resp)
                assert status == 403
                assert code == (
                    "AccessDeniedException" if origin else "MissingAuthenticationTokenException"
                )
                assert _no_cors(resp.headers)

    s3 = await clients.s3(local)
    with pytest.raises(ClientError) as info:
        await s3.head_object(Bucket=local.default_bucket, Key=key)
    assert info.value.response["Error"]["Code"] == "404"
    assert local.store.job_list == []
    assert local.ledger.snapshot()["jobs_created"] == 0
    assert not marker.exists()

    # Control: the same two steps signed with the service's credentials do run the command,
    # so the refusals above are what stopped it (hybrid jobs run code as the user).
    await s3.put_object(Bucket=local.default_bucket, Key=key, Body=script)
    braket = await clients.braket(local)
    arn = (await braket.create_job(**request))["jobArn"]
    assert (await wait_job(braket, arn))["status"] == "COMPLETED"
    assert marker.exists()
