"""The one converter: wire dicts <-> models, aware datetimes, lenient on unknown members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from dateutil.tz import tzutc

from braket_async import models
from braket_async._converter import CONVERTER, camel, structure_fn, to_utc, unstructure

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=tzutc())


def task_wire(**extra: Any) -> dict[str, Any]:
    return {
        "quantumTaskArn": "arn:aws:braket:us-east-1:123456789012:quantum-task/1",
        "status": "RUNNING",
        "deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        "deviceParameters": '{"paradigmParameters": {"qubitCount": 2}}',
        "shots": 100,
        "outputS3Bucket": "bucket",
        "outputS3Directory": "tasks/1",
        "createdAt": CREATED,
        **extra,
    }


@pytest.mark.parametrize(
    ("snake", "wire"),
    [("output_s3_bucket", "outputS3Bucket"), ("s3_uri", "s3Uri"), ("kms_key_id", "kmsKeyId"),
     ("volume_size_in_gb", "volumeSizeInGb"), ("device", "device")],
)
def test_camel(snake: str, wire: str) -> None:
    assert camel(snake) == wire


def test_structure_task_with_nested_models_and_parsed_json() -> None:
    task = structure_fn(models.QuantumTask)(task_wire(
        queueInfo={"queue": "QUANTUM_TASKS_QUEUE", "position": "3", "queuePriority": "Normal"},
        associations=[{"arn": "arn:aws:braket:us-east-1:123456789012:reservation/r",
                       "type": "RESERVATION_TIME_WINDOW_ARN"}],
        actionMetadata={"actionType": "braket.ir.openqasm.program", "programCount": 1},
        tags={"a": "b"},
    ))
    assert task.status is models.QuantumTaskStatus.RUNNING
    assert task.queue_info == models.QuantumTaskQueueInfo(
        models.QueueName.QUANTUM_TASKS_QUEUE, "3", models.QueuePriority.NORMAL
    )
    assert task.associations[0].type is models.AssociationType.RESERVATION_TIME_WINDOW_ARN
    assert task.action_metadata == models.ActionMetadata("braket.ir.openqasm.program", 1)
    assert task.device_parameters_json == {"paradigmParameters": {"qubitCount": 2}}
    assert task.device_parameters_json is task.device_parameters_json  # parsed once
    assert task.tags == {"a": "b"}
    assert task.results_uri == "s3://bucket/tasks/1/results.json"


def test_unknown_members_and_values_never_break() -> None:
    task = structure_fn(models.QuantumTask)(
        task_wire(status="HIBERNATING", brandNewMember={"x": 1})
    )
    assert task.status == "HIBERNATING" and not task.status.is_known
    assert not task.is_terminal


def test_datetimes_are_aware_utc() -> None:
    task = structure_fn(models.QuantumTask)(task_wire(endedAt="2024-05-01T12:00:05Z"))
    assert task.created_at.tzinfo is UTC and task.created_at == CREATED
    assert task.ended_at == datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
    paris = timezone(timedelta(hours=2))
    assert to_utc(datetime(2024, 1, 1, 14, tzinfo=paris)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert to_utc(datetime(2024, 1, 1)).tzinfo is UTC  # naive means UTC
    assert to_utc(0) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(TypeError):
        to_utc(object())


def test_job_with_events() -> None:
    job = structure_fn(models.Job)({
        "status": "COMPLETED", "jobArn": "arn:aws:braket:us-east-1:123456789012:job/j",
        "roleArn": "arn:aws:iam::123456789012:role/r", "jobName": "j",
        "outputDataConfig": {"s3Path": "s3://b/out"},
        "algorithmSpecification": {"scriptModeConfig": {"entryPoint": "m", "s3Uri": "s3://b/s",
                                                        "compressionType": "GZIP"}},
        "instanceConfig": {"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        "createdAt": CREATED,
        "events": [{"eventType": "RUNNING", "timeOfEvent": CREATED, "message": "go"},
                   {"eventType": "SOMETHING_NEW"}],
        "hyperParameters": {"a": "1"},
    })
    assert job.is_terminal
    assert job.algorithm_specification.script_mode_config is not None
    assert job.algorithm_specification.script_mode_config.compression_type is (
        models.CompressionType.GZIP
    )
    assert job.events[0] == models.JobEvent(models.JobEventType.RUNNING, CREATED, "go")
    assert job.events[1].event_type == "SOMETHING_NEW" and job.events[1].time_of_event is None


def test_device_capabilities_parsed() -> None:
    device = structure_fn(models.Device)({
        "deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1", "deviceName": "SV1",
        "providerName": "Amazon Braket", "deviceType": "SIMULATOR", "deviceStatus": "ONLINE",
        "deviceCapabilities": '{"action": {"braket.ir.openqasm.program": {}}}',
        "deviceQueueInfo": [{"queue": "QUANTUM_TASKS_QUEUE", "queueSize": "0"}],
    })
    assert device.capabilities == {"action": {"braket.ir.openqasm.program": {}}}
    assert device.is_available
    assert device.device_queue_info[0].queue_size == "0"


def test_unstructure_request_models() -> None:
    spec = models.AlgorithmSpecification(
        script_mode_config=models.ScriptModeConfig("algo:main", "s3://b/s.py")
    )
    assert unstructure(spec) == {"scriptModeConfig": {"entryPoint": "algo:main",
                                                      "s3Uri": "s3://b/s.py"}}
    assert unstructure(models.SpendingLimitFilter("deviceArn", ["d"])) == {
        "name": "deviceArn", "values": ["d"], "operator": "EQUAL"
    }
    wire = unstructure(models.QuantumTaskFilter.status("QUEUED", "RUNNING"))
    assert wire == {"name": "status", "operator": "EQUAL", "values": ["QUEUED", "RUNNING"]}
    assert type(wire["operator"]) is str
    period = models.TimePeriod(CREATED, CREATED + timedelta(days=1))
    assert unstructure(period) == {"startAt": CREATED, "endAt": CREATED + timedelta(days=1)}


def test_filter_values_accept_datetimes() -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    assert models.QuantumTaskFilter.created_after(when).values == (when.isoformat(),)


def test_round_trip_through_the_converter() -> None:
    task = structure_fn(models.QuantumTask)(task_wire(tags={"k": "v"}))
    again = CONVERTER.structure(CONVERTER.unstructure(task), models.QuantumTask)
    assert again == task


@pytest.mark.parametrize(
    "value",
    ["2024-05-01T12:00:05.123Z", "2024-05-01T12:00:05+02:00", 1714564805,
     "Wed, 01 May 2024 12:00:05 GMT"],
)
def test_parse_timestamp_agrees_with_botocore_and_is_utc(value: Any) -> None:
    from botocore.utils import parse_timestamp as botocore_parse

    from braket_async._converter import parse_timestamp

    parsed = parse_timestamp(value)
    assert parsed.tzinfo is UTC
    assert parsed == botocore_parse(value)
