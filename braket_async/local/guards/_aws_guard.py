"""WSGI middleware in front of the embedded moto server: signed requests only, no browsers.

moto's server accepts any request (its optional IAM authentication is process-global, needs
IAM users created in moto and does not cover every service) and adds
``Access-Control-Allow-Origin: *`` to its answers (flask-cors). In front of it this
middleware:

- refuses requests that only a web browser sends (``_guard.browser_refusal``) and every
  ``OPTIONS`` preflight;
- verifies SigV4 (header or presigned query, :mod:`._sigv4`) with the service's credentials
  for every service on the port (S3, CloudWatch Logs, STS, IAM, ...): the region and service
  come from the credential scope; S3's ``UNSIGNED-PAYLOAD`` / ``STREAMING-*`` payload hashes
  are signed literals; a hex payload hash must match the body;
- strips every ``Access-Control-*`` header from moto's responses.

Refusals are rendered in the protocol of the service asked (S3 XML, query XML for STS/IAM,
JSON otherwise) with that service's codes; see ``docs/security.md``.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from .._errors import AccessDenied
from ._guard import AUTH_ERRORS, browser_refusal
from ._sigv4 import AuthFailure, FailureKind, Received, SigV4Verifier, header_lookup

__all__ = ["SignedOnly"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_QUERY_SERVICES = frozenset({"sts", "iam"})
_ACCESS_DENIED = "access_denied"  # a refusal that is not a FailureKind (browser, expired URL)

#: (code, HTTP status, message or None to keep the verifier's) per protocol and failure.
_S3: dict[object, tuple[str, int, str | None]] = {
    FailureKind.MISSING: ("AccessDenied", 403, "Access Denied"),
    FailureKind.INCOMPLETE: ("AuthorizationHeaderMalformed", 400, None),
    FailureKind.UNKNOWN_KEY: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    FailureKind.BAD_SIGNATURE: (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    FailureKind.EXPIRED: (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
    FailureKind.PAYLOAD_MISMATCH: ("XAmzContentSHA256Mismatch", 400, None),
    _ACCESS_DENIED: ("AccessDenied", 403, None),
}
_QUERY: dict[object, tuple[str, int, str | None]] = {
    FailureKind.MISSING: (
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    ),
    FailureKind.INCOMPLETE: ("IncompleteSignature", 400, None),
    FailureKind.UNKNOWN_KEY: ("InvalidClientTokenId", 403, None),
    FailureKind.BAD_SIGNATURE: ("SignatureDoesNotMatch", 403, None),
    FailureKind.EXPIRED: ("SignatureDoesNotMatch", 403, None),
    FailureKind.PAYLOAD_MISMATCH: ("SignatureDoesNotMatch", 403, None),
    _ACCESS_DENIED: ("AccessDenied", 403, None),
}
_JSON: dict[object, tuple[str, int, str | None]] = {
    **{kind: (error.code, error.status, None) for kind, error in AUTH_ERRORS.items()},
    _ACCESS_DENIED: (AccessDenied.code, AccessDenied.status, None),
}


def _header_pairs(environ: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-"), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            pairs.append((key.replace("_", "-"), str(value)))
    return pairs


def _protocol_of(service: str | None, header: Callable[[str], str | None]) -> str:
    if service is not None:
        if service == "s3":
            return "s3"
        return "query" if service in _QUERY_SERVICES else "json"
    # Unsigned: guess from the request's shape, as moto's dispatcher would.
    if header("X-Amz-Target") is not None:
        return "json"
    if (header("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return "s3"


def _s3_error(code: str, message: str, extra: str = "") -> bytes:
    """S3's XML error document; ``extra`` is trusted XML (no request data) after the message."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}</Error>"
    ).encode()


def _render(protocol: str, kind: object, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    table = {"s3": _S3, "query": _QUERY, "json": _JSON}[protocol]
    code, status, fixed = table[kind]
    text = fixed or message
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": code, "message": text}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        body = _s3_error(code, text, f"<RequestId>{request_id}</RequestId>")
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    headers.append(("Content-Length", str(len(body))))
    reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Error")
    return f"{status} {reason}", headers, body


class SignedOnly:
    """Wraps a WSGI ``app``: only requests signed with ``verifier``'s key pair reach it.

    ``listen_host`` is the address the server is bound to (for the ``Host`` check).
    """

    def __init__(self, app: WsgiApp, verifier: SigV4Verifier, listen_host: str) -> None:
        self._app = app
        self._verifier = verifier
        self._listen_host = listen_host

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        lookup = header_lookup(_header_pairs(environ))

        def header(name: str) -> str | None:
            values = lookup(name)
            return values[0] if values else None

        refusal = browser_refusal(header, self._listen_host)
        if refusal is not None:
            return self._refuse(start_response, _protocol_of(None, header), _ACCESS_DENIED, refusal)
        raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
        path = raw_uri.partition("?")[0] if raw_uri else quote(environ.get("PATH_INFO", "/"))
        received = Received(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            path=path or "/",
            query=str(environ.get("QUERY_STRING", "")),
            header_values=lookup,
        )
        protocol = _protocol_of(None, header)
        try:
            signed = self._verifier.check(received)
            protocol = _protocol_of(signed.service, header)
            body = self._read_body(environ) if signed.needs_body else None
            self._verifier.verify(received, signed, body)
        except AuthFailure as failure:
            kind: object = failure.kind
            message = failure.message
            if protocol == "s3" and failure.presigned:
                if failure.kind is FailureKind.EXPIRED:
                    kind, message = _ACCESS_DENIED, "Request has expired"  # AccessDenied
                elif failure.kind is FailureKind.INCOMPLETE:
                    return self._refuse_raw(
                        start_response, "AuthorizationQueryParametersError", message
                    )
            return self._refuse(start_response, protocol, kind, message)

        def without_cors(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *args)

        return self._app(environ, without_cors)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        from werkzeug.wsgi import get_input_stream

        body: bytes = get_input_stream(environ).read()
        # moto reads the body again: hand it a fresh stream of the bytes read here.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        return body

    @staticmethod
    def _refuse(
        start_response: StartResponse, protocol: str, kind: object, message: str
    ) -> Iterable[bytes]:
        status, headers, body = _render(protocol, kind, message)
        start_response(status, headers)
        return [body]

    @staticmethod
    def _refuse_raw(start_response: StartResponse, code: str, message: str) -> Iterable[bytes]:
        body = _s3_error(code, message)
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]
