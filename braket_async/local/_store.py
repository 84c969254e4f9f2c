"""In-memory records of the local Braket service: tasks, jobs, spending limits, tags.

Everything is a dict lookup by ARN (or client token, or job token) plus one creation-ordered
list per kind for searches. Records are mutable and owned by the event loop thread; the
lifecycle drivers (``_tasks.TaskScheduler``, ``_jobrun.JobScheduler``) change statuses.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import attrs

from ..models.enums import TERMINAL_JOB_STATUSES, TERMINAL_TASK_STATUSES
from ._devices import LocalDevice
from ._errors import Conflict, ResourceNotFound, ServiceError, Validation

__all__ = [
    "JOB_TERMINAL",
    "TASK_TERMINAL",
    "JobRecord",
    "SpendingLimitRecord",
    "StatusObserver",
    "Store",
    "TaskRecord",
    "fingerprint",
    "utcnow",
]

#: The statuses after which a task / job never changes (the client's own sets).
TASK_TERMINAL: frozenset[str] = frozenset(map(str, TERMINAL_TASK_STATUSES))
JOB_TERMINAL: frozenset[str] = frozenset(map(str, TERMINAL_JOB_STATUSES))
#: GetJob answers at most this many (latest) events.
MAX_JOB_EVENTS = 20


#: Called with a record and its new status just before a status change (and with
#: ``inserted=True`` once when the record is indexed); publishes the state-change event.
StatusObserver = Callable[["TaskRecord | JobRecord", str, bool], None]


def _observe_status(record: TaskRecord | JobRecord, _attribute: object, value: str) -> str:
    # attrs on_setattr hook: every status assignment, wherever it happens, is one change.
    observer = record.observer
    if observer is not None and value != record.status:
        observer(record, value, False)
    return value


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def fingerprint(request: Mapping[str, Any]) -> str:
    """A digest of a create request without its ``clientToken`` (idempotency comparisons)."""
    body = {k: v for k, v in request.items() if k != "clientToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@attrs.define(eq=False)
class TaskRecord:
    """One quantum task."""

    arn: str
    task_id: str
    seq: int
    device: LocalDevice
    action: str
    action_type: str
    device_parameters: str | None
    shots: int
    output_s3_bucket: str
    output_s3_key_prefix: str
    created_at: datetime
    client_token: str
    request_digest: str
    tags: dict[str, str] = attrs.field(factory=dict)
    job_arn: str | None = None
    associations: list[dict[str, Any]] | None = None
    experimental_capabilities: dict[str, Any] | None = None
    #: GetQuantumTask's ``actionMetadata`` (program and executable counts of program sets).
    action_metadata: dict[str, Any] | None = None
    status: str = attrs.field(default="CREATED", on_setattr=_observe_status)
    failure_reason: str | None = None
    ended_at: datetime | None = None
    num_successful_shots: int | None = None
    queue_index: int = -1
    queued_at_mono: float = 0.0
    cancel_requested: bool = False
    observer: StatusObserver | None = attrs.field(default=None, repr=False)
    #: The spending limits this task's estimated cost counts against (``_spending``).
    spend: list[tuple[SpendingLimitRecord, Decimal]] = attrs.field(factory=list, repr=False)
    #: Called once the task reaches a terminal status (settles its spend).
    on_end: Callable[[TaskRecord], None] | None = attrs.field(default=None, repr=False)

    @property
    def device_arn(self) -> str:
        """The device's ARN."""
        return self.device.arn

    @property
    def output_s3_directory(self) -> str:
        """``{outputS3KeyPrefix}/{task-id}``, where results.json is written."""
        return f"{self.output_s3_key_prefix.rstrip('/')}/{self.task_id}"

    @property
    def terminal(self) -> bool:
        """Whether the task reached COMPLETED, FAILED or CANCELLED."""
        return self.status in TASK_TERMINAL

    def finish(self, status: str, failure_reason: str | None = None) -> None:
        """Move to a terminal ``status`` and stamp ``endedAt``."""
        # endedAt first: the status change is what observers see, with endedAt set.
        self.failure_reason = failure_reason
        self.ended_at = utcnow()
        self.status = status
        if self.on_end is not None:
            self.on_end(self)

    def summary(self) -> dict[str, Any]:
        """The QuantumTaskSummary wire members."""
        return {
            "quantumTaskArn": self.arn,
            "status": self.status,
            "deviceArn": self.device_arn,
            "shots": self.shots,
            "outputS3Bucket": self.output_s3_bucket,
            "outputS3Directory": self.output_s3_directory,
            "createdAt": self.created_at,
            "endedAt": self.ended_at,
            "tags": dict(self.tags),
        }

    def describe(self) -> dict[str, Any]:
        """The GetQuantumTask wire members (without queueInfo)."""
        out = self.summary()
        out.update(
            {
                # The service answers "{}" when the task was created without parameters.
                "deviceParameters": self.device_parameters or "{}",
                "failureReason": self.failure_reason,
                "jobArn": self.job_arn,
                "associations": self.associations or [],
                "numSuccessfulShots": self.num_successful_shots,
                "actionMetadata": self.action_metadata
                or {"actionType": self.action_type, "programCount": 1},
                "experimentalCapabilities": self.experimental_capabilities,
            }
        )
        return out


@attrs.define(eq=False)
class JobEvent:
    """One job event (``JobEventDetails``)."""

    event_type: str
    time_of_event: datetime
    message: str

    def wire(self) -> dict[str, Any]:
        """The JobEventDetails wire members."""
        return {
            "eventType": self.event_type,
            "timeOfEvent": self.time_of_event,
            "message": self.message,
        }


@attrs.define(eq=False)
class JobRecord:
    """One hybrid job; satisfies :class:`~._jobseam.JobSpec`."""

    job_arn: str
    job_name: str
    job_token: str
    request: Mapping[str, Any]
    seq: int
    created_at: datetime
    client_token: str
    request_digest: str
    tags: dict[str, str] = attrs.field(factory=dict)
    status: str = attrs.field(default="QUEUED", on_setattr=_observe_status)
    failure_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    events: list[JobEvent] = attrs.field(factory=list)
    cancel_requested: bool = False
    queue_index: int = -1
    observer: StatusObserver | None = attrs.field(default=None, repr=False)

    @property
    def device(self) -> str:
        """``deviceConfig.device``."""
        return str(self.request["deviceConfig"]["device"])

    @property
    def terminal(self) -> bool:
        """Whether the job reached COMPLETED, FAILED or CANCELLED."""
        return self.status in JOB_TERMINAL

    @property
    def billable_duration(self) -> int | None:
        """Milliseconds from start to end (the service bills in ms), once ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds() * 1000)

    def summary(self) -> dict[str, Any]:
        """The JobSummary wire members."""
        return {
            "status": self.status,
            "jobArn": self.job_arn,
            "jobName": self.job_name,
            "device": self.device,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "tags": dict(self.tags),
        }

    def describe(self) -> dict[str, Any]:
        """The GetJob wire members (without queueInfo)."""
        req = self.request
        return {
            "status": self.status,
            "jobArn": self.job_arn,
            "roleArn": req["roleArn"],
            "failureReason": self.failure_reason,
            "jobName": self.job_name,
            "hyperParameters": req.get("hyperParameters"),
            "inputDataConfig": req.get("inputDataConfig"),
            "outputDataConfig": req["outputDataConfig"],
            "stoppingCondition": req.get("stoppingCondition", {"maxRuntimeInSeconds": 432000}),
            "checkpointConfig": req.get("checkpointConfig"),
            "algorithmSpecification": req["algorithmSpecification"],
            "instanceConfig": {"instanceCount": 1, **req["instanceConfig"]},
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "billableDuration": self.billable_duration,
            "deviceConfig": req["deviceConfig"],
            "events": [e.wire() for e in self.events[-MAX_JOB_EVENTS:]],
            "tags": dict(self.tags),
            "associations": req.get("associations", []),
        }


@attrs.define(eq=False)
class SpendingLimitRecord:
    """One spending limit."""

    arn: str
    seq: int
    device_arn: str
    spending_limit: str
    start_at: datetime
    end_at: datetime
    created_at: datetime
    updated_at: datetime
    client_token: str
    tags: dict[str, str] = attrs.field(factory=dict)
    queued_spend: str = "0.00"
    total_spend: str = "0.00"

    def summary(self) -> dict[str, Any]:
        """The SpendingLimitSummary wire members."""
        return {
            "spendingLimitArn": self.arn,
            "deviceArn": self.device_arn,
            "timePeriod": {"startAt": self.start_at, "endAt": self.end_at},
            "spendingLimit": self.spending_limit,
            "queuedSpend": self.queued_spend,
            "totalSpend": self.total_spend,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "tags": dict(self.tags),
        }


V = TypeVar("V")


class _Requested(Protocol):
    @property
    def request_digest(self) -> str: ...


Created = TypeVar("Created", bound=_Requested)


def _replayed(
    record: Created | None,
    client_token: str,
    request: Mapping[str, Any],
    name: Callable[[Created], str],
) -> Created | None:
    """The ``record`` ``client_token`` created, if any; 409 when ``request`` is another one."""
    if record is not None and record.request_digest != fingerprint(request):
        raise Conflict(
            f"clientToken '{client_token}' was already used to create {name(record)} "
            "with different parameters"
        )
    return record


def _lookup(table: Mapping[str, V], key: str, error: type[ServiceError], missing: str) -> V:
    """``table[key]``, or ``error(missing)`` (a 4xx the client sees) when there is none."""
    try:
        return table[key]
    except KeyError:
        raise error(missing) from None


class Store:
    """All records of one local service, with the indexes the handlers need."""

    def __init__(self, region: str, account_id: str, devices: Iterable[LocalDevice]) -> None:
        self.region = region
        self.account_id = account_id
        self.devices: dict[str, LocalDevice] = {d.arn: d for d in devices}
        self.tasks: dict[str, TaskRecord] = {}
        self.task_list: list[TaskRecord] = []
        self.task_tokens: dict[str, TaskRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.job_list: list[JobRecord] = []
        self.job_tokens: dict[str, JobRecord] = {}
        self.job_client_tokens: dict[str, JobRecord] = {}
        self.spending_limits: dict[str, SpendingLimitRecord] = {}
        self.spending_limit_list: list[SpendingLimitRecord] = []
        #: Told of every task and job status change (the event publisher), if set.
        self.observer: StatusObserver | None = None

    # ARNs -------------------------------------------------------------------------------

    def arn(self, kind: str, resource_id: str, region: str | None = None) -> str:
        """``arn:aws:braket:{region}:{account}:{kind}/{id}`` (default region: the store's)."""
        return f"arn:aws:braket:{region or self.region}:{self.account_id}:{kind}/{resource_id}"

    # Lookups ----------------------------------------------------------------------------

    def device(self, arn: str, region: str | None = None) -> LocalDevice:
        """The device ``arn`` (offered in ``region``, when given) or 404
        ResourceNotFoundException."""
        device = self.devices.get(arn)
        if device is None or (region is not None and region not in device.regions):
            raise ResourceNotFound(f"Braket device '{arn}' not found")
        return device

    def devices_in(self, region: str) -> list[LocalDevice]:
        """The devices offered in ``region``, in catalogue order."""
        return [d for d in self.devices.values() if region in d.regions]

    def task(self, arn: str) -> TaskRecord:
        """The quantum task ``arn`` or 404 ResourceNotFoundException."""
        return _lookup(self.tasks, arn, ResourceNotFound, f"Quantum task {arn} not found")

    def job(self, arn: str) -> JobRecord:
        """The job ``arn`` or 404 ResourceNotFoundException."""
        return _lookup(self.jobs, arn, ResourceNotFound, f"Job {arn} not found")

    def spending_limit(self, arn: str) -> SpendingLimitRecord:
        """The spending limit ``arn`` or 404 ResourceNotFoundException."""
        missing = f"Spending limit {arn} not found"
        return _lookup(self.spending_limits, arn, ResourceNotFound, missing)

    def job_for_token(self, token: str) -> JobRecord:
        """The job a ``jobToken`` belongs to, or 400 ValidationException."""
        missing = "Invalid job token: jobToken does not belong to any job"
        return _lookup(self.job_tokens, token, Validation, missing)

    def tags_of(self, arn: str) -> dict[str, str]:
        """The (mutable) tag dict of any taggable resource, or 404."""
        for table in (self.tasks, self.jobs, self.spending_limits):
            record = table.get(arn)
            if record is not None:
                tags: dict[str, str] = record.tags
                return tags
        if not arn.startswith("arn:aws"):
            raise Validation(
                f"Value '{arn}' at 'resourceArn' failed to satisfy constraint: "
                "Member must be a valid Braket resource ARN"
            )
        raise ResourceNotFound(f"Resource {arn} not found")

    # Creation ---------------------------------------------------------------------------

    def replay_task(self, client_token: str, request: Mapping[str, Any]) -> TaskRecord | None:
        """The task already created with ``client_token``; 409 if its request differed."""
        record = self.task_tokens.get(client_token)
        return _replayed(record, client_token, request, lambda r: f"quantum task {r.arn}")

    def add_task(self, record: TaskRecord) -> None:
        """Index a new task."""
        self.tasks[record.arn] = record
        self.task_list.append(record)
        self.task_tokens[record.client_token] = record
        self._watch(record)

    def new_task_id(self, region: str | None = None) -> tuple[str, str, int]:
        """A fresh (task id, ARN in ``region``, sequence number)."""
        task_id = str(uuid.uuid4())
        return task_id, self.arn("quantum-task", task_id, region), len(self.task_list)

    def replay_job(self, client_token: str, request: Mapping[str, Any]) -> JobRecord | None:
        """The job already created with ``client_token``; 409 if its request differed."""
        record = self.job_client_tokens.get(client_token)
        return _replayed(record, client_token, request, lambda r: f"job {r.job_arn}")

    def add_job(self, request: Mapping[str, Any]) -> JobRecord:
        """Create and index a job from its CreateJob request (name uniqueness checked)."""
        name = str(request["jobName"])
        # The service names jobs by ARN "job/{jobName}", so names are unique per account.
        arn = self.arn("job", name)
        if arn in self.jobs:
            raise Conflict(f"A job with name {name} already exists")
        record = JobRecord(
            job_arn=arn,
            job_name=name,
            job_token=f"local-job-token-{uuid.uuid4().hex}",
            request=dict(request),
            seq=len(self.job_list),
            created_at=utcnow(),
            client_token=str(request["clientToken"]),
            request_digest=fingerprint(request),
            tags=dict(request.get("tags") or {}),
        )
        self.jobs[arn] = record
        self.job_list.append(record)
        self.job_tokens[record.job_token] = record
        self.job_client_tokens[record.client_token] = record
        self._watch(record)
        return record

    def _watch(self, record: TaskRecord | JobRecord) -> None:
        if self.observer is not None:
            record.observer = self.observer
            self.observer(record, record.status, True)

    def add_spending_limit(
        self, request: Mapping[str, Any], start: datetime, end: datetime
    ) -> SpendingLimitRecord:
        """Create and index a spending limit."""
        now = utcnow()
        record = SpendingLimitRecord(
            arn=self.arn("spending-limit", str(uuid.uuid4())),
            seq=len(self.spending_limit_list),
            device_arn=str(request["deviceArn"]),
            spending_limit=str(request["spendingLimit"]),
            start_at=start,
            end_at=end,
            created_at=now,
            updated_at=now,
            client_token=str(request["clientToken"]),
            tags=dict(request.get("tags") or {}),
        )
        self.spending_limits[record.arn] = record
        self.spending_limit_list.append(record)
        return record

    def clear(self) -> None:
        """Forget every task, job and spending limit (the devices and observer stay)."""
        for table in (
            self.tasks,
            self.task_tokens,
            self.jobs,
            self.job_tokens,
            self.job_client_tokens,
            self.spending_limits,
        ):
            table.clear()
        for records in (self.task_list, self.job_list, self.spending_limit_list):
            records.clear()

    def delete_spending_limit(self, arn: str) -> None:
        """Remove a spending limit (404 when unknown)."""
        record = self.spending_limit(arn)
        del self.spending_limits[arn]
        self.spending_limit_list.remove(record)
