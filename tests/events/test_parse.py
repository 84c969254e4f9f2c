"""Parsing EventBridge envelopes: Braket's documented example, job events, hostile bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from braket_async.events import JobStateChange, TaskStateChange
from braket_async.events._parse import MalformedEvent, parse_message
from braket_async.models import JobStatus, QuantumTaskStatus

#: The example event of the Braket developer guide ("Monitoring quantum tasks with
#: EventBridge"), verbatim.
DOCUMENTED_EXAMPLE = {
    "version": "0",
    "id": "6101452d-8caf-062b-6dbc-ceb5421334c5",
    "detail-type": "Braket Task State Change",
    "source": "aws.braket",
    "account": "012345678901",
    "time": "2021-10-28T01:17:45Z",
    "region": "us-east-1",
    "resources": [
        "arn:aws:braket:us-east-1:012345678901:quantum-task/834b21ed-77a7-4b36-a90c-c776afc9a71e"
    ],
    "detail": {
        "quantumTaskArn": "arn:aws:braket:us-east-1:012345678901:quantum-task/"
        "834b21ed-77a7-4b36-a90c-c776afc9a71e",
        "status": "COMPLETED",
        "deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        "shots": "100",
        "outputS3Bucket": "amazon-braket-0260a8bc871e",
        "outputS3Directory": "sns-testing/834b21ed-77a7-4b36-a90c-c776afc9a71e",
        "createdAt": "2021-10-28T01:17:42.898Z",
        "eventName": "MODIFY",
        "endedAt": "2021-10-28T01:17:44.735Z",
    },
}


def _with_detail(**members: object) -> str:
    detail = {**DOCUMENTED_EXAMPLE["detail"], **members}  # type: ignore[dict-item]
    return json.dumps({**DOCUMENTED_EXAMPLE, "detail": detail})


def test_the_documented_example_parses_field_by_field() -> None:
    parsed = parse_message(json.dumps(DOCUMENTED_EXAMPLE))
    assert parsed.event == TaskStateChange(
        quantum_task_arn=DOCUMENTED_EXAMPLE["detail"]["quantumTaskArn"],  # type: ignore[index]
        status=QuantumTaskStatus.COMPLETED,
        device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        shots=100,
        output_s3_bucket="amazon-braket-0260a8bc871e",
        output_s3_directory="sns-testing/834b21ed-77a7-4b36-a90c-c776afc9a71e",
        created_at=datetime(2021, 10, 28, 1, 17, 42, 898000, tzinfo=UTC),
        ended_at=datetime(2021, 10, 28, 1, 17, 44, 735000, tzinfo=UTC),
        event_id="6101452d-8caf-062b-6dbc-ceb5421334c5",
        event_time=datetime(2021, 10, 28, 1, 17, 45, tzinfo=UTC),
    )
    assert parsed.keys[0] == "id:6101452d-8caf-062b-6dbc-ceb5421334c5"


def test_the_same_change_under_another_id_has_the_same_content_key() -> None:
    again = {**DOCUMENTED_EXAMPLE, "id": "other", "time": "2021-10-28T01:17:50Z"}
    first, second = parse_message(json.dumps(DOCUMENTED_EXAMPLE)), parse_message(json.dumps(again))
    assert first.keys[0] != second.keys[0] and first.keys[1] == second.keys[1]


def test_a_job_event_and_an_unknown_status() -> None:
    body = {
        "id": "j1",
        "detail-type": "Braket Job State Change",
        "source": "aws.braket",
        "time": "2026-01-01T00:00:00Z",
        "resources": ["arn:aws:braket:us-east-1:123456789012:job/j"],
        "detail": {
            "jobArn": "arn:aws:braket:us-east-1:123456789012:job/j",
            "jobName": "j",
            "status": "PAUSED",
            "startedAt": "2026-01-01T00:00:00.500Z",
        },
    }
    event = parse_message(json.dumps(body)).event
    assert isinstance(event, JobStateChange)
    assert event.status == JobStatus("PAUSED") and not event.status.is_known
    assert event.started_at == datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    # The ARN falls back to the envelope's resources when the detail lacks it.
    del body["detail"]["jobArn"]  # type: ignore[attr-defined]
    fallback = parse_message(json.dumps(body)).event
    assert isinstance(fallback, JobStateChange) and fallback.job_arn.endswith("job/j")


def test_other_sources_and_detail_types_are_not_events() -> None:
    qpu = {**DOCUMENTED_EXAMPLE, "detail-type": "Braket QPU Status Change"}
    assert parse_message(json.dumps(qpu)).event is None
    spoofed = {**DOCUMENTED_EXAMPLE, "source": "my.app"}
    assert parse_message(json.dumps(spoofed)).event is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "body is not JSON"),
        ("[1, 2]", "body must be a JSON object"),
        ("[" * 100_000, "body is not JSON"),
        (json.dumps({**DOCUMENTED_EXAMPLE, "detail": []}), "'detail' must be an object"),
        (
            json.dumps({**DOCUMENTED_EXAMPLE, "detail": {"status": "COMPLETED"}, "resources": []}),
            "detail.quantumTaskArn must be a non-empty string",
        ),
        (_with_detail(shots=1.5), "detail.shots must be an integer"),
        (_with_detail(endedAt="soon"), "detail.endedAt is not a timestamp"),
        (json.dumps({**DOCUMENTED_EXAMPLE, "id": 7}), "envelope.id must be a string"),
        (
            json.dumps({"Type": "Notification", "Message": "not json"}),
            "SNS Message is not JSON",
        ),
        ("x" * 300_000, "larger than SQS allows"),
    ],
)
def test_malformed_bodies_are_reported(body: str, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        parse_message(body)


def _reordered(document: dict[str, object]) -> dict[str, object]:
    return dict(reversed(list(document.items())))


def test_the_content_key_ignores_member_order_and_tells_changes_apart() -> None:
    detail = DOCUMENTED_EXAMPLE["detail"]
    assert isinstance(detail, dict)
    same = {**DOCUMENTED_EXAMPLE, "id": "other", "detail": _reordered(detail)}
    running = {**DOCUMENTED_EXAMPLE, "id": "third", "detail": {**detail, "status": "RUNNING"}}
    shots_as_number = {**DOCUMENTED_EXAMPLE, "detail": {**detail, "shots": 100}}
    first = parse_message(json.dumps(DOCUMENTED_EXAMPLE)).keys[1]
    assert parse_message(json.dumps(same)).keys[1] == first
    assert parse_message(json.dumps(running)).keys[1] != first
    assert parse_message(json.dumps(shots_as_number)).keys[1] != first
    # the same event under no id: one key, the content's
    no_id = {k: v for k, v in DOCUMENTED_EXAMPLE.items() if k != "id"}
    assert parse_message(json.dumps(no_id)).keys == (first,)


def test_a_detail_with_nested_members_is_keyed_by_its_canonical_json() -> None:
    detail = {**DOCUMENTED_EXAMPLE["detail"], "extra": {"b": [1, 2], "a": None}}  # type: ignore[dict-item]
    body = {**DOCUMENTED_EXAMPLE, "detail": detail}
    reordered = {**body, "detail": {**_reordered(detail), "extra": {"a": None, "b": [1, 2]}}}
    other = {**body, "detail": {**detail, "extra": {"b": [2, 1], "a": None}}}
    key = parse_message(json.dumps(body)).keys[1]
    assert len(key) == len("content:") + 64  # a SHA-256
    assert parse_message(json.dumps(reordered)).keys[1] == key
    assert parse_message(json.dumps(other)).keys[1] != key
    assert (
        parse_message(json.dumps(body)).event == parse_message(json.dumps(DOCUMENTED_EXAMPLE)).event
    )


def test_every_job_member_is_read() -> None:
    body = {
        "id": "j2",
        "detail-type": "Braket Job State Change",
        "source": "aws.braket",
        "time": "2026-01-01T00:00:09Z",
        "resources": [],
        "detail": {
            "jobArn": "arn:aws:braket:us-east-1:123456789012:job/k",
            "jobName": "k",
            "status": "FAILED",
            "failureReason": "out of memory",
            "createdAt": "2026-01-01T00:00:01Z",
            "startedAt": "2026-01-01T00:00:02Z",
            "endedAt": "2026-01-01T00:00:08Z",
        },
    }
    assert parse_message(json.dumps(body)).event == JobStateChange(
        job_arn="arn:aws:braket:us-east-1:123456789012:job/k",
        status=JobStatus.FAILED,
        job_name="k",
        failure_reason="out of memory",
        created_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
        started_at=datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC),
        ended_at=datetime(2026, 1, 1, 0, 0, 8, tzinfo=UTC),
        event_id="j2",
        event_time=datetime(2026, 1, 1, 0, 0, 9, tzinfo=UTC),
    )
    with pytest.raises(MalformedEvent, match=r"detail\.failureReason must be a string"):
        parse_message(json.dumps({**body, "detail": {**body["detail"], "failureReason": 3}}))  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        # several bad members: the first in the event's field order is the one reported
        ({"status": 5, "shots": "many"}, "detail.status must be a non-empty string"),
        ({"shots": "many", "endedAt": "soon"}, "detail.shots must be an integer"),
        ({"deviceArn": 1, "shots": "many"}, "detail.deviceArn must be a string"),
        ({"createdAt": 12, "endedAt": "soon"}, "detail.createdAt must be an ISO-8601 string"),
    ],
)
def test_the_first_bad_member_is_reported(members: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        parse_message(_with_detail(**members))


def test_a_bad_envelope_member_is_reported_before_the_detail() -> None:
    body = json.loads(_with_detail(shots="many"))
    with pytest.raises(MalformedEvent, match=r"envelope\.time is not a timestamp"):
        parse_message(json.dumps({**body, "time": "yesterday"}))
