"""Request bodies of the local service: size limit, content type, JSON with a depth limit.

Shared by the Braket routes and the ``/_local/*`` control routes, so both answer an oversized
or over-nested body with the same non-retryable 4xx and a JSON error body (never a 500).
:func:`load_json` is the one depth-bounded JSON reader of caller input: the body itself and the
JSON documents embedded in its strings (``action``, ``deviceParameters``) go through it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

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
#: Deepest JSON nesting accepted. Braket's deepest request shape nests 4 levels; a bound far
#: above that keeps a hostile body from exhausting the parser's stack or the validator's time.
MAX_JSON_DEPTH = 64
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


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative: a recursive walk is exactly what a deep document would break.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if not isinstance(node, dict | list):
            continue  # a scalar document (``null``, ``1``, ``"x"``) has no children
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class JsonRejected(ValueError):
    """Caller JSON that is not JSON, or is nested deeper than the limit (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _too_deep(max_depth: int) -> JsonRejected:
    return JsonRejected(f"nested too deeply: at most {max_depth} levels of JSON objects and arrays")


def load_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``text`` as JSON, nested at most ``max_depth`` levels; :class:`JsonRejected` otherwise.

    A document too deep for the parser's recursion (RecursionError) is rejected like one that
    parses and is then found too deep, so no caller JSON can reach a recursive walk later.
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise JsonRejected(f"not valid JSON: {exc}") from None
    if _depth_exceeds(doc, max_depth):
        raise _too_deep(max_depth)
    return doc


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
