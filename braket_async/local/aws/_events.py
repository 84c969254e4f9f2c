"""State-change events of the local service, published to EventBridge (moto's, by default).

At every task status change the service publishes a "Braket Task State Change" event, at every
job status change a "Braket Job State Change" event, shaped like Braket's own (see
``docs/events.md``), with PutEvents on the embedded moto server. An EventBridge rule with an
SQS target then delivers them exactly as on AWS: the real PutEvents -> rule -> target path.

:class:`EventPublisher` is the store's status observer. The observer only snapshots the record
and puts one PutEvents entry on a bounded queue, so a status change never waits on the network;
one drain task sends the entries in PutEvents calls of at most 10 (the API's limit), retrying
failed entries a few times through :func:`~braket_async.polling.retry_target`. When the queue
is full, the event is dropped and counted (ledger ``events["overflow"]``). The fault config's
``events`` spec can drop, duplicate, reorder and delay events (ledger ``events["dropped"]``
etc.).

Unlike AWS, which reserves ``aws.*`` sources for its services, moto accepts PutEvents with
``Source="aws.braket"``; publishing to a real EventBridge endpoint would be refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from ..._aws_accessors import EventBridge
from ..._base import Clock
from ...polling import RetryBudget, retry_target
from ..state._faults import EventFault, FaultConfig
from ..state._ledger import Ledger
from ..state._store import JOB_TERMINAL, TASK_TERMINAL, JobRecord, TaskRecord, utcnow

__all__ = [
    "JOB_DETAIL_TYPE",
    "SOURCE",
    "TASK_DETAIL_TYPE",
    "EventPublisher",
    "cache_moto_event_paths",
    "count_moto_queue_messages_in_one_pass",
    "job_detail",
    "task_detail",
]

_log = logging.getLogger(__name__)

SOURCE = "aws.braket"
TASK_DETAIL_TYPE = "Braket Task State Change"
JOB_DETAIL_TYPE = "Braket Job State Change"
#: PutEvents accepts at most this many entries per call.
MAX_BATCH = 10
#: Attempts per batch before its entries are given up (ledger ``events["send_failed"]``).
_SEND_ATTEMPTS = 5
#: The retries of one batch: 50 ms doubling to 1 s between attempts (no jitter: the service
#: has one sender), within ``_SEND_ATTEMPTS`` attempts.
SEND_RETRY = RetryBudget(
    max_consecutive=_SEND_ATTEMPTS - 1, max_seconds=60.0, initial=0.05, maximum=1.0, jitter=0.0
)
_NO_FAULT = EventFault()
#: A reordered event is held until the next one is queued, or at most this long.
_REORDER_HOLD = 0.5


def _iso_millis(value: datetime) -> str:
    """``2021-10-28T01:17:42.898Z``: the detail's timestamp format (ISO-8601, ms, UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def task_detail(task: TaskRecord, status: str, inserted: bool) -> dict[str, Any]:
    """The ``detail`` of a task state change to ``status``, member for member in the order of
    Braket's documented example (``shots`` is a string there; ``endedAt`` only when ended)."""
    detail: dict[str, Any] = {
        "quantumTaskArn": task.arn,
        "status": status,
        "deviceArn": task.device_arn,
        "shots": str(task.shots),
        "outputS3Bucket": task.output_s3_bucket,
        "outputS3Directory": task.output_s3_directory,
        "createdAt": _iso_millis(task.created_at),
        "eventName": "INSERT" if inserted else "MODIFY",
    }
    if status in TASK_TERMINAL:
        detail["endedAt"] = _iso_millis(task.ended_at or utcnow())
    return detail


def job_detail(job: JobRecord, status: str, inserted: bool) -> dict[str, Any]:
    """The ``detail`` of a job state change to ``status`` (see docs/events.md: Braket publishes
    no example; jobArn, status, startedAt and endedAt are the members AWS's own templates read,
    the rest mirror the task event)."""
    detail: dict[str, Any] = {
        "jobArn": job.job_arn,
        "jobName": job.job_name,
        "status": status,
        "createdAt": _iso_millis(job.created_at),
        "eventName": "INSERT" if inserted else "MODIFY",
    }
    if job.started_at is not None:
        detail["startedAt"] = _iso_millis(job.started_at)
    if status in JOB_TERMINAL:
        detail["endedAt"] = _iso_millis(job.ended_at or utcnow())
        if job.failure_reason:
            detail["failureReason"] = job.failure_reason
    return detail


def cache_moto_event_paths() -> None:
    """Make moto's EventBridge deliver an event to a target in ~1 ms instead of ~25 ms.

    For every event and target, moto renders the target's input through eight JSONPath
    expressions, and ``jsonpath_ng.ext.parse`` builds a new PLY parser for each one. The
    expressions are a handful of constants, and a parsed path is immutable (``find`` only
    reads), so caching the parse is safe. Process-wide (moto's server runs in this process);
    idempotent; nothing to do when moto's events extra is not installed.
    """
    try:
        import jsonpath_ng.ext as jsonpath_ext
    except ImportError:  # pragma: no cover - comes with moto[events]
        return
    parse = getattr(jsonpath_ext, "parse", None)
    if parse is not None and not hasattr(parse, "cache_info"):
        setattr(jsonpath_ext, "parse", functools.lru_cache(maxsize=512)(parse))  # noqa: B010


def count_moto_queue_messages_in_one_pass() -> None:
    """Make moto's SQS SendMessage cost O(1) per queued message instead of ~7 us.

    moto's ``send_message`` reads the queue's whole attribute dict (for one FIFO setting),
    whose three approximate counts each walk every queued message and read the clock twice
    per message: a send costs ~20 us per message already queued, so a consumer that falls
    behind a burst of events makes every later delivery slower (quadratic). The counts below
    are moto's own definitions (visible: now > visible_at; delayed: now < delayed_until;
    ApproximateNumberOfMessages: visible and not delayed) with one clock read per count.
    Process-wide; idempotent; nothing to do when moto's sqs extra is not installed.
    """
    try:
        from moto.core.utils import unix_time_millis
        from moto.sqs import models as sqs_models
    except ImportError:  # pragma: no cover - comes with moto[sqs]
        return
    queue_cls: Any = sqs_models.Queue
    if getattr(queue_cls, "_braket_async_one_pass", False):
        return

    def available(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now > m.visible_at and not now < m.delayed_until)

    def not_visible(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def delayed(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    queue_cls.approximate_number_of_messages = property(available)
    queue_cls.approximate_number_of_messages_not_visible = property(not_visible)
    queue_cls.approximate_number_of_messages_delayed = property(delayed)
    queue_cls._braket_async_one_pass = True


class EventPublisher:
    """Publishes the store's status changes to EventBridge at ``endpoint_url`` (see module).

    ``observe`` is the :data:`~._store.StatusObserver`; ``start()`` creates the EventBridge
    client and the drain task, ``close()`` sends what is queued (for at most
    ``flush_timeout`` s) and stops.
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        ledger: Ledger,
        *,
        credentials: tuple[str, str] | None,
        faults: Callable[[], FaultConfig | None] = lambda: None,
        capacity: int = 10_000,
        flush_timeout: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = time.monotonic,
        retry: RetryBudget = SEND_RETRY,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.endpoint_url = endpoint_url
        self.region = region
        self._ledger = ledger
        self._credentials = credentials
        self._faults = faults
        self._flush_timeout = flush_timeout
        self._sleep = sleep
        self._clock = clock
        self._retry = retry
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=capacity)
        self._held: list[dict[str, Any]] = []
        #: Delayed events (None: the release of held, reordered ones) by their timer.
        self._timers: dict[asyncio.TimerHandle, dict[str, Any] | None] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: EventBridge | None = None
        self._drain: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Create the EventBridge client and start sending."""
        if self._stack is not None:
            raise RuntimeError("EventPublisher is already started")
        stack = contextlib.AsyncExitStack()
        creds = self._credentials
        try:
            client = await stack.enter_async_context(
                get_session().create_client(
                    "events",
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=AioConfig(retries={"mode": "standard", "max_attempts": 3}),
                    aws_access_key_id=creds[0] if creds else None,
                    aws_secret_access_key=creds[1] if creds else None,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._client = EventBridge.of(client)
        self._stack = stack
        self._loop = asyncio.get_running_loop()
        self._drain = asyncio.create_task(self._run(), name="braket-local-event-publisher")

    async def close(self) -> None:
        """Send what is queued (held and delayed events included, up to ``flush_timeout``
        seconds), then stop. Idempotent."""
        drain, self._drain = self._drain, None
        stack, self._stack = self._stack, None
        if drain is not None:
            timers, self._timers = self._timers, {}
            for timer, entry in timers.items():
                timer.cancel()
                self._release(entry)
            self._flush_held()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_timeout):
                    await self._queue.join()
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        self._client = None
        if stack is not None:
            await stack.aclose()

    # -- the observer --------------------------------------------------------------------

    def observe(self, record: TaskRecord | JobRecord, status: str, inserted: bool) -> None:
        """Queue the event for ``record`` moving to ``status``; never blocks."""
        if self._drain is None:
            return
        if isinstance(record, TaskRecord):
            arn, detail_type = record.arn, TASK_DETAIL_TYPE
            detail = task_detail(record, status, inserted)
        else:
            arn, detail_type = record.job_arn, JOB_DETAIL_TYPE
            detail = job_detail(record, status, inserted)
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Resources": [arn],
            "Detail": json.dumps(detail, separators=(",", ":")),
            "Time": utcnow(),
        }
        config = self._faults()
        fault = config.draw_event() if config is not None else None
        if fault is None or fault == _NO_FAULT:
            self._enqueue(entry)
            return
        events = self._ledger.events
        if fault.drop:
            events["dropped"] += 1
            return
        copies = 2 if fault.duplicate else 1
        if fault.duplicate:
            events["duplicated"] += 1
        for _ in range(copies):
            if fault.delay > 0:
                events["delayed"] += 1
                self._later(fault.delay, entry)
            elif fault.reorder:
                events["reordered"] += 1
                self._held.append(entry)
                self._later(_REORDER_HOLD, None)
            else:
                self._enqueue(entry)

    # -- internals -----------------------------------------------------------------------

    def _enqueue(self, entry: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self._ledger.events["overflow"] += 1
            _log.warning("local Braket: event queue full, dropping %s", entry["DetailType"])
            return
        # A held (reordered) event goes right after the one that overtook it.
        self._flush_held()

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        for entry in held:
            try:
                self._queue.put_nowait(entry)
            except asyncio.QueueFull:
                self._ledger.events["overflow"] += 1

    def _later(self, delay: float, entry: dict[str, Any] | None) -> None:
        assert self._loop is not None
        timer: asyncio.TimerHandle | None = None

        def fire() -> None:
            assert timer is not None
            self._timers.pop(timer, None)
            self._release(entry)

        timer = self._loop.call_later(delay, fire)
        self._timers[timer] = entry

    def _release(self, entry: dict[str, Any] | None) -> None:
        if entry is not None:
            self._enqueue(entry)
        else:
            self._flush_held()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._send(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        """PutEvents ``batch``, retrying the entries that failed (or the whole call) through
        ``retry_target`` within the retry budget; what still fails then is counted as
        ``send_failed``."""
        client = self._client
        assert client is not None
        pending = batch

        async def attempt() -> None:
            nonlocal pending
            codes = await client.put_events(pending)
            failed = [entry for entry, code in zip(pending, codes, strict=True) if code]
            self._ledger.events["published"] += len(pending) - len(failed)
            if failed:
                pending = failed
                raise _EntriesRefused([code for code in codes if code])

        def retrying(exc: BaseException, delay: float) -> None:
            _log.warning("local Braket: PutEvents failed (%r); retrying in %.2fs", exc, delay)

        try:
            await retry_target(
                attempt,
                self._retry.start(self._clock),
                sleep=self._sleep,
                predicate=_any_failure,
                on_error=retrying,
            )
        except Exception as exc:  # the retry budget is spent
            self._ledger.events["send_failed"] += len(pending)
            _log.warning("local Braket: gave up publishing %d event(s): %r", len(pending), exc)


class _EntriesRefused(Exception):
    """PutEvents went through but refused some entries (their error codes)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"PutEvents refused {len(codes)} entr(ies): {sorted(set(codes))}")


def _any_failure(exc: BaseException) -> bool:
    # Every failure of a PutEvents is retried (the service's own sender: there is nobody
    # to report to), until the budget is spent.
    return True
