"""The route table and request/response mapping derived from botocore's model."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from braket_async.local.api._model import (
    find_route,
    parse_request_params,
    render_output,
    routes,
    service_model,
)

TASK_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/5b1c2f4e-0000-4000-8000-000000000000"


def test_every_operation_has_one_route() -> None:
    table = {r.operation: r for r in routes()}
    assert set(table) == set(service_model().operation_names)
    assert len(table) == 17
    assert (table["CreateQuantumTask"].method, table["CreateQuantumTask"].status) == ("POST", 201)
    assert table["UpdateSpendingLimit"].method == "PATCH"
    assert table["UntagResource"].method == "DELETE"


@pytest.mark.parametrize(
    ("method", "path", "operation", "labels"),
    [
        (
            "GET",
            f"/quantum-task/{quote(TASK_ARN, safe='')}",
            "GetQuantumTask",
            {"quantumTaskArn": TASK_ARN},
        ),
        (
            "PUT",
            f"/quantum-task/{quote(TASK_ARN, safe='')}/cancel",
            "CancelQuantumTask",
            {"quantumTaskArn": TASK_ARN},
        ),
        ("POST", "/quantum-task", "CreateQuantumTask", {}),
        ("POST", "/quantum-tasks", "SearchQuantumTasks", {}),
        (
            "GET",
            f"/tags/{quote(TASK_ARN, safe='')}",
            "ListTagsForResource",
            {"resourceArn": TASK_ARN},
        ),
        ("DELETE", f"/tags/{quote(TASK_ARN, safe='')}", "UntagResource", {"resourceArn": TASK_ARN}),
    ],
)
def test_find_route_matches_raw_percent_encoded_paths(
    method: str, path: str, operation: str, labels: dict[str, str]
) -> None:
    found = find_route(method, path)
    assert found is not None
    route, got = found
    assert route.operation == operation
    assert got == labels


def test_find_route_refuses_unknown_paths_and_methods() -> None:
    assert find_route("GET", "/nope") is None
    assert find_route("DELETE", "/quantum-task") is None
    # An unencoded '/' inside a label does not match a single-segment label.
    assert find_route("GET", f"/quantum-task/{TASK_ARN}") is None


def test_parse_request_params_reads_each_location() -> None:
    route, labels = find_route("GET", f"/quantum-task/{quote(TASK_ARN, safe='')}") or (None, {})
    assert route is not None
    params = parse_request_params(
        route, labels, {"additionalAttributeNames": ["QueueInfo"]}, {"ignored": 1}
    )
    assert params == {"quantumTaskArn": TASK_ARN, "additionalAttributeNames": ["QueueInfo"]}


def test_render_output_formats_timestamps_per_shape() -> None:
    op = service_model().operation_model("SearchSpendingLimits")
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    out = render_output(
        op.output_shape,
        {
            "spendingLimits": [
                {
                    "createdAt": when,
                    "timePeriod": {"startAt": when.replace(microsecond=0), "endAt": when},
                    "tags": {},
                    "nextThing": None,
                }
            ],
            "nextToken": None,
        },
    )
    item = out["spendingLimits"][0]
    assert item["createdAt"] == "2024-05-06T07:08:09.123Z"  # iso8601 shape
    assert item["timePeriod"]["startAt"] == int(when.replace(microsecond=0).timestamp())
    assert item["timePeriod"]["endAt"] == pytest.approx(when.timestamp())  # unixTimestamp
    assert "nextToken" not in out and "nextThing" not in item
