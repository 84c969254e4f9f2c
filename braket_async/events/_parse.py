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
    that identify it for de-duplication (its envelope id, and a digest of its content, which
    also matches a re-publication of the same change under a new id)."""

    event: BraketEvent | None
    keys: tuple[str, ...] = ()


def parse_message(body: str) -> ParsedMessage:
    """Parse one SQS message body; raise :class:`MalformedEvent` when it cannot be read."""
    if len(body) > _MAX_BODY:
        raise MalformedEvent(f"body of {len(body)} characters is larger than SQS allows")
    envelope = _json_object(body, "body")
    if envelope.get("Type") == "Notification" and isinstance(envelope.get("Message"), str):
        envelope = _json_object(envelope["Message"], "SNS Message")
    detail_type = envelope.get("detail-type")
    if envelope.get("source") != SOURCE or detail_type not in (TASK_DETAIL_TYPE, JOB_DETAIL_TYPE):
        return ParsedMessage(None)
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent(f"{detail_type}: 'detail' must be an object")
    event_id = _optional(envelope, "id", _str, "envelope")
    event_time = _optional(envelope, "time", _time, "envelope")
    arn = _resource_arn(envelope)
    event: BraketEvent
    if detail_type == TASK_DETAIL_TYPE:
        event = TaskStateChange(
            quantum_task_arn=_required_str(detail, "quantumTaskArn", arn),
            status=QuantumTaskStatus(_required_str(detail, "status", None)),
            device_arn=_optional(detail, "deviceArn", _str),
            shots=_optional(detail, "shots", _int),
            output_s3_bucket=_optional(detail, "outputS3Bucket", _str),
            output_s3_directory=_optional(detail, "outputS3Directory", _str),
            created_at=_optional(detail, "createdAt", _time),
            ended_at=_optional(detail, "endedAt", _time),
            event_id=event_id,
            event_time=event_time,
        )
    else:
        event = JobStateChange(
            job_arn=_required_str(detail, "jobArn", arn),
            status=JobStatus(_required_str(detail, "status", None)),
            job_name=_optional(detail, "jobName", _str),
            failure_reason=_optional(detail, "failureReason", _str),
            created_at=_optional(detail, "createdAt", _time),
            started_at=_optional(detail, "startedAt", _time),
            ended_at=_optional(detail, "endedAt", _time),
            event_id=event_id,
            event_time=event_time,
        )
    digest = hashlib.sha256(
        json.dumps([detail_type, detail], sort_keys=True, default=str).encode()
    ).hexdigest()
    keys = (f"content:{digest}",) if event_id is None else (f"id:{event_id}", f"content:{digest}")
    return ParsedMessage(event, keys)


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
