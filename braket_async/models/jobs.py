"""Hybrid job models (CreateJob request shapes, GetJob, SearchJobs, CancelJob).

The configuration shapes (``AlgorithmSpecification``, ``InstanceConfig``, ...) are used both
ways: ``create_job`` accepts them (or wire dicts), and ``Job`` carries them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .common import Association
from .enums import (
    TERMINAL_JOB_STATUSES,
    CancellationStatus,
    CompressionType,
    InstanceType,
    JobEventType,
    JobStatus,
    QueueName,
)

__all__ = [
    "AlgorithmSpecification",
    "ContainerImage",
    "DataSource",
    "DeviceConfig",
    "HybridJobQueueInfo",
    "InputFileConfig",
    "InstanceConfig",
    "Job",
    "JobCancellation",
    "JobCheckpointConfig",
    "JobEvent",
    "JobOutputDataConfig",
    "JobStoppingCondition",
    "JobSummary",
    "S3DataSource",
    "ScriptModeConfig",
]


@attrs.frozen
class ScriptModeConfig:
    """Where the job's script lives and how to start it (``module`` or ``module:function``)."""

    entry_point: str
    s3_uri: str
    compression_type: CompressionType | None = None


@attrs.frozen
class ContainerImage:
    """A custom ECR container image for the job."""

    uri: str


@attrs.frozen
class AlgorithmSpecification:
    """What the job runs: a script (``script_mode_config``) and optionally a container."""

    script_mode_config: ScriptModeConfig | None = None
    container_image: ContainerImage | None = None


@attrs.frozen
class S3DataSource:
    """An S3 prefix or object feeding an input channel."""

    s3_uri: str


@attrs.frozen
class DataSource:
    """Where an input channel's data comes from."""

    s3_data_source: S3DataSource


@attrs.frozen
class InputFileConfig:
    """One named input channel of a job."""

    channel_name: str
    data_source: DataSource
    content_type: str | None = None


@attrs.frozen
class JobOutputDataConfig:
    """Where the job's output goes."""

    s3_path: str
    kms_key_id: str | None = None


@attrs.frozen
class JobCheckpointConfig:
    """Where the job's checkpoints are kept."""

    s3_uri: str
    local_path: str | None = None


@attrs.frozen
class JobStoppingCondition:
    """When the service stops the job."""

    max_runtime_in_seconds: int | None = None


@attrs.frozen
class InstanceConfig:
    """The classical instance(s) the job runs on."""

    instance_type: InstanceType
    volume_size_in_gb: int
    instance_count: int | None = None


@attrs.frozen
class DeviceConfig:
    """The primary device of the job."""

    device: str


@attrs.frozen
class JobEvent:
    """One event of a job's history (``JobEventDetails``)."""

    event_type: JobEventType | None = None
    time_of_event: datetime | None = None
    message: str | None = None


@attrs.frozen
class HybridJobQueueInfo:
    """Where a job stands in the jobs queue."""

    queue: QueueName
    position: str
    message: str | None = None


@attrs.frozen
class Job:
    """A hybrid job as returned by GetJob (``events`` holds at most the latest 20)."""

    status: JobStatus
    job_arn: str
    role_arn: str
    job_name: str
    output_data_config: JobOutputDataConfig
    algorithm_specification: AlgorithmSpecification
    instance_config: InstanceConfig
    created_at: datetime
    failure_reason: str | None = None
    hyper_parameters: dict[str, str] = attrs.field(factory=dict)
    input_data_config: tuple[InputFileConfig, ...] = ()
    stopping_condition: JobStoppingCondition | None = None
    checkpoint_config: JobCheckpointConfig | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    billable_duration: int | None = None
    device_config: DeviceConfig | None = None
    events: tuple[JobEvent, ...] = ()
    tags: dict[str, str] = attrs.field(factory=dict)
    queue_info: HybridJobQueueInfo | None = None
    associations: tuple[Association, ...] = ()

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached COMPLETED, FAILED or CANCELLED."""
        return self.status in TERMINAL_JOB_STATUSES


@attrs.frozen
class JobSummary:
    """One job of a SearchJobs page."""

    status: JobStatus
    job_arn: str
    job_name: str
    device: str
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    tags: dict[str, str] = attrs.field(factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached COMPLETED, FAILED or CANCELLED."""
        return self.status in TERMINAL_JOB_STATUSES


@attrs.frozen
class JobCancellation:
    """The answer to CancelJob."""

    job_arn: str
    cancellation_status: CancellationStatus
