"""The semantics of the 17 Braket operations over the in-memory store.

Each handler takes the operation's validated input members (wire camelCase, as parsed by
``_model.parse_request_params``) and returns its output members (datetimes allowed; the
server renders them per the output shape). Handlers raise ``_errors`` exceptions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore import xform_name
from botocore.exceptions import ClientError

from ._body import JsonRejected, load_json
from ._capabilities import check_associations, check_task
from ._errors import Conflict, DeviceOffline, DeviceRetired, ServiceQuotaExceeded, Validation
from ._jobrun import JobScheduler
from ._ledger import Ledger
from ._limits import MAX_ACTION_BYTES
from ._model import service_model
from ._quotas import Quotas
from ._regions import serving_region
from ._search import (
    RecordSearch,
    search_devices,
    search_jobs,
    search_quantum_tasks,
    search_spending_limits,
)
from ._spending import check_spending_limit_device, reserve_spend, settle_spend
from ._store import Store, TaskRecord, fingerprint, utcnow
from ._tasks import TaskScheduler

__all__ = ["BucketChecker", "Handler", "Handlers"]

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[dict[str, Any]]]

#: Seconds a "bucket exists" answer is trusted (keeps CreateQuantumTask off S3 at 20 TPS).
BUCKET_CACHE_SECONDS = 30.0
#: Time period of a spending limit created without one.
DEFAULT_SPENDING_PERIOD = timedelta(days=365)


class BucketChecker(Protocol):
    """What the handlers need of :class:`~._s3.ObjectStore`."""

    async def bucket_exists(self, bucket: str) -> bool: ...


#: What botocore's S3 client accepts as a bucket name (``validate_bucket_name``), ARNs aside.
_PLAIN_BUCKET_NAME = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")


def _no_bucket(bucket: str) -> str:
    # Braket's own message for an output bucket it cannot use (developer guide, troubleshooting).
    return f"Caller doesn't have access to {bucket} or it doesn't exist."


def _check_action_size(action: str) -> None:
    # Checked before the program is parsed: a huge one must cost nothing but this.
    size = len(action) if len(action) * 4 <= MAX_ACTION_BYTES else len(action.encode())
    if size > MAX_ACTION_BYTES:
        raise Validation(
            f"Value at 'action' failed to satisfy constraint: Member must have length less "
            f"than or equal to {MAX_ACTION_BYTES} bytes (the local service's program-size "
            f"limit); got {size} bytes"
        )


def _json_object(text: str, member: str) -> dict[str, Any]:
    try:
        value = load_json(text)
    except JsonRejected as exc:
        raise Validation(
            f"Value at '{member}' failed to satisfy constraint: "
            f"Member must be a valid JSON document ({exc.reason})"
        ) from None
    if not isinstance(value, dict):
        raise Validation(
            f"Value at '{member}' failed to satisfy constraint: Member must be a JSON object"
        )
    return value


def _epoch(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _summaries(
    search: RecordSearch[Any], records: Sequence[Any], p: Params, member: str
) -> dict[str, Any]:
    """One Search* page: ``{member: [record summaries], "nextToken": ...}``."""
    filters = p.get("filters") or []
    page, token = search(records, filters, p.get("maxResults"), p.get("nextToken"))
    return {member: [record.summary() for record in page], "nextToken": token}


def _check_cancellable(what: str, status: str) -> None:
    if status in ("COMPLETED", "FAILED"):
        raise Conflict(f"{what} is in terminal state {status} and cannot be cancelled")


def _wants_queue_info(p: Params) -> bool:
    return "QueueInfo" in (p.get("additionalAttributeNames") or [])


def _queue_info(queue: str, state: str, position: str | None, **extra: str) -> dict[str, str]:
    """A Get* ``queueInfo``: the ``position`` while waiting, else "None" and Braket's note."""
    if position is not None:
        return {"queue": queue, "position": position, **extra}
    message = f"{state}. AmazonBraket does not show queue position for this status."
    return {"queue": queue, "position": "None", **extra, "message": message}


class Handlers:
    """One coroutine per Braket operation, looked up by model name with :meth:`get`."""

    def __init__(
        self,
        store: Store,
        tasks: TaskScheduler,
        jobs: JobScheduler,
        buckets: BucketChecker,
        ledger: Ledger,
        quotas: Callable[[], Quotas],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.jobs = jobs
        self._buckets = buckets
        self._ledger = ledger
        self._quotas = quotas
        self._clock = clock
        self._bucket_seen: dict[str, float] = {}
        # The handler of each operation of the model is the method named like it (snake_case).
        # An operation a newer botocore adds and this service lacks has no entry, as before.
        self._table: dict[str, Handler] = {
            op: getattr(self, xform_name(op))
            for op in service_model().operation_names
            if callable(getattr(self, xform_name(op), None))
        }

    def get(self, operation: str) -> Handler:
        """The handler of ``operation`` (a botocore model name)."""
        return self._table[operation]

    @property
    def operations(self) -> frozenset[str]:
        """Every operation with a handler."""
        return frozenset(self._table)

    # Quantum tasks -------------------------------------------------------------------------

    async def _check_bucket(self, bucket: str) -> None:
        if _PLAIN_BUCKET_NAME.fullmatch(bucket) is None:
            # No bucket can have this name (an s3:// URI, an ARN, a quote, a space...): Braket's
            # answer for a bucket that does not exist, and no S3 call (botocore refuses the
            # name, and an access-point ARN would send HeadBucket to another host).
            raise Validation(
                f"{_no_bucket(bucket)} Value at 'outputS3Bucket' failed to satisfy constraint: "
                "Member must be the name of an S3 bucket (letters, digits, '.', '-', '_'; "
                "not an s3:// URI or an ARN)"
            )
        seen = self._bucket_seen.get(bucket)
        now = self._clock()
        if seen is not None and now - seen < BUCKET_CACHE_SECONDS:
            return
        try:
            exists = await self._buckets.bucket_exists(bucket)
        except ClientError as exc:
            # S3 refusing the name or the caller (400, 403): the bucket is not usable, as a
            # missing one is not; S3 failing (5xx) stays the service's error.
            if not 400 <= exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) < 500:
                raise
            exists = False
        if not exists:
            raise Validation(_no_bucket(bucket))
        self._bucket_seen[bucket] = now

    @property
    def _region(self) -> str:
        """The region the request being handled was signed for (``_regions``)."""
        return serving_region(self.store.region)

    def _usable_device(self, arn: str, *, offline_ok: bool = False) -> Any:
        device = self.store.devices.get(arn)
        region = self._region
        if device is None or region not in device.regions:
            raise Validation(f"Device {arn} does not exist or is not available in {region}")
        if device.status == "RETIRED":
            raise DeviceRetired(f"Device {arn} is retired.")
        if device.status == "OFFLINE" and not offline_ok:
            raise DeviceOffline(f"Device {arn} is offline.")
        return device

    def _replayed_task(self, p: Params) -> dict[str, Any] | None:
        """The answer to a CreateQuantumTask retried with its clientToken, if it is one."""
        replay = self.store.replay_task(p["clientToken"], p)
        if replay is None:
            return None
        self._ledger.client_token_replays += 1
        return {"quantumTaskArn": replay.arn}

    async def create_quantum_task(self, p: Params) -> dict[str, Any]:
        """CreateQuantumTask: validate device, action, bucket and token; queue the task."""
        token = p["clientToken"]
        replay = self._replayed_task(p)
        if replay is not None:
            return replay
        device = self._usable_device(p["deviceArn"])
        _check_action_size(p["action"])
        action = _json_object(p["action"], "action")
        header = action.get("braketSchemaHeader")
        action_type = header.get("name") if isinstance(header, dict) else None
        if not isinstance(action_type, str):
            raise Validation(
                "Value at 'action' failed to satisfy constraint: "
                "Member must have a braketSchemaHeader with a name"
            )
        if action_type not in device.supported_action_names:
            raise Validation(
                f"Device {device.arn} does not support action {action_type}; "
                f"supported: {sorted(device.supported_action_names)}"
            )
        if p.get("deviceParameters") is not None:
            _json_object(p["deviceParameters"], "deviceParameters")
        check_associations(device, p.get("associations") or [])
        action_metadata = check_task(device, action_type, action, p["shots"])
        job_arn = None
        if p.get("jobToken") is not None:
            job_arn = self.store.job_for_token(p["jobToken"]).job_arn
        await self._check_bucket(p["outputS3Bucket"])
        # The bucket check awaited: a concurrent retry with this token may have won.
        replay = self._replayed_task(p)
        if replay is not None:
            return replay
        task_id, arn, seq = self.store.new_task_id(self._region)
        record = TaskRecord(
            arn=arn,
            task_id=task_id,
            seq=seq,
            device=device,
            action=p["action"],
            action_type=action_type,
            device_parameters=p.get("deviceParameters"),
            shots=p["shots"],
            output_s3_bucket=p["outputS3Bucket"],
            output_s3_key_prefix=p["outputS3KeyPrefix"],
            created_at=utcnow(),
            client_token=token,
            request_digest=fingerprint(p),
            tags=dict(p.get("tags") or {}),
            job_arn=job_arn,
            associations=p.get("associations"),
            experimental_capabilities=p.get("experimentalCapabilities"),
            action_metadata=action_metadata,
            on_end=settle_spend,
        )
        reserve_spend(self.store.spending_limit_list, record, record.created_at)
        self.store.add_task(record)
        self.tasks.submit(record)
        self._ledger.tasks_created += 1
        return {"quantumTaskArn": arn}

    async def get_quantum_task(self, p: Params) -> dict[str, Any]:
        """GetQuantumTask, with queueInfo when asked for."""
        task = self.store.task(p["quantumTaskArn"])
        out = task.describe()
        if _wants_queue_info(p):
            waiting = task.status in ("CREATED", "QUEUED")
            out["queueInfo"] = _queue_info(
                "QUANTUM_TASKS_QUEUE",
                f"Task is in {task.status} status",
                str(self.tasks.queue_position(task)) if waiting else None,
                queuePriority="Priority" if task.job_arn else "Normal",
            )
        return out

    async def cancel_quantum_task(self, p: Params) -> dict[str, Any]:
        """CancelQuantumTask: CANCELLING (then CANCELLED); 409 once COMPLETED or FAILED."""
        task = self.store.task(p["quantumTaskArn"])
        _check_cancellable(f"Quantum task {task.arn}", task.status)
        return {"quantumTaskArn": task.arn, "cancellationStatus": self.tasks.cancel(task)}

    async def search_quantum_tasks(self, p: Params) -> dict[str, Any]:
        """SearchQuantumTasks."""
        return _summaries(search_quantum_tasks, self.store.task_list, p, "quantumTasks")

    # Jobs ----------------------------------------------------------------------------------

    def _check_job_device(self, device: str) -> None:
        if device.startswith("local:"):
            return  # embedded simulators run inside the job; nothing to check here
        self._usable_device(device)

    async def create_job(self, p: Params) -> dict[str, Any]:
        """CreateJob: queue the job for the runner (beyond the concurrent-jobs quota it waits)."""
        replay = self.store.replay_job(p["clientToken"], p)
        if replay is not None:
            self._ledger.client_token_replays += 1
            return {"jobArn": replay.job_arn}
        spec = p["algorithmSpecification"]
        # The SDK sends both (its default image with the script); neither is an error.
        if "scriptModeConfig" not in spec and "containerImage" not in spec:
            raise Validation(
                "At least one of algorithmSpecification.scriptModeConfig and "
                "algorithmSpecification.containerImage must be given"
            )
        self._check_job_device(p["deviceConfig"]["device"])
        quotas = self._quotas()
        limit = quotas.max_queued_jobs
        if limit is not None and self.jobs.full and self.jobs.waiting >= limit:
            raise ServiceQuotaExceeded(
                f"You have reached the quota of {self.jobs.concurrency} concurrent hybrid jobs "
                f"and {limit} queued hybrid jobs."
            )
        record = self.store.add_job(p)
        self.jobs.submit(record)
        self._ledger.jobs_created += 1
        return {"jobArn": record.job_arn}

    async def get_job(self, p: Params) -> dict[str, Any]:
        """GetJob (latest 20 events), with queueInfo when asked for."""
        job = self.store.job(p["jobArn"])
        out = job.describe()
        if _wants_queue_info(p):
            waiting = job.status == "QUEUED"
            out["queueInfo"] = _queue_info(
                "JOBS_QUEUE",
                f"Job is in {job.status} status",
                str(self.jobs.queue_position(job) or 1) if waiting else None,
            )
        return out

    async def cancel_job(self, p: Params) -> dict[str, Any]:
        """CancelJob: CANCELLING and the runner is told; 409 once terminal."""
        job = self.store.job(p["jobArn"])
        _check_cancellable(f"Job {job.job_arn}", job.status)
        status = await self.jobs.cancel(job)
        return {"jobArn": job.job_arn, "cancellationStatus": status}

    async def search_jobs(self, p: Params) -> dict[str, Any]:
        """SearchJobs."""
        return _summaries(search_jobs, self.store.job_list, p, "jobs")

    # Devices -------------------------------------------------------------------------------

    async def get_device(self, p: Params) -> dict[str, Any]:
        """GetDevice, with the device's queue sizes."""
        device = self.store.device(p["deviceArn"], self._region)
        normal, priority = self.tasks.queue_sizes(device)
        jobs_waiting = sum(
            1 for j in self.store.job_list if j.status == "QUEUED" and j.device == device.arn
        )
        return {
            "deviceArn": device.arn,
            "deviceName": device.name,
            "providerName": device.provider_name,
            "deviceType": device.device_type,
            "deviceStatus": device.status,
            "deviceCapabilities": device.capabilities_json,
            "deviceQueueInfo": [
                {
                    "queue": "QUANTUM_TASKS_QUEUE",
                    "queueSize": str(normal),
                    "queuePriority": "Normal",
                },
                {
                    "queue": "QUANTUM_TASKS_QUEUE",
                    "queueSize": str(priority),
                    "queuePriority": "Priority",
                },
                {"queue": "JOBS_QUEUE", "queueSize": str(jobs_waiting)},
            ],
        }

    async def search_devices(self, p: Params) -> dict[str, Any]:
        """SearchDevices."""
        page, token = search_devices(
            self.store.devices_in(self._region),
            p["filters"],
            p.get("maxResults"),
            p.get("nextToken"),
        )
        return {
            "devices": [
                {
                    "deviceArn": d.arn,
                    "deviceName": d.name,
                    "providerName": d.provider_name,
                    "deviceType": d.device_type,
                    "deviceStatus": d.status,
                }
                for d in page
            ],
            "nextToken": token,
        }

    # Tags ----------------------------------------------------------------------------------

    async def list_tags_for_resource(self, p: Params) -> dict[str, Any]:
        """ListTagsForResource."""
        return {"tags": dict(self.store.tags_of(p["resourceArn"]))}

    async def tag_resource(self, p: Params) -> dict[str, Any]:
        """TagResource (adds or overwrites)."""
        self.store.tags_of(p["resourceArn"]).update(p["tags"])
        return {}

    async def untag_resource(self, p: Params) -> dict[str, Any]:
        """UntagResource (unknown keys are ignored)."""
        tags = self.store.tags_of(p["resourceArn"])
        for key in p["tagKeys"]:
            tags.pop(key, None)
        return {}

    # Spending limits -----------------------------------------------------------------------

    def _period(self, period: Mapping[str, Any] | None) -> tuple[datetime, datetime]:
        if period is None:
            start = utcnow()
            return start, start + DEFAULT_SPENDING_PERIOD
        start, end = _epoch(period["startAt"]), _epoch(period["endAt"])
        if end <= start:
            raise Validation(
                "Value at 'timePeriod' failed to satisfy constraint: "
                "endAt must be later than startAt"
            )
        return start, end

    async def create_spending_limit(self, p: Params) -> dict[str, Any]:
        """CreateSpendingLimit (idempotent on clientToken)."""
        for existing in self.store.spending_limit_list:
            if existing.client_token == p["clientToken"]:
                self._ledger.client_token_replays += 1
                return {"spendingLimitArn": existing.arn}
        # A limit may be set on a device that is offline for now, not on a retired one.
        check_spending_limit_device(self._usable_device(p["deviceArn"], offline_ok=True))
        start, end = self._period(p.get("timePeriod"))
        record = self.store.add_spending_limit(p, start, end)
        return {"spendingLimitArn": record.arn}

    async def update_spending_limit(self, p: Params) -> dict[str, Any]:
        """UpdateSpendingLimit (amount and/or time period)."""
        record = self.store.spending_limit(p["spendingLimitArn"])
        if p.get("spendingLimit") is not None:
            record.spending_limit = p["spendingLimit"]
        if p.get("timePeriod") is not None:
            record.start_at, record.end_at = self._period(p["timePeriod"])
        record.updated_at = utcnow()
        return {}

    async def delete_spending_limit(self, p: Params) -> dict[str, Any]:
        """DeleteSpendingLimit."""
        self.store.delete_spending_limit(p["spendingLimitArn"])
        return {}

    async def search_spending_limits(self, p: Params) -> dict[str, Any]:
        """SearchSpendingLimits."""
        return _summaries(
            search_spending_limits, self.store.spending_limit_list, p, "spendingLimits"
        )
