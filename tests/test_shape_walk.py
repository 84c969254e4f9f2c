"""The one walk over botocore's shapes that the client's and the service's validators share:
one request that breaks several rules, read by the walk, by the client and by the service."""

from __future__ import annotations

from typing import Any

import pytest

from braket_async import errors
from braket_async._service_model import SERVICE_MODEL
from braket_async._shape_walk import Dialect, Rule, StepKind, Violation, compile_shape, steps
from braket_async._validate import validate
from braket_async.local.api._validation import validation_errors

SHAPE = SERVICE_MODEL.operation_model("SearchQuantumTasks").input_shape
BROKEN: dict[str, Any] = {
    "filters": [
        {"name": "status", "operator": "ALMOST", "values": []},
        None,
    ],
    "maxResults": 101,
    "junk": 1,
}


def _violations(value: Any) -> list[Violation]:
    found: list[Violation] = []
    assert SHAPE is not None
    compile_shape(SHAPE, Dialect())(value, None, found.append)
    return found


def test_the_walk_reports_every_broken_rule_with_its_path() -> None:
    seen = [(v.rule, steps(v.path)) for v in _violations(BROKEN)]
    filters = (StepKind.MEMBER, "filters")
    assert seen == [
        (Rule.ENUM, [filters, (StepKind.ITEM, 0), (StepKind.MEMBER, "operator")]),
        (Rule.MIN, [filters, (StepKind.ITEM, 0), (StepKind.MEMBER, "values")]),
        (Rule.NULL, [filters, (StepKind.ITEM, 1)]),
        (Rule.MAX, [(StepKind.MEMBER, "maxResults")]),
        (Rule.UNKNOWN, [(StepKind.MEMBER, "junk")]),
    ]


def test_a_valid_request_breaks_nothing() -> None:
    assert _violations({"filters": [], "maxResults": 5}) == []


def test_the_client_raises_the_first_naming_the_snake_case_field() -> None:
    with pytest.raises(errors.ParameterError) as info:
        validate("SearchQuantumTasks", BROKEN)
    assert info.value.field == "filters[0].operator"
    assert info.value.operation == "SearchQuantumTasks"
    assert "must be one of" in info.value.rule


def test_the_service_words_every_one_but_the_member_it_does_not_know() -> None:
    assert SHAPE is not None
    clauses = validation_errors(SHAPE, BROKEN)
    assert [c.split("' failed")[0].split(" at '")[1] for c in clauses] == [
        "filters.1.member.operator",
        "filters.1.member.values",
        "filters.2.member",
        "maxResults",
    ]
    assert "Member must not be null" in clauses[2]
