"""Validation against botocore's input shapes, worded like the service."""

from __future__ import annotations

from typing import Any

import pytest

from braket_async.local._errors import Validation
from braket_async.local.api._model import service_model
from braket_async.local.api._validation import check_request, validation_errors


def _shape(operation: str) -> Any:
    return service_model().operation_model(operation).input_shape


VALID_TASK = {
    "clientToken": "t-1",
    "deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
    "action": "{}",
    "shots": 10,
    "outputS3Bucket": "bucket",
    "outputS3KeyPrefix": "prefix",
}


def test_valid_request_has_no_errors() -> None:
    assert validation_errors(_shape("CreateQuantumTask"), VALID_TASK) == []


def test_missing_required_members_are_named() -> None:
    with pytest.raises(Validation) as info:
        check_request(_shape("CreateQuantumTask"), {"clientToken": "x"})
    message = info.value.message
    assert message.startswith("5 validation errors detected: ")
    assert "Value null at 'deviceArn' failed to satisfy constraint: Member must not be null" in (
        message
    )
    assert info.value.status == 400 and info.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("member", "value", "clause"),
    [
        (
            "shots",
            -1,
            "Value '-1' at 'shots' failed to satisfy constraint: "
            "Member must have value greater than or equal to 0",
        ),
        ("shots", "10", "at 'shots' failed to satisfy constraint: Member must be of type long"),
        ("shots", True, "Member must be of type long"),
        (
            "outputS3Bucket",
            "ab",
            "Value 'ab' at 'outputS3Bucket' failed to satisfy constraint: "
            "Member must have length greater than or equal to 3",
        ),
        ("outputS3Bucket", "b" * 64, "Member must have length less than or equal to 63"),
        (
            "tags",
            {"k": 1},
            "Value '1' at 'tags.k' failed to satisfy constraint: Member must be of type string",
        ),
        (
            "associations",
            [{"arn": "x", "type": "NOPE"}, {}],
            "Member must have length less than or equal to 1",
        ),
        ("experimentalCapabilities", {}, "have exactly one member set (union)"),
    ],
)
def test_each_rule_is_reported(member: str, value: Any, clause: str) -> None:
    errors = validation_errors(_shape("CreateQuantumTask"), {**VALID_TASK, member: value})
    assert any(clause in e for e in errors), errors


def test_nested_list_members_use_service_paths() -> None:
    errors = validation_errors(
        _shape("SearchQuantumTasks"),
        {"filters": [{"name": "status", "operator": "ALMOST", "values": ["QUEUED"]}]},
    )
    assert errors == [
        "Value 'ALMOST' at 'filters.1.member.operator' failed to satisfy constraint: Member must "
        "satisfy enum value set: [LT, LTE, EQUAL, GT, GTE, BETWEEN]"
    ]


def test_patterns_must_match_the_whole_value() -> None:
    shape = _shape("GetJob")
    assert validation_errors(shape, {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/x"}) == []
    errors = validation_errors(shape, {"jobArn": "not-an-arn"})
    assert len(errors) == 1 and "satisfy regular expression pattern" in errors[0]
    name_errors = validation_errors(_shape("CreateJob"), {"jobName": "bad_name!"})
    assert any("at 'jobName'" in e and "regular expression" in e for e in name_errors)


def test_list_lengths_and_ranges() -> None:
    errors = validation_errors(
        _shape("SearchQuantumTasks"),
        {"filters": [{"name": "status", "operator": "EQUAL", "values": []}], "maxResults": 101},
    )
    assert any(
        "at 'filters.1.member.values'" in e and "greater than or equal to 1" in e for e in errors
    )
    assert any("at 'maxResults'" in e and "less than or equal to 100" in e for e in errors)


def test_timestamps_accept_epoch_and_iso() -> None:
    shape = _shape("CreateSpendingLimit")
    base = {"clientToken": "t", "deviceArn": "d", "spendingLimit": "10.50"}
    ok = {**base, "timePeriod": {"startAt": 1700000000, "endAt": "2030-01-01T00:00:00Z"}}
    assert validation_errors(shape, ok) == []
    bad = {**base, "timePeriod": {"startAt": "yesterday", "endAt": 1}, "spendingLimit": "1.234"}
    errors = validation_errors(shape, bad)
    assert any("timePeriod.startAt" in e for e in errors)
    assert any("at 'spendingLimit'" in e and "regular expression" in e for e in errors)
