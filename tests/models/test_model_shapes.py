"""Every shape of Braket's service model has a model whose attributes mirror it one to one."""

from __future__ import annotations

from typing import Any

import attrs
import botocore.model
import pytest

from braket_async import models
from braket_async._converter import camel
from braket_async._service_model import SERVICE_MODEL

#: model class -> the botocore shape it mirrors.
SHAPES: dict[type[Any], str] = {
    models.QuantumTask: "GetQuantumTaskResponse",
    models.QuantumTaskSummary: "QuantumTaskSummary",
    models.QuantumTaskQueueInfo: "QuantumTaskQueueInfo",
    models.QuantumTaskCancellation: "CancelQuantumTaskResponse",
    models.ActionMetadata: "ActionMetadata",
    models.Association: "Association",
    models.ExperimentalCapabilities: "ExperimentalCapabilities",
    models.Job: "GetJobResponse",
    models.JobSummary: "JobSummary",
    models.JobEvent: "JobEventDetails",
    models.JobCancellation: "CancelJobResponse",
    models.HybridJobQueueInfo: "HybridJobQueueInfo",
    models.AlgorithmSpecification: "AlgorithmSpecification",
    models.ScriptModeConfig: "ScriptModeConfig",
    models.ContainerImage: "ContainerImage",
    models.InputFileConfig: "InputFileConfig",
    models.DataSource: "DataSource",
    models.S3DataSource: "S3DataSource",
    models.JobOutputDataConfig: "JobOutputDataConfig",
    models.JobCheckpointConfig: "JobCheckpointConfig",
    models.JobStoppingCondition: "JobStoppingCondition",
    models.InstanceConfig: "InstanceConfig",
    models.DeviceConfig: "DeviceConfig",
    models.Device: "GetDeviceResponse",
    models.DeviceSummary: "DeviceSummary",
    models.DeviceQueueInfo: "DeviceQueueInfo",
    models.SpendingLimit: "SpendingLimitSummary",
    models.TimePeriod: "TimePeriod",
    models.SearchQuantumTasksPage: "SearchQuantumTasksResponse",
    models.SearchJobsPage: "SearchJobsResponse",
    models.SearchDevicesPage: "SearchDevicesResponse",
    models.SearchSpendingLimitsPage: "SearchSpendingLimitsResponse",
    models.QuantumTaskFilter: "SearchQuantumTasksFilter",
    models.JobFilter: "SearchJobsFilter",
    models.DeviceFilter: "SearchDevicesFilter",
    models.SpendingLimitFilter: "SearchSpendingLimitsFilter",
    models.ProgramSetValidationFailure: "ProgramSetValidationFailure",
}

#: Output structures carried as plain values rather than models.
NOT_MODELS = {"CreateQuantumTaskResponse", "CreateJobResponse", "CreateSpendingLimitResponse",
              "ListTagsForResourceResponse", "TagResourceResponse", "UntagResourceResponse",
              "UpdateSpendingLimitResponse", "DeleteSpendingLimitResponse"}


def structures(shape: botocore.model.Shape | None, seen: set[str]) -> None:
    if shape is None or shape.name in seen:
        return
    if isinstance(shape, botocore.model.StructureShape):
        seen.add(shape.name)
        for member in shape.members.values():
            structures(member, seen)
    elif isinstance(shape, botocore.model.ListShape):
        structures(shape.member, seen)
    elif isinstance(shape, botocore.model.MapShape):
        structures(shape.value, seen)


def test_every_output_structure_has_a_model() -> None:
    seen: set[str] = set()
    for operation in SERVICE_MODEL.operation_names:
        structures(SERVICE_MODEL.operation_model(operation).output_shape, seen)
    assert seen - NOT_MODELS <= set(SHAPES.values())


@pytest.mark.parametrize("cls", list(SHAPES), ids=lambda c: c.__name__)
def test_attributes_mirror_the_shape(cls: type[Any]) -> None:
    shape = SERVICE_MODEL.shape_for(SHAPES[cls])
    assert isinstance(shape, botocore.model.StructureShape)
    wire = {camel(a.name) for a in attrs.fields(cls)}
    assert wire == set(shape.members)
    # Attributes without a default are exactly the required members (for responses).
    required = {camel(a.name) for a in attrs.fields(cls) if a.default is attrs.NOTHING}
    assert required <= set(shape.required_members)


@pytest.mark.parametrize("cls", list(SHAPES), ids=lambda c: c.__name__)
def test_models_are_frozen(cls: type[Any]) -> None:
    instance = cls.__new__(cls)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, attrs.fields(cls)[0].name, None)


def test_every_model_is_exported() -> None:
    for cls in SHAPES:
        assert getattr(models, cls.__name__) is cls
        assert cls.__name__ in models.__all__


def test_summary_view_of_a_task_copies_the_shared_fields_and_its_own_tags() -> None:
    from datetime import UTC, datetime

    from braket_async.models import QuantumTask, QuantumTaskSummary

    created = datetime(2026, 1, 1, tzinfo=UTC)
    task = QuantumTask(
        quantum_task_arn="arn:aws:braket:us-east-1:123456789012:quantum-task/x",
        status="COMPLETED",
        device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        shots=10,
        output_s3_bucket="b",
        output_s3_directory="d/x",
        created_at=created,
        device_parameters="{}",
        tags={"k": "v"},
    )
    summary = QuantumTaskSummary.view_of(task)
    assert summary == QuantumTaskSummary(
        quantum_task_arn=task.quantum_task_arn,
        status=task.status,
        device_arn=task.device_arn,
        shots=10,
        output_s3_bucket="b",
        output_s3_directory="d/x",
        created_at=created,
        tags={"k": "v"},
    )
    assert summary.tags is not task.tags


def test_summary_view_of_a_record_missing_a_required_field_is_none() -> None:
    from types import SimpleNamespace

    from braket_async.models import QuantumTaskSummary

    partial = SimpleNamespace(quantum_task_arn="a", status="COMPLETED", device_arn=None)
    assert QuantumTaskSummary.view_of(partial) is None
