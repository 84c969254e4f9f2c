"""The SigV4 verifier on requests signed by botocore, with an injected clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from braket_async.local.guards._sigv4 import (
    AuthFailure,
    FailureKind,
    Received,
    SigV4Verifier,
    header_lookup,
)

from .._helpers import sigv4_headers

URL = "http://127.0.0.1:9000/quantum-task/arn%3Aaws%3Abraket%3Aus-east-1%3A1%3Aquantum-task%2Fx"
SIGNED_AT = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def _received(method: str, url: str, headers: dict[str, str]) -> Received:
    parts = urlsplit(url)
    pairs = [*headers.items(), ("Host", parts.netloc)]
    return Received(method, parts.path, parts.query, header_lookup(pairs))


def _verifier(offset: float = 0.0) -> SigV4Verifier:
    now = SIGNED_AT.timestamp() + offset
    return SigV4Verifier("testing", "testing", service="braket", clock=lambda: now)


def _verify(verifier: SigV4Verifier, request: Received, body: bytes = b"") -> None:
    signed = verifier.check(request)
    verifier.verify(request, signed, body)


def test_a_botocore_signature_verifies_within_the_skew() -> None:
    headers = sigv4_headers("GET", URL, when=SIGNED_AT)
    request = _received("GET", URL, headers)
    for offset in (-299, 0, 299):
        _verify(_verifier(offset), request)
    for offset, start in ((301, "Signature expired"), (-301, "Signature not yet current")):
        with pytest.raises(AuthFailure) as info:
            _verify(_verifier(offset), request)
        assert info.value.kind is FailureKind.EXPIRED
        assert info.value.message.startswith(start)


def test_the_date_header_may_stand_in_for_x_amz_date() -> None:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:9000/devices",
        data=b"{}",
        headers={"Date": "Mon, 30 Nov 2026 12:00:00 GMT", "Content-Type": "application/json"},
    )
    signer = SigV4Auth(Credentials("testing", "testing"), "braket", "us-east-1")
    request.context["timestamp"] = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signer._inject_signature_to_request(
        request, signer.signature(signer.string_to_sign(request, canonical), request)
    )
    headers = {k: str(v) for k, v in request.headers.items()}
    assert "X-Amz-Date" not in headers and "Date" in headers
    _verify(_verifier(), _received("POST", "http://127.0.0.1:9000/devices", headers), b"{}")


def test_scope_date_must_match_the_request_date() -> None:
    headers = sigv4_headers("GET", URL, when=SIGNED_AT)
    headers["Authorization"] = headers["Authorization"].replace("/20261130/", "/20261129/")
    with pytest.raises(AuthFailure) as info:
        _verify(_verifier(), _received("GET", URL, headers))
    assert info.value.kind is FailureKind.BAD_SIGNATURE
    assert "'20261129' != '20261130'" in info.value.message


def test_declared_payload_hash_is_a_signed_value() -> None:
    body = b'{"filters": []}'
    url = "http://127.0.0.1:9000/devices"
    good = hashlib.sha256(body).hexdigest()
    headers = sigv4_headers(
        "POST", url, body, headers={"X-Amz-Content-SHA256": good}, when=SIGNED_AT
    )
    request = _received("POST", url, headers)
    _verify(_verifier(), request, body)
    with pytest.raises(AuthFailure) as info:
        _verify(_verifier(), request, b'{"filters": [1]}')
    assert info.value.kind is FailureKind.PAYLOAD_MISMATCH
    unsigned = sigv4_headers(
        "POST", url, body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, when=SIGNED_AT
    )
    # Braket does not take unsigned payloads; S3 (s3=True) does.
    with pytest.raises(AuthFailure) as info:
        _verifier().check(_received("POST", url, unsigned))
    assert info.value.kind is FailureKind.PAYLOAD_MISMATCH
    s3 = SigV4Verifier("testing", "testing", s3=True, clock=lambda: SIGNED_AT.timestamp())
    unsigned_s3 = sigv4_headers(
        "PUT", url, body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
        service="s3", when=SIGNED_AT,
    )  # fmt: skip
    claims = s3.check(_received("PUT", url, unsigned_s3))
    assert not claims.needs_body
    s3.verify(_received("PUT", url, unsigned_s3), claims, None)


def test_signed_headers_are_the_declared_ones() -> None:
    headers = sigv4_headers("GET", URL, headers={"X-Custom": "a"}, when=SIGNED_AT)
    assert "x-custom" in headers["Authorization"]
    _verify(_verifier(), _received("GET", URL, headers))
    with pytest.raises(AuthFailure) as info:
        _verify(_verifier(), _received("GET", URL, {**headers, "X-Custom": "b"}))
    assert info.value.kind is FailureKind.BAD_SIGNATURE
    # a header the client did not sign may change freely
    _verify(_verifier(), _received("GET", URL, {**headers, "User-Agent": "other"}))


def test_empty_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        SigV4Verifier("", "x")
