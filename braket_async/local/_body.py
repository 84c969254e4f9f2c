"""Request bodies of the local service: size limit, content type, JSON with a depth limit.

Shared by the Braket routes and the ``/_local/*`` control routes, so both answer an oversized
or over-nested body with the same non-retryable 4xx and a JSON error body (never a 500).
:func:`load_json` (from ``braket_async._json``, the bound the client shares) is the one
depth-bounded JSON reader of caller input: the body itself and the JSON documents embedded in
its strings (``action``, ``deviceParameters``) go through it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._json import MAX_JSON_DEPTH, JsonRejected, load_json
from ._errors import RequestTooLarge, Serialization, UnsupportedMediaType

__all__ = [
    "JSON_MEDIA_TYPE",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "JsonRejected",
    "check_content_length",
    "check_json_content_type",
    "load_json",
    "parse_json",
    "parse_json_object",
    "read_body",
]

#: Largest request body accepted: API Gateway's 10 MB payload limit for REST APIs.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: The media type of every Braket request body (rest-json).
JSON_MEDIA_TYPE = "application/json"


def _too_large() -> RequestTooLarge:
    return RequestTooLarge(f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.")


def check_content_length(request: web.Request) -> None:
    """Refuse a declared ``Content-Length`` above the limit before reading a byte."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise _too_large()


async def read_body(request: web.Request) -> bytes:
    """The whole body, at most :data:`MAX_BODY_BYTES` (413 RequestTooLargeException beyond).

    The application's ``client_max_size`` is the same limit, which also covers chunked bodies
    that declare no length.
    """
    check_content_length(request)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None


def check_json_content_type(request: web.Request, body: bytes) -> None:
    """A request with a body must say ``Content-Type: application/json`` (parameters such as
    ``charset`` allowed): 415 UnsupportedMediaTypeException otherwise (restJson1)."""
    if not body:
        return
    media_type = request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        shown = media_type or "none"
        raise UnsupportedMediaType(
            f"Unsupported Media Type: the body must be {JSON_MEDIA_TYPE}, got {shown}"
        )


def parse_json(raw: bytes, *, what: str = "Request body") -> Any:
    """``raw`` as JSON (``{}`` when blank); 400 SerializationException when it is not JSON or
    is nested deeper than :data:`MAX_JSON_DEPTH`."""
    if not raw.strip():
        return {}
    try:
        return load_json(raw)
    except JsonRejected as exc:
        raise Serialization(f"{what} is {exc.reason}") from None


def parse_json_object(raw: bytes, *, what: str = "Request body") -> dict[str, Any]:
    """:func:`parse_json`, and the document must be a JSON object."""
    doc = parse_json(raw, what=what)
    if not isinstance(doc, dict):
        raise Serialization(f"{what} must be a JSON object")
    return doc
