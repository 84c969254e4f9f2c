"""EventBridge envelopes (as an SQS message body) -> :class:`TaskStateChange` /
:class:`JobStateChange`.

The body is the event EventBridge delivered to the queue (see ``docs/events.md`` for the
shape), or an SNS notification wrapping it (a queue subscribed to an SNS topic without raw
message delivery). Every byte is untrusted: anything that is not a well-formed Braket event
of a known detail-type is reported, never raised past the feed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from .._converter import parse_timestamp
from ..models.enums import JobStatus, QuantumTaskStatus
from ._types import BraketEvent, JobStateChange, TaskStateChange

__all__ = [
    "JOB_DETAIL_TYPE",
    "SOURCE",
    "TASK_DETAIL_TYPE",
    "MalformedEvent",
    "ParsedMessage",
    "parse_message",
]

SOURCE = "aws.braket"
TASK_DETAIL_TYPE = "Braket Task State Change"
JOB_DETAIL_TYPE = "Braket Job State Change"
#: Bodies larger than SQS's own limit (256 KiB) are not parsed.
_MAX_BODY = 262_144

T = TypeVar("T")


class MalformedEvent(ValueError):
    """A message body that is not a well-formed Braket state-change event."""


@attrs.frozen
class ParsedMessage:
    """What one message held: an ``event`` (None for an event of another kind) and the keys
    that identify it for de-duplication (its envelope id, and a key of its content, which
    also matches a re-publication of the same change under a new id)."""

    event: BraketEvent | None
    keys: tuple[str, ...] = ()


#: A message of another kind (one value: nothing to build per message).
_NOT_AN_EVENT = ParsedMessage(None)

#: The optional members of each detail-type: (detail key, event field, reader), read in this
#: order (so the first bad member is the one reported).
_TASK_MEMBERS: tuple[tuple[str, str, Callable[[Any, str], Any]], ...]
_JOB_MEMBERS: tuple[tuple[str, str, Callable[[Any, str], Any]], ...]


def parse_message(body: str) -> ParsedMessage:
    """Parse one SQS message body; raise :class:`MalformedEvent` when it cannot be read."""
    if len(body) > _MAX_BODY:
        raise MalformedEvent(f"body of {len(body)} characters is larger than SQS allows")
    envelope = _json_object(body, "body")
    if envelope.get("Type") == "Notification" and isinstance(envelope.get("Message"), str):
        envelope = _json_object(envelope["Message"], "SNS Message")
    detail_type = envelope.get("detail-type")
    if detail_type == TASK_DETAIL_TYPE:
        arn_key, members = "quantumTaskArn", _TASK_MEMBERS
    elif detail_type == JOB_DETAIL_TYPE:
        arn_key, members = "jobArn", _JOB_MEMBERS
    else:
        return _NOT_AN_EVENT
    if envelope.get("source") != SOURCE:
        return _NOT_AN_EVENT
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent(f"{detail_type}: 'detail' must be an object")
    event_id = _optional(envelope, "id", _str, "envelope")
    event_time = _optional(envelope, "time", _time, "envelope")
    arn = _required_str(detail, arn_key, _resource_arn(envelope))
    status = _required_str(detail, "status", None)
    values: dict[str, Any] = {"event_id": event_id, "event_time": event_time}
    for key, name, read in members:
        value = detail.get(key)
        if value is not None:
            values[name] = read(value, f"detail.{key}")
    event: BraketEvent
    if detail_type == TASK_DETAIL_TYPE:
        event = TaskStateChange(arn, QuantumTaskStatus(status), **values)
    else:
        event = JobStateChange(arn, JobStatus(status), **values)
    content = f"content:{_content_key(detail_type, detail)}"
    keys = (content,) if event_id is None else (f"id:{event_id}", content)
    return ParsedMessage(event, keys)


def _content_key(detail_type: str, detail: dict[str, Any]) -> str:
    """A key of the detail's content, the same for every member order.

    A detail of scalar members (Braket's are) is keyed by Python's 64-bit hash of its members
    (a fifth of the cost of canonical JSON plus SHA-256, which keys any other detail). String
    hashes are salted per process (unless ``PYTHONHASHSEED`` fixes them), so a sender cannot
    aim two contents at one key; by chance two changes among the remembered ones share a key
    about once in 10^15 events. A shared key drops one event as a repeat, which the tracker's
    safety-net sweep covers, as it covers a lost event."""
    try:
        return format(hash((detail_type, frozenset(detail.items()))) & _HASH_MASK, "x")
    except TypeError:  # a member that is a list or an object
        text = json.dumps([detail_type, detail], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


_HASH_MASK = (1 << 64) - 1


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedEvent(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _resource_arn(envelope: dict[str, Any]) -> str | None:
    resources = envelope.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], str):
        return resources[0]
    return None


def _required_str(detail: dict[str, Any], key: str, fallback: str | None) -> str:
    value = detail.get(key, fallback)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"detail.{key} must be a non-empty string, got {value!r}")
    return value


def _optional(
    doc: dict[str, Any], key: str, read: Callable[[Any, str], T], where: str = "detail"
) -> T | None:
    """``doc[key]`` read by ``read`` (which names ``where.key`` in its error); None if absent."""
    value = doc.get(key)
    return None if value is None else read(value, f"{where}.{key}")


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedEvent(f"{name} must be a string, got {type(value).__name__}")
    return value


def _int(value: Any, name: str) -> int:
    # Braket's example sends shots as a string ("100"); accept a number as well.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedEvent(f"{name} must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise MalformedEvent(f"{name} must be an integer, got {value!r}") from None


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedEvent(f"{name} must be an ISO-8601 string, got {value!r}")
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, TypeError) as exc:
        raise MalformedEvent(f"{name} is not a timestamp: {value!r} ({exc})") from None


_TASK_MEMBERS = (
    ("deviceArn", "device_arn", _str),
    ("shots", "shots", _int),
    ("outputS3Bucket", "output_s3_bucket", _str),
    ("outputS3Directory", "output_s3_directory", _str),
    ("createdAt", "created_at", _time),
    ("endedAt", "ended_at", _time),
)
_JOB_MEMBERS = (
    ("jobName", "job_name", _str),
    ("failureReason", "failure_reason", _str),
    ("createdAt", "created_at", _time),
    ("startedAt", "started_at", _time),
    ("endedAt", "ended_at", _time),
)
