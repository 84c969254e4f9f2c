"""One Braket event as a JSON object and back, for feeds that pass events between processes
(the Redis fan-out). The reading side treats the text as untrusted: anything that is not an
event this module wrote is :class:`~braket_async.events._parse.MalformedEvent`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs

from .._converter import parse_timestamp
from ..models.enums import JobStatus, QuantumTaskStatus
from ._parse import MalformedEvent
from ._types import BraketEvent, JobStateChange, TaskStateChange

__all__ = ["event_from_json", "event_to_json"]

_KINDS: dict[str, type[TaskStateChange] | type[JobStateChange]] = {
    "task": TaskStateChange,
    "job": JobStateChange,
}
_TIMES = frozenset({"created_at", "started_at", "ended_at", "event_time"})
_INTS = frozenset({"shots"})


def event_to_json(event: BraketEvent) -> str:
    """``event`` as compact JSON: ``{"kind": "task"|"job", <its fields>}``."""
    fields: dict[str, Any] = {"kind": "task" if isinstance(event, TaskStateChange) else "job"}
    for name, value in attrs.asdict(event, recurse=False).items():
        if value is None:
            continue
        fields[name] = value.isoformat() if isinstance(value, datetime) else str(value)
        if name in _INTS:
            fields[name] = value
    return json.dumps(fields, separators=(",", ":"))


def event_from_json(text: str) -> BraketEvent:
    """The event :func:`event_to_json` wrote; :class:`MalformedEvent` for anything else."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedEvent("an event must be a JSON object")
    kind = _KINDS.get(data.pop("kind", None))
    if kind is None:
        raise MalformedEvent("'kind' must be 'task' or 'job'")
    names = {field.name for field in attrs.fields(kind)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in names:
            continue  # a field of a newer version: ignored
        if name in _INTS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise MalformedEvent(f"{name} must be an integer, got {value!r}")
        elif not isinstance(value, str):
            raise MalformedEvent(f"{name} must be a string, got {type(value).__name__}")
        elif name in _TIMES:
            try:
                value = parse_timestamp(value)
            except (ValueError, OverflowError, TypeError) as exc:
                raise MalformedEvent(f"{name} is not a timestamp: {value!r} ({exc})") from None
        values[name] = value
    arn = "quantum_task_arn" if kind is TaskStateChange else "job_arn"
    if not values.get(arn) or not values.get("status"):
        raise MalformedEvent(f"{arn} and status are required")
    status = QuantumTaskStatus if kind is TaskStateChange else JobStatus
    values["status"] = status(values["status"])
    return kind(**values)
