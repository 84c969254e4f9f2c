"""Open str enums: every modeled value is a member, unknown values never raise."""

from __future__ import annotations

import pickle

import pytest

from braket_async import models
from braket_async._service_model import SERVICE_MODEL

#: enum class -> botocore enum shape (all values must be members).
ENUMS = {
    models.QuantumTaskStatus: "QuantumTaskStatus",
    models.JobStatus: "JobPrimaryStatus",
    models.JobEventType: "JobEventType",
    models.DeviceStatus: "DeviceStatus",
    models.DeviceType: "DeviceType",
    models.CancellationStatus: "CancellationStatus",
    models.QueueName: "QueueName",
    models.QueuePriority: "QueuePriority",
    models.AssociationType: "AssociationType",
    models.CompressionType: "CompressionType",
    models.ExperimentalCapabilitiesEnablement: "ExperimentalCapabilitiesEnablementType",
    models.ValidationExceptionReason: "ValidationExceptionReason",
}


@pytest.mark.parametrize("cls", list(ENUMS), ids=lambda c: c.__name__)
def test_members_are_the_modeled_values(cls: type[models.OpenStrEnum]) -> None:
    assert {m.value for m in cls} == set(SERVICE_MODEL.shape_for(ENUMS[cls]).enum)
    assert all(m.is_known for m in cls)


def test_filter_operators_cover_every_search_operation() -> None:
    for shape in ("SearchQuantumTasksFilterOperator", "SearchJobsFilterOperator",
                  "SearchSpendingLimitsFilterOperator"):
        assert set(SERVICE_MODEL.shape_for(shape).enum) <= {m.value for m in models.FilterOperator}


def test_instance_types_are_modeled_values() -> None:
    modeled = set(SERVICE_MODEL.shape_for("InstanceType").enum)
    assert {m.value for m in models.InstanceType} <= modeled
    assert all(models.InstanceType(value).value == value for value in modeled)


def test_unknown_value_becomes_a_pseudo_member() -> None:
    status = models.QuantumTaskStatus("PAUSED_FOR_MAINTENANCE")
    assert status == "PAUSED_FOR_MAINTENANCE" and str(status) == "PAUSED_FOR_MAINTENANCE"
    assert isinstance(status, models.QuantumTaskStatus)
    assert not status.is_known
    assert models.QuantumTaskStatus("PAUSED_FOR_MAINTENANCE") is status
    assert status not in models.TERMINAL_TASK_STATUSES
    assert pickle.loads(pickle.dumps(status)) is status
    with pytest.raises(ValueError):
        models.QuantumTaskStatus(3)  # type: ignore[arg-type]


def test_terminal_sets() -> None:
    assert {str(s) for s in models.TERMINAL_TASK_STATUSES} == {"COMPLETED", "FAILED",
                                                              "CANCELLED"}
    assert {str(s) for s in models.TERMINAL_JOB_STATUSES} == {"COMPLETED", "FAILED",
                                                             "CANCELLED"}
    assert "COMPLETED" in models.TERMINAL_TASK_STATUSES  # plain strings work too
