"""botocore's Braket service model, seen from the server side.

The route table and the request parsing are derived from the model (``http.requestUri``,
``http.method``, ``responseCode`` and each member's ``location``), so the server has one
generic dispatcher and no hand-written parser per operation. Responses are rendered by
walking the operation's output shape (timestamps formatted per ``timestampFormat``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import attrs
from botocore.model import OperationModel, ServiceModel, Shape

from .._service_model import SERVICE_MODEL

__all__ = [
    "Route",
    "find_route",
    "parse_request_params",
    "render_output",
    "routes",
    "service_model",
]

_LABEL = re.compile(r"\{([^}]+)\}")


def service_model() -> ServiceModel:
    """The Braket service model shipped with botocore (the client's, loaded once)."""
    return SERVICE_MODEL


@attrs.frozen
class Route:
    """One operation's HTTP binding: ``method`` + ``pattern`` (matched on the raw path)."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    status: int

    @property
    def model(self) -> OperationModel:
        """The botocore operation model."""
        return service_model().operation_model(self.operation)


def _compile(uri: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    labels: list[str] = []
    parts: list[str] = []
    pos = 0
    for m in _LABEL.finditer(uri):
        parts.append(re.escape(uri[pos : m.start()]))
        name = m.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        labels.append(name)
        # Labels are percent-encoded by the client, so ARNs never contain a raw '/'.
        parts.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(uri[pos:]))
    return re.compile("".join(parts) + r"/?\Z"), tuple(labels)


@functools.cache
def routes() -> tuple[Route, ...]:
    """The route table for every operation in the model."""
    model = service_model()
    table: list[Route] = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http["requestUri"].split("?", 1)[0]
        pattern, labels = _compile(uri)
        table.append(
            Route(
                operation=name,
                method=op.http["method"].upper(),
                pattern=pattern,
                labels=labels,
                status=int(op.http.get("responseCode", 200)),
            )
        )
    return tuple(table)


def find_route(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method`` and the raw (still percent-encoded) path, with its labels.

    Returns ``None`` when nothing matches; a path match under another method still
    returns ``None`` (the server answers 404 either way, like API Gateway fronted services).
    """
    for route in routes():
        if route.method != method.upper():
            continue
        m = route.pattern.match(raw_path)
        if m is not None:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def parse_request_params(
    route: Route,
    labels: Mapping[str, str],
    query: Mapping[str, list[str]],
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Collect the operation's input members from path labels, query string and JSON body.

    Values keep their wire form; type checks are the validator's job. Unknown body members
    are dropped (the service ignores them).
    """
    shape = route.model.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", member_name)
        if location == "uri":
            if wire_name in labels:
                params[member_name] = labels[wire_name]
        elif location == "querystring":
            values = query.get(wire_name)
            if values:
                params[member_name] = list(values) if member.type_name == "list" else values[0]
        elif location in ("header", "headers"):
            continue  # Braket has no header-bound members
        elif member_name in body:
            params[member_name] = body[member_name]
    return params


def _format_timestamp(value: datetime | float | int, fmt: str) -> str | float | int:
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        if fmt == "unixTimestamp":
            return int(value.timestamp()) if value.microsecond == 0 else value.timestamp()
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if fmt == "unixTimestamp":
        return value
    return _format_timestamp(datetime.fromtimestamp(value, UTC), fmt)


def render_output(shape: Shape | None, value: Any) -> Any:
    """Render ``value`` for the wire per ``shape``: timestamps formatted, ``None`` dropped."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        members = shape.members
        for key, item in value.items():
            if item is None:
                continue
            member = members.get(key)
            out[key] = render_output(member, item) if member is not None else item
        return out
    if kind == "list":
        return [render_output(shape.member, item) for item in value]
    if kind == "map":
        return {k: render_output(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "iso8601")
        return _format_timestamp(value, fmt)
    return value
