"""Search filter models: enum-valued members take the enums or their values, and refuse
unknown ones before the network (the service would answer an empty page, not an error)."""

from __future__ import annotations

from typing import get_args

import pytest

from braket_async import ParameterError
from braket_async._validate import SERVICE_MODEL
from braket_async.models import (
    DeviceFilter,
    FilterOperator,
    JobFilter,
    QuantumTaskFilter,
    QuantumTaskStatus,
    SpendingLimitFilter,
)
from braket_async.models import search as search_models

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def test_status_filter_takes_enum_members_and_their_values() -> None:
    assert QuantumTaskFilter.status(QuantumTaskStatus.QUEUED, "RUNNING").values == (
        "QUEUED",
        "RUNNING",
    )


def test_unknown_status_names_the_allowed_ones() -> None:
    with pytest.raises(ParameterError) as caught:
        QuantumTaskFilter.status("COMPLETD")
    assert caught.value.field == "QuantumTaskFilter.values"
    for status in QuantumTaskStatus:
        assert status.value in caught.value.rule
    assert "'COMPLETD'" in caught.value.rule


def test_status_values_are_checked_however_the_filter_is_built() -> None:
    with pytest.raises(ParameterError, match="COMPLETD"):
        QuantumTaskFilter("status", "EQUAL", ["COMPLETED", "COMPLETD"])


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: QuantumTaskFilter("Status", "EQUAL", ["COMPLETED"]), "QuantumTaskFilter.name"),
        (lambda: QuantumTaskFilter("status", "CONTAINS", ["X"]), "QuantumTaskFilter.operator"),
        (lambda: QuantumTaskFilter("status", "EQUALS", ["X"]), "QuantumTaskFilter.operator"),
        (lambda: JobFilter("deviceArn", "EQUAL", [SV1]), "JobFilter.name"),
        (lambda: DeviceFilter("arn", [SV1]), "DeviceFilter.name"),
        (lambda: SpendingLimitFilter("deviceArn", [SV1], "LT"), "SpendingLimitFilter.operator"),
    ],
)
def test_unknown_names_and_operators_are_refused(build: object, field: str) -> None:
    with pytest.raises(ParameterError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field
    assert "must be one of" in caught.value.rule


def test_job_filter_accepts_contains() -> None:
    assert JobFilter("jobArn", "CONTAINS", ["bell"]).operator is FilterOperator.CONTAINS


@pytest.mark.parametrize(
    ("shape", "allowed"),
    [
        ("SearchQuantumTasksFilterOperator", search_models._TASK_OPERATORS),
        ("SearchJobsFilterOperator", search_models._JOB_OPERATORS),
        ("SearchSpendingLimitsFilterOperator", search_models._SPENDING_OPERATORS),
    ],
)
def test_operators_follow_the_service_model(
    shape: str, allowed: frozenset[FilterOperator]
) -> None:
    assert set(SERVICE_MODEL.shape_for(shape).enum) == {str(o) for o in allowed}


def test_filter_names_follow_the_service_model_documentation() -> None:
    for shape, alias in [
        ("SearchQuantumTasksFilter", search_models.QuantumTaskFilterName),
        ("SearchJobsFilter", search_models.JobFilterName),
        ("SearchDevicesFilter", search_models.DeviceFilterName),
        ("SearchSpendingLimitsFilter", search_models.SpendingLimitFilterName),
    ]:
        doc = SERVICE_MODEL.shape_for(shape).members["name"].documentation
        for name in get_args(alias):
            assert f"<code>{name}</code>" in doc, (shape, name)


def test_status_literal_lists_every_status() -> None:
    literal = get_args(search_models.QuantumTaskStatusName)[1]
    assert set(get_args(literal)) == {s.value for s in QuantumTaskStatus}
    assert set(SERVICE_MODEL.shape_for("QuantumTaskStatus").enum) == set(get_args(literal))
