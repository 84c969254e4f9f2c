"""Server-side verification of AWS Signature Version 4, with botocore's own signer.

The local service recomputes the signature of every request it receives, the way AWS does:
it takes the access key id, date, region and service from the request's credential scope,
looks up the secret of that key (the service knows one key pair), rebuilds the canonical
request from the bytes it received (raw path, raw query, the headers the client declared in
``SignedHeaders``, the body or the declared payload hash) and lets botocore's ``SigV4Auth`` /
``S3SigV4Auth`` compute the signature. The two are compared in constant time.

Both forms are accepted: the ``Authorization`` header and presigned query parameters
(``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature``). A declared ``X-Amz-Content-SHA256`` is a
signed value: a hex digest must match the body; ``UNSIGNED-PAYLOAD`` and ``STREAMING-*``
are accepted only where ``s3`` is set. With ``s3`` set, S3's legacy presigned URLs
(``AWSAccessKeyId``, ``Expires``, ``Signature``: what botocore's ``generate_presigned_url``
makes for S3 by default) are verified too, with botocore's ``HmacV1QueryAuth``.

Failures raise :class:`AuthFailure` with a :class:`FailureKind`; each front end renders it in
its own protocol's codes (see ``docs/security.md``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

__all__ = [
    "MAX_CLOCK_SKEW",
    "AuthFailure",
    "FailureKind",
    "Received",
    "SigV4Verifier",
    "SignedRequest",
    "constant_time_equal",
    "header_lookup",
]

#: How far the request's date may be from the server's clock (AWS: 5 minutes).
MAX_CLOCK_SKEW = 300.0
_ALGORITHM = "AWS4-HMAC-SHA256"
_ISO = "%Y%m%dT%H%M%SZ"
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSIGNED_VALUES = ("UNSIGNED-PAYLOAD", "STREAMING-")
_MAX_EXPIRES = 7 * 24 * 3600  # presigned URLs: at most one week (SigV4)
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class FailureKind(enum.Enum):
    """Why a request was not authenticated (each front end maps it to its error codes)."""

    MISSING = "missing"  # no Authorization header and no presigned query
    INCOMPLETE = "incomplete"  # malformed header, credential, date or query parameters
    UNKNOWN_KEY = "unknown_key"  # access key id not the service's
    BAD_SIGNATURE = "bad_signature"  # signature does not match
    EXPIRED = "expired"  # date outside the allowed skew, or presigned URL expired
    PAYLOAD_MISMATCH = "payload_mismatch"  # declared X-Amz-Content-SHA256 != body


class AuthFailure(Exception):
    """The request is not authenticated: ``kind`` and an AWS-worded ``message``."""

    def __init__(self, kind: FailureKind, message: str, *, presigned: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.presigned = presigned


@attrs.frozen
class Received:
    """A request as it arrived: method, raw (percent-encoded) path and query, headers, and a
    lookup of every value of one header (case-insensitive)."""

    method: str
    path: str
    query: str
    header_values: Callable[[str], list[str]]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None


@attrs.frozen
class SignedRequest:
    """What the request claims (parsed before the body is read)."""

    access_key_id: str
    timestamp: str  # ISO-8601 basic, as signed
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool
    declared_payload: str | None  # the X-Amz-Content-SHA256 header, if any
    legacy_expires: str | None = None  # set for an S3 legacy (SigV2) presigned URL

    @property
    def needs_body(self) -> bool:
        """Whether verifying needs the body (unless the payload hash is a signed literal)."""
        return self.declared_payload is None or not self.declared_payload.startswith(
            _UNSIGNED_VALUES
        )


def _incomplete(message: str, presigned: bool = False) -> AuthFailure:
    return AuthFailure(FailureKind.INCOMPLETE, message, presigned=presigned)


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != _ALGORITHM:
        raise _incomplete(
            "Authorization header requires 'Credential' parameter. Authorization header "
            "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
            f"parameter. Authorization={value[:200]}"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, val = part.partition("=")
        if not eq:
            raise _incomplete(
                f"'{part[:100]}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{value[:200]}'."
            )
        fields[key.strip()] = val.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if not fields.get(k)]
    if missing:
        raise _incomplete(
            " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
            + f" Authorization={value[:200]}"
        )
    return fields


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _iso_from_date_header(value: str) -> str:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{value}'.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_ISO)


def _parse_iso(value: str, presigned: bool) -> datetime:
    try:
        return datetime.strptime(value, _ISO).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{value}'. See "
            "http://en.wikipedia.org/wiki/ISO_8601",
            presigned,
        ) from None


def constant_time_equal(given: str, expected: str) -> bool:
    """``given == expected`` in constant time, for any received text: bytes that were not UTF-8
    (kept as lone surrogates by the HTTP server) compare unequal instead of raising."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _DeclaredHeaders:
    """Mixin for botocore's signers: sign exactly the headers the client declared, with the
    values received, and use the payload hash computed from the received body."""

    _declared: tuple[str, ...] = ()
    _received: Callable[[str], list[str]]
    _payload: str = ""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._declared:
            values = self._received(name) or [""]
            for value in values:
                if not _is_utf8(value):
                    # Bytes that are not UTF-8 (kept as lone surrogates): no client signs those
                    # with botocore, and botocore cannot canonicalise them.
                    raise AuthFailure(FailureKind.BAD_SIGNATURE, _SIGNATURE_MISMATCH)
                header_map[name] = value
        return header_map

    def payload(self, request: AWSRequest) -> str:
        return self._payload


class _Signer(_DeclaredHeaders, SigV4Auth):  # type: ignore[misc]
    pass


class _S3Signer(_DeclaredHeaders, S3SigV4Auth):  # type: ignore[misc]
    # S3 signs the path as sent (no second percent-encoding, no dot-segment removal).
    pass


class _LegacyQuerySigner(HmacV1QueryAuth):  # type: ignore[misc]
    # The string to sign carries the URL's Expires where a header signature has Date.
    def __init__(self, credentials: Credentials, expires: str) -> None:
        super().__init__(credentials)
        self._expires_at = expires

    def _get_date(self) -> str:
        return self._expires_at


class SigV4Verifier:
    """Verifies requests signed with one key pair.

    ``service``: the only signing name accepted in the credential scope (``None``: any,
    for the embedded server that serves several services on one port). Any region is
    accepted; the signature is recomputed with the region of the credential scope.
    ``s3``: accept ``UNSIGNED-PAYLOAD`` / ``STREAMING-*`` as the declared payload hash, and
    S3's legacy presigned URLs.
    """

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        *,
        service: str | None = None,
        s3: bool = False,
        max_skew: float = MAX_CLOCK_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_key_id or not secret_access_key:
            raise ValueError("access_key_id and secret_access_key must be non-empty strings")
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._service = service
        self._s3 = s3
        self._max_skew = max_skew
        self._clock = clock

    # Step 1: everything that does not need the body --------------------------------------

    def check(self, request: Received) -> SignedRequest:
        """Parse and check the claims (key id, scope, date); raise :class:`AuthFailure`."""
        authorization = request.header("Authorization")
        query = _query_pairs(request.query)
        query_auth = {k: v for k, v in query if k.startswith("X-Amz-")}
        if authorization is not None:
            fields = _parse_authorization(authorization)
            credential = fields["Credential"]
            signed_headers = fields["SignedHeaders"]
            signature = fields["Signature"]
            presigned = False
            amz_date = request.header("X-Amz-Date")
            if amz_date is None:
                date_header = request.header("Date")
                if date_header is None:
                    raise _incomplete(
                        "Authorization header requires existence of either a 'X-Amz-Date' or "
                        f"a 'Date' header. Authorization={authorization[:200]}"
                    )
                amz_date = _iso_from_date_header(date_header)
        elif "X-Amz-Signature" in query_auth or "X-Amz-Algorithm" in query_auth:
            presigned = True
            missing = [
                k
                for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                          "X-Amz-SignedHeaders", "X-Amz-Signature")
                if not query_auth.get(k)
            ]  # fmt: skip
            if missing:
                raise _incomplete(
                    " ".join(f"AWS query-string parameters must include '{k}'." for k in missing),
                    True,
                )
            if query_auth["X-Amz-Algorithm"] != _ALGORITHM:
                raise _incomplete(f"X-Amz-Algorithm only supports '{_ALGORITHM}'", True)
            credential = query_auth["X-Amz-Credential"]
            signed_headers = query_auth["X-Amz-SignedHeaders"]
            signature = query_auth["X-Amz-Signature"]
            amz_date = query_auth["X-Amz-Date"]
        elif self._s3 and {"AWSAccessKeyId", "Signature", "Expires"} <= {k for k, _ in query}:
            return self._check_legacy_query(dict(query))
        else:
            raise AuthFailure(FailureKind.MISSING, "Missing Authentication Token")

        parts = credential.split("/")
        if len(parts) != 5:
            raise _incomplete(
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                f"keyid/date/region/service/term, got '{credential[:200]}'",
                presigned,
            )
        key_id, scope_date, region, service, terminator = parts
        if not constant_time_equal(key_id, self._credentials.access_key):
            raise AuthFailure(
                FailureKind.UNKNOWN_KEY,
                "The security token included in the request is invalid.",
                presigned=presigned,
            )
        when = _parse_iso(amz_date, presigned)
        if scope_date != amz_date[:8]:
            raise AuthFailure(
                FailureKind.BAD_SIGNATURE,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
                presigned=presigned,
            )
        if terminator != "aws4_request":
            raise AuthFailure(
                FailureKind.BAD_SIGNATURE,
                "Credential should be scoped with a valid terminator: 'aws4_request', "
                f"not '{terminator}'.",
                presigned=presigned,
            )
        if self._service is not None and service != self._service:
            raise AuthFailure(
                FailureKind.BAD_SIGNATURE,
                f"Credential should be scoped to correct service: '{self._service}'. ",
                presigned=presigned,
            )
        if not region:
            raise AuthFailure(
                FailureKind.BAD_SIGNATURE,
                "Credential should be scoped to a valid region. ",
                presigned=presigned,
            )
        self._check_time(when, query_auth.get("X-Amz-Expires") if presigned else None)
        declared = request.header("X-Amz-Content-SHA256")
        if declared is not None and not (
            _HEX_SHA256.match(declared) or (self._s3 and declared.startswith(_UNSIGNED_VALUES))
        ):
            raise AuthFailure(
                FailureKind.PAYLOAD_MISMATCH,
                "The provided 'x-amz-content-sha256' header is not a valid SHA256 "
                "hex digest of the payload.",
                presigned=presigned,
            )
        return SignedRequest(
            access_key_id=key_id,
            timestamp=amz_date,
            region=region,
            service=service,
            signed_headers=tuple(h.strip().lower() for h in signed_headers.split(";") if h),
            signature=signature,
            presigned=presigned,
            declared_payload=declared,
        )

    def _check_legacy_query(self, query: dict[str, str]) -> SignedRequest:
        if not constant_time_equal(query["AWSAccessKeyId"], self._credentials.access_key):
            raise AuthFailure(
                FailureKind.UNKNOWN_KEY,
                "The AWS Access Key Id you provided does not exist in our records.",
                presigned=True,
            )
        try:
            expires = int(query["Expires"])
        except ValueError:
            raise _incomplete("Expires must be a number of seconds since the epoch", True) from None
        if self._clock() > expires:
            raise AuthFailure(FailureKind.EXPIRED, "Request has expired", presigned=True)
        return SignedRequest(
            access_key_id=query["AWSAccessKeyId"],
            timestamp="",
            region="",
            service="s3",
            signed_headers=(),
            signature=query["Signature"],
            presigned=True,
            declared_payload="UNSIGNED-PAYLOAD",
            legacy_expires=query["Expires"],
        )

    def _verify_legacy_query(self, request: Received, signed: SignedRequest) -> None:
        assert signed.legacy_expires is not None
        headers = HTTPHeaders()
        for name in ("Content-MD5", "Content-Type"):
            for value in request.header_values(name):
                headers[name] = value
        signer = _LegacyQuerySigner(self._credentials, signed.legacy_expires)
        split = urlsplit(f"http://local{request.path}?{request.query}")
        expected = signer.get_signature(request.method, split, headers)
        if not constant_time_equal(expected, signed.signature):
            raise AuthFailure(FailureKind.BAD_SIGNATURE, _SIGNATURE_MISMATCH, presigned=True)

    def _check_time(self, when: datetime, expires: str | None) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        skew = timedelta(seconds=self._max_skew)
        minutes = f"{self._max_skew / 60:g} min."
        if expires is not None:
            try:
                seconds = int(expires)
            except ValueError:
                raise _incomplete("X-Amz-Expires should be a number", True) from None
            if not 0 < seconds <= _MAX_EXPIRES:
                raise _incomplete(
                    f"X-Amz-Expires must be between 1 and {_MAX_EXPIRES} seconds", True
                )
            if now > when + timedelta(seconds=seconds):
                raise AuthFailure(FailureKind.EXPIRED, "Request has expired", presigned=True)
            if when - skew > now:
                raise AuthFailure(
                    FailureKind.EXPIRED,
                    "Request is not yet valid", presigned=True,
                )  # fmt: skip
            return
        if when < now - skew:
            raise AuthFailure(
                FailureKind.EXPIRED,
                f"Signature expired: {when.strftime(_ISO)} is now earlier than "
                f"{(now - skew).strftime(_ISO)} ({now.strftime(_ISO)} - {minutes})",
            )
        if when > now + skew:
            raise AuthFailure(
                FailureKind.EXPIRED,
                f"Signature not yet current: {when.strftime(_ISO)} is still later than "
                f"{(now + skew).strftime(_ISO)} ({now.strftime(_ISO)} + {minutes})",
            )

    # Step 2: the signature ----------------------------------------------------------------

    def verify(self, request: Received, signed: SignedRequest, body: bytes | None) -> None:
        """Recompute the signature over ``request`` (and ``body`` when
        ``signed.needs_body``); raise :class:`AuthFailure` unless it matches."""
        if signed.legacy_expires is not None:
            self._verify_legacy_query(request, signed)
            return
        body_hash = hashlib.sha256(body or b"").hexdigest()
        declared = signed.declared_payload
        if declared is not None and _HEX_SHA256.match(declared):
            if body is None:
                raise ValueError("verify() needs the body for a hex X-Amz-Content-SHA256")
            if not hmac.compare_digest(declared, body_hash):
                raise AuthFailure(
                    FailureKind.PAYLOAD_MISMATCH,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    presigned=signed.presigned,
                )
        if declared is None and body is None:
            raise ValueError("verify() needs the body when no payload hash is declared")
        cls = _S3Signer if signed.service == "s3" else _Signer
        signer: Any = cls(self._credentials, signed.service, signed.region)
        signer._declared = signed.signed_headers
        signer._received = request.header_values
        if signed.presigned and signed.service == "s3":
            signer._payload = "UNSIGNED-PAYLOAD"
        else:
            signer._payload = body_hash
        query = request.query
        if signed.presigned:
            query = "&".join(
                item for item in query.split("&") if item.partition("=")[0] != "X-Amz-Signature"
            )
        headers = {}
        if declared is not None:
            headers["X-Amz-Content-SHA256"] = declared
        aws_request = AWSRequest(
            method=request.method,
            url=f"http://local{request.path}" + (f"?{query}" if query else ""),
            headers=headers,
        )
        aws_request.context["timestamp"] = signed.timestamp
        canonical = signer.canonical_request(aws_request)
        string_to_sign = signer.string_to_sign(aws_request, canonical)
        expected = signer.signature(string_to_sign, aws_request)
        if not constant_time_equal(expected, signed.signature):
            raise AuthFailure(
                FailureKind.BAD_SIGNATURE, _SIGNATURE_MISMATCH, presigned=signed.presigned
            )


def header_lookup(pairs: Iterable[tuple[str, str]]) -> Callable[[str], list[str]]:
    """A case-insensitive ``name -> [values]`` lookup over header pairs."""
    table: dict[str, list[str]] = {}
    for name, value in pairs:
        table.setdefault(name.lower(), []).append(value)
    return lambda name: table.get(name.lower(), [])
