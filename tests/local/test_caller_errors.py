"""What a caller sends never gets a 5xx: bad output buckets, deep JSON inside ``action`` and
``deviceParameters``, header bytes that are not UTF-8 (issue 20, items 1-3), over real HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from braket_async.local import LocalBraket
from braket_async.local._body import MAX_BODY_BYTES
from braket_async.local._server import _caller_fault

from ._helpers import SignedHttp, control_headers, sigv4_headers, task_request

#: Names Braket's request model accepts (3-63 characters) and no S3 bucket can have.
IMPOSSIBLE_BUCKETS = [
    "s3://x",
    "arn:aws:s3:::amazon-braket-local",
    "arn:aws:s3:us-east-1:123456789012:accesspoint/abc",
    'quote"d',
    "br{ace}",
    "with space",
    "new\nline",
    "caf\u00e9-bucket",
]


async def _answer(resp: Any) -> tuple[int, str, dict[str, Any]]:
    return resp.status, resp.headers.get("x-amzn-ErrorType", ""), await resp.json()


@pytest.mark.parametrize("bucket", IMPOSSIBLE_BUCKETS)
async def test_impossible_output_bucket_is_400_naming_the_field(
    local_braket: LocalBraket, http: SignedHttp, bucket: str
) -> None:
    before = local_braket.ledger.snapshot()["tasks_created"]
    request = task_request(local_braket, outputS3Bucket=bucket, clientToken=str(uuid.uuid4()))
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=request) as resp:
        status, code, body = await _answer(resp)
    assert (status, code) == (400, "ValidationException")
    # Braket's own message for an unusable bucket, then the field and the rule.
    assert body["message"].startswith(f"Caller doesn't have access to {bucket} or it doesn't")
    assert "'outputS3Bucket'" in body["message"]
    assert local_braket.ledger.snapshot()["tasks_created"] == before


async def test_missing_bucket_keeps_brakets_message(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    request = task_request(local_braket, outputS3Bucket="no-such-bucket-here")
    request["clientToken"] = str(uuid.uuid4())
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=request) as resp:
        status, code, body = await _answer(resp)
    assert (status, code) == (400, "ValidationException")
    assert (
        body["message"] == "Caller doesn't have access to no-such-bucket-here or it doesn't exist."
    )


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _program(inputs: str) -> str:
    header = '{"name": "braket.ir.openqasm.program", "version": "1"}'
    return f'{{"braketSchemaHeader": {header}, "source": "OPENQASM 3;", "inputs": {inputs}}}'


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("action", _deep(100_000)),
        ("action", _program(_deep(100_000))),
        ("action", _program(_deep(65))),
        ("deviceParameters", _deep(10_000)),
        ("deviceParameters", '{"a": ' * 2000 + "1" + "}" * 2000),
    ],
    ids=["action-100k", "inputs-100k", "inputs-65", "parameters-10k", "parameters-objects"],
)
async def test_deep_embedded_json_is_400_naming_the_member(
    local_braket: LocalBraket, http: SignedHttp, member: str, value: str
) -> None:
    request = task_request(local_braket, clientToken=str(uuid.uuid4()), **{member: value})
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=request) as resp:
        status, code, body = await _answer(resp)
    assert (status, code) == (400, "ValidationException")
    assert f"Value at '{member}'" in body["message"]
    assert "nested too deeply" in body["message"]


async def test_embedded_json_within_the_limit_still_runs(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    # 60 levels of nesting inside an unused input: accepted (the limit is not a false alarm).
    request = task_request(
        local_braket, action=_program('{"unused": ' + _deep(60) + "}"), clientToken="deep-ok"
    )
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=request) as resp:
        assert resp.status == 201, await resp.text()


async def _raw_get(url: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """GET ``path`` with header bytes sent exactly as given (an HTTP client would refuse or
    re-encode them)."""
    host, _, port = url.removeprefix("http://").rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: " + f"{host}:{port}".encode()]
        lines += [name + b": " + value for name, value in headers]
        writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]))
        data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


NOT_UTF8 = [b"Bearer \xff\xfe", b"Bearer caf\xe9", "Bearer caf\u00e9".encode(), b"\xc3\x28"]


@pytest.mark.parametrize("value", NOT_UTF8, ids=["ff-fe", "latin1", "utf8", "bad-utf8"])
@pytest.mark.parametrize("path", ["/_local/ledger", "/_local/faults", "/devices/x"])
async def test_non_ascii_authorization_is_403(
    local_braket: LocalBraket, value: bytes, path: str
) -> None:
    status, body = await _raw_get(local_braket.endpoint_url, path, [(b"Authorization", value)])
    assert status == 403
    assert json.loads(body)["message"]


async def test_signed_request_with_non_utf8_bytes_is_403(local_braket: LocalBraket) -> None:
    # A correctly signed GetQuantumTask whose signed header, credential or signature carries
    # bytes that are not UTF-8.
    url = local_braket.endpoint_url
    path = "/quantum-task/arn%3Aaws%3Abraket%3Aus-east-1%3A123456789012%3Aquantum-task%2Fx"
    signed = sigv4_headers("GET", url + path, headers={"X-Extra": "caf\u00e9"})
    auth = signed["Authorization"]
    variants = [
        {**signed, "X-Extra": "caf\u00e9".encode("latin-1")},
        {**signed, "Authorization": auth.replace("testing/", "t\u00e9sting/").encode("latin-1")},
        {**signed, "Authorization": (auth + "\u00ff").encode("latin-1")},
    ]
    for headers in variants:
        pairs = [
            (k.encode(), v if isinstance(v, bytes) else v.encode("utf-8"))
            for k, v in headers.items()
            if k.lower() != "host"
        ]
        status, body = await _raw_get(url, path, pairs)
        assert status == 403, body
        assert json.loads(body)["message"]


async def test_control_token_still_works(local_braket: LocalBraket, http: SignedHttp) -> None:
    # The constant-time comparison that now takes any bytes still lets the right token in.
    async with http.session.get(
        f"{local_braket.endpoint_url}/_local/ledger", headers=control_headers(local_braket)
    ) as resp:
        assert resp.status == 200


def test_docs_state_the_body_limit_the_code_enforces() -> None:
    # Issue 20, item 10: docs/limits.md said 16 MiB while the code refuses past 10 MiB.
    docs = Path(__file__).parents[2] / "docs"
    limits = (docs / "limits.md").read_text()
    mib = MAX_BODY_BYTES // (1024 * 1024)
    assert mib * 1024 * 1024 == MAX_BODY_BYTES
    assert f"{mib} MiB request-body limit" in limits
    shown = f"{MAX_BODY_BYTES:,}".replace(",", " ")
    assert shown in limits and shown in (docs / "security.md").read_text()
    assert "16 MiB" not in limits


@pytest.mark.parametrize("body", [b"null", b"1", b'"x"', b"true", b"[]"])
async def test_a_body_that_is_not_an_object_is_400(
    local_braket: LocalBraket, http: SignedHttp, body: bytes
) -> None:
    # Found by the fuzz: a scalar JSON body crashed the depth check (500).
    async with http.post(f"{local_braket.endpoint_url}/devices", data=body) as resp:
        status, code, answer = await _answer(resp)
    assert (status, code) == (400, "SerializationException")
    assert answer["message"] == "Request body must be a JSON object"


@pytest.mark.parametrize("value", NOT_UTF8, ids=["ff-fe", "latin1", "utf8", "bad-utf8"])
@pytest.mark.parametrize("path", ["/amazon-braket-local", "/moto-api/data.json"])
async def test_non_ascii_authorization_on_the_moto_port_is_4xx(
    local_braket: LocalBraket, value: bytes, path: str
) -> None:
    status, body = await _raw_get(local_braket.s3_endpoint_url, path, [(b"Authorization", value)])
    assert 400 <= status < 500, body


def test_the_net_under_the_checks_maps_only_caller_faults() -> None:
    # What a check missed still gets a 4xx when only the caller can cause it; anything else
    # stays a 500 (the dispatcher logs it with its traceback).
    fault = _caller_fault(ParamValidationError(report="Invalid bucket name"))
    assert fault is not None and (fault.status, fault.code) == (400, "ValidationException")
    assert "Invalid bucket name" in fault.message
    fault = _caller_fault(RecursionError("maximum recursion depth exceeded"))
    assert fault is not None and (fault.status, fault.code) == (400, "SerializationException")
    assert _caller_fault(KeyError("x")) is None
    assert _caller_fault(ValueError("x")) is None
