"""Concurrent batch submission of quantum tasks: at quota speed, idempotent, resumable.

::

    batch = braket.submit_batch(
        circuits, device_arn=SV1, shots=100,
        output_s3_bucket="amazon-braket-my-bucket", output_s3_key_prefix="batch",
        manifest="run.jsonl",
    )
    async with batch:
        async for outcome in batch:          # one per item, in completion order
            if outcome.ok:
                print(outcome.index, outcome.task.status)

How it works:

* **Lazy**: :meth:`BraketSession.submit_batch <BatchMixin.submit_batch>` checks its arguments
  and returns a :class:`Batch`; nothing is sent until the batch is iterated, awaited
  (:meth:`Batch.wait`, :meth:`Batch.results`) or :meth:`Batch.start`-ed.
* **Quota speed**: ``max_in_flight`` worker coroutines create tasks through the session's
  shared :class:`~braket_async.ratelimit.RateLimiter`, which paces CreateQuantumTask just under
  its quota (and the account-wide one) and adapts when the service throttles anyway.
* **Idempotent**: item ``i`` is always created with client token ``f"{batch_id}-{i}"``. Every
  retry (botocore's own and ours) and every resumed attempt sends the same token, so the
  service answers with the task it already created instead of making a second one.
* **Per-item outcomes**: an item that fails (a ``ValidationException``, a bad program) gets a
  :class:`BatchOutcome` with its error and the others go on (unless ``fail_fast``). Transient
  errors (429, 5xx, dropped connections) are retried with backoff within ``retry``.
* **Tracking**: with ``track=True`` (default) created tasks are followed by one
  :class:`~braket_async.tracking.TaskTracker`, and an item's outcome arrives when its task is
  terminal (``QuantumTaskFailed`` / ``QuantumTaskCancelled`` as its error when it did not
  complete); ``results=True`` on :meth:`Batch.as_completed` (or :meth:`Batch.results`) also
  downloads each completed task's result.
* **Manifest**: with ``manifest=path`` each created task is appended to a JSON-lines file
  (written by a thread, never on the event loop). After a crash,
  ``submit_batch(same items, ..., resume=path)`` reports the recorded tasks without sending
  anything for them and submits the rest; items that were in flight at the crash are sent
  again with their original token, which the service de-duplicates.
* **Cancel**: :meth:`Batch.cancel` stops submitting and cancels on the service every task the
  batch created (including ones whose create response was lost), paced by the
  CancelQuantumTask quota (2/s by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

import attrs

from . import errors
from ._base import Clock, SessionCore, Sleep
from .errors import ItemNotSubmitted
from .models import QuantumTask, QuantumTaskStatus
from .polling import PollPolicy, RetryBudget, is_transient
from .programs import OpenQASMProgram, coerce_action, coerce_device_parameters
from .tracking import SweepPolicy, TaskTracker

if TYPE_CHECKING:
    from .models.results import GateModelResult

__all__ = [
    "DEFAULT_BATCH_RETRY",
    "MANIFEST_VERSION",
    "Batch",
    "BatchMixin",
    "BatchOutcome",
    "BatchProgress",
    "ItemNotSubmitted",
    "TaskRequest",
    "client_token_for",
]

#: Retries of one item's CreateQuantumTask (on top of botocore's own attempts).
DEFAULT_BATCH_RETRY = RetryBudget(max_consecutive=10, max_seconds=300.0, initial=0.5, maximum=15.0)
#: Format version written in a manifest's header line.
MANIFEST_VERSION = 1

_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$")
_MANIFEST_KIND = "braket-async.batch"
#: How far before the batch's recorded start a resumed task may have been created (clock skew).
_RESUME_SLACK = timedelta(minutes=5)
_RESULT_WORKERS = 8
_CANCEL_CONCURRENCY = 20


# ---------------------------------------------------------------------------------- values


@attrs.frozen
class TaskRequest:
    """One full CreateQuantumTask request in a batch; ``None`` fields take the batch's value.

    Items may also be plain mappings with an ``"action"`` key and the same keys in snake_case
    or the wire's camelCase (``{"action": qasm, "shots": 10, "deviceArn": ...}``).
    ``clientToken`` is not accepted: the batch derives it from its id and the item's index.
    """

    action: Any
    device_arn: str | None = None
    shots: int | None = None
    output_s3_bucket: str | None = None
    output_s3_key_prefix: str | None = None
    device_parameters: Any = None
    tags: Mapping[str, str] | None = None
    job_token: str | None = None


_REQUEST_KEYS: Mapping[str, str] = {
    "action": "action",
    "device_arn": "device_arn",
    "deviceArn": "device_arn",
    "shots": "shots",
    "output_s3_bucket": "output_s3_bucket",
    "outputS3Bucket": "output_s3_bucket",
    "output_s3_key_prefix": "output_s3_key_prefix",
    "outputS3KeyPrefix": "output_s3_key_prefix",
    "device_parameters": "device_parameters",
    "deviceParameters": "device_parameters",
    "tags": "tags",
    "job_token": "job_token",
    "jobToken": "job_token",
}
_REQUIRED = ("device_arn", "shots", "output_s3_bucket", "output_s3_key_prefix")
_UNKNOWN_KEY = (
    "is not a member of a batch item request (the batch sets clientToken); expected one of "
    f"{sorted(_REQUEST_KEYS)}"
)


@attrs.frozen
class BatchOutcome:
    """What happened to item ``index`` of a batch (reported exactly once per item).

    ``task_arn`` is set once the task exists; ``task`` holds its terminal state when the batch
    tracks tasks; ``error`` says why the item did not complete: its create failed
    (``ValidationException``, ``ParameterError``, retries exhausted, ...), its task ended
    FAILED (``QuantumTaskFailed``) or CANCELLED (``QuantumTaskCancelled``), its result could
    not be fetched, or it was never sent (:class:`ItemNotSubmitted`). ``result`` is the
    downloaded result when asked for. ``attempts`` counts create calls this run made for it
    (0 for an item resumed from the manifest, which is then ``resumed``).
    """

    index: int
    client_token: str
    task_arn: str | None = None
    task: QuantumTask | None = None
    error: errors.BraketError | None = None
    result: GateModelResult | None = None
    attempts: int = 0
    resumed: bool = False

    @property
    def ok(self) -> bool:
        """No error: created (and, when tracked, COMPLETED)."""
        return self.error is None

    @property
    def status(self) -> QuantumTaskStatus | None:
        """The task's terminal status when tracked, else ``None``."""
        return self.task.status if self.task is not None else None


@attrs.frozen
class BatchProgress:
    """Counts of a batch's items, handed to the ``progress`` callback on every change.

    ``submitted``: tasks created (or found in the manifest); ``submitting``: create calls
    under way (including those waiting for the rate limiter); ``submit_failed``: items whose
    create failed for good; ``not_submitted``: items never sent (cancel, ``fail_fast``);
    ``pending``: created tasks not yet seen terminal, i.e. QUEUED or RUNNING on the service
    (telling those two apart would cost a status call per task); ``completed`` / ``failed`` /
    ``cancelled``: tasks seen in that terminal state. ``done`` counts reported outcomes.
    """

    total: int
    submitted: int = 0
    submitting: int = 0
    submit_failed: int = 0
    not_submitted: int = 0
    pending: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    done: int = 0
    elapsed: float = 0.0

    @property
    def finished(self) -> bool:
        """Every item has its outcome."""
        return self.done >= self.total


def client_token_for(batch_id: str, index: int) -> str:
    """The CreateQuantumTask client token of item ``index`` of batch ``batch_id``."""
    return f"{batch_id}-{index}"


# ---------------------------------------------------------------------------------- manifest


class _ManifestWriter:
    """Append-only JSON lines, flushed by a worker thread so the event loop never blocks.

    Lines accumulate in memory and each flush writes everything queued since the previous one
    (one ``to_thread`` call per burst, not per line).
    """

    def __init__(self, path: Path, *, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def open(self) -> None:
        self._file = await asyncio.to_thread(self._open)

    def _open(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        self._pending.append(json.dumps(record, separators=(",", ":")) + "\n")
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_all())

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                lines, self._pending = self._pending, []
                await asyncio.to_thread(self._write, "".join(lines))
        except Exception as exc:  # a full disk must not pass silently
            self.error = exc

    def _write(self, text: str) -> None:
        assert self._file is not None
        self._file.write(text)
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    async def flush(self) -> None:
        """Write everything appended so far."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._pending:
            await self._flush_all()
        if self.error is not None:
            raise self.error

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            file, self._file = self._file, None
            if file is not None:
                await asyncio.to_thread(file.close)


@attrs.frozen
class _ManifestState:
    header: Mapping[str, Any]
    arns: Mapping[int, str]


def _read_manifest(path: Path) -> _ManifestState:
    """Parse a manifest and cut off a torn last line (a crash mid-write), so appending goes
    on from a clean line end. Blocking: run it in a thread. Any other unreadable line is an
    error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise errors.ParameterError("resume", f"manifest {str(path)!r} does not exist") from None
    header: Mapping[str, Any] | None = None
    arns: dict[int, str] = {}
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        end = offset + len(line) + 1
        last = number == len(lines)
        if not line.strip():
            offset = end
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if last:  # the torn tail of a crash: drop it
                with path.open("r+b") as file:
                    file.truncate(offset)
                break
            raise errors.ParameterError(
                "resume", f"manifest {str(path)!r} line {number} is not JSON"
            ) from None
        if last:  # a whole record without its newline
            with path.open("ab") as file:
                file.write(b"\n")
        offset = end
        if header is None:
            if not isinstance(record, dict) or record.get("kind") != _MANIFEST_KIND:
                raise errors.ParameterError(
                    "resume", f"{str(path)!r} is not a braket-async batch manifest"
                )
            header = record
            continue
        if isinstance(record, dict) and record.get("kind") == "task":
            index, arn = record.get("index"), record.get("task_arn")
            if isinstance(index, int) and isinstance(arn, str):
                arns.setdefault(index, arn)
    if header is None:
        raise errors.ParameterError("resume", f"manifest {str(path)!r} is empty")
    return _ManifestState(header, arns)


def _manifest_is_fresh(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


# ---------------------------------------------------------------------------------- batch


class _Session(Protocol):
    async def create_quantum_task(self, **kwargs: Any) -> str: ...

    async def cancel_quantum_task(self, quantum_task_arn: str) -> Any: ...

    async def get_quantum_task_result(self, task: QuantumTask) -> GateModelResult: ...

    @property
    def sleep(self) -> Sleep: ...

    @property
    def clock(self) -> Clock: ...


ProgressCallback = Callable[[BatchProgress], object]


class Batch:
    """A batch of quantum-task creations and their outcomes (see the module docstring).

    Use it as an async context manager (leaving the block stops everything the batch runs
    in the background, without cancelling tasks on the service) and/or consume it:
    ``async for outcome in batch``, :meth:`as_completed`, :meth:`wait`, :meth:`results`.
    Iterating twice, or from several consumers, sees every outcome each time.
    """

    def __init__(
        self,
        session: Any,
        items: Sequence[Any],
        *,
        defaults: Mapping[str, Any],
        batch_id: str | None,
        max_in_flight: int,
        manifest: Path | None,
        resume: Path | None,
        fail_fast: bool,
        retry: RetryBudget,
        progress: ProgressCallback | None,
        track: bool,
        poll: PollPolicy | None,
        sweep: SweepPolicy | None,
        fsync: bool,
        sleep: Sleep | None,
        clock: Clock | None,
    ) -> None:
        self._session = cast(_Session, session)
        self._items = items
        self._defaults = dict(defaults)
        self._batch_id = batch_id
        self._max_in_flight = max_in_flight
        self._manifest_path = resume if resume is not None else manifest
        self._resume = resume is not None
        self._fail_fast = fail_fast
        self._retry = retry
        self._progress_cb = progress
        self._track = track
        self._poll = poll
        self._sweep = sweep
        self._fsync = fsync
        self._sleep: Sleep = sleep or self._session.sleep
        self._clock: Clock = clock or self._session.clock

        n = len(items)
        self._arns: list[str | None] = [None] * n
        self._attempts = [0] * n
        self._outcomes: list[BatchOutcome | None] = [None] * n
        self._resumed: set[int] = set()
        self._uncertain: set[int] = set()  # a create may have taken effect, ARN unknown
        self._in_flight: set[int] = set()
        self._arn_index: dict[str, int] = {}
        self._done: list[int] = []  # indices in the order their outcome became final
        self._with_results: list[int] = []  # same, once any result was fetched
        self._counts = dict.fromkeys(
            ("submitted", "submit_failed", "not_submitted", "completed", "failed", "cancelled"), 0
        )

        self._runner: asyncio.Task[None] | None = None
        self._results_runner: asyncio.Task[None] | None = None
        self._result_queue: asyncio.Queue[int] | None = None
        self._want_results = False
        self._tracker: TaskTracker | None = None
        self._writer: _ManifestWriter | None = None
        self._started_at: float | None = None
        self._created_at = datetime.now(UTC)
        self._stopping = False
        self._cancelled = False
        self._closed = False
        self._fatal: BaseException | None = None
        self._submission_done = asyncio.Event()
        self._follow_wakeup = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ public state

    @property
    def batch_id(self) -> str | None:
        """The batch id (client tokens are ``f"{batch_id}-{index}"``); ``None`` until a batch
        resumed without an explicit id has read it from its manifest."""
        return self._batch_id

    @property
    def manifest_path(self) -> Path | None:
        """The manifest file, if any."""
        return self._manifest_path

    def __len__(self) -> int:
        return len(self._items)

    def client_token(self, index: int) -> str:
        """The client token of item ``index``."""
        if self._batch_id is None:
            raise errors.SessionStateError("the batch id is read from the manifest at start")
        return client_token_for(self._batch_id, index)

    @property
    def task_arns(self) -> dict[int, str]:
        """Item index -> ARN of every task created (or resumed) so far."""
        return {i: arn for i, arn in enumerate(self._arns) if arn is not None}

    @property
    def progress(self) -> BatchProgress:
        """Current counts."""
        c = self._counts
        terminal = c["completed"] + c["failed"] + c["cancelled"]
        elapsed = 0.0 if self._started_at is None else self._clock() - self._started_at
        return BatchProgress(
            total=len(self._items),
            submitted=c["submitted"],
            submitting=len(self._in_flight),
            submit_failed=c["submit_failed"],
            not_submitted=c["not_submitted"],
            pending=c["submitted"] - terminal if self._track else 0,
            completed=c["completed"],
            failed=c["failed"],
            cancelled=c["cancelled"],
            done=len(self._done),
            elapsed=elapsed,
        )

    @property
    def done(self) -> bool:
        """Every item has its outcome."""
        return len(self._done) == len(self._items)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Batch:
        """Start submitting (idempotent; iterating or awaiting the batch starts it too)."""
        if self._closed:
            raise errors.SessionStateError("this batch is closed; submit a new one")
        if self._runner is None:
            asyncio.get_running_loop()  # a clear error when called outside the event loop
            self._started_at = self._clock()
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name=f"braket-async batch {self._batch_id}"
            )
        return self

    async def __aenter__(self) -> Batch:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop everything the batch runs in the background and flush the manifest.

        Tasks already created keep running on the service (see :meth:`cancel`); create calls
        in flight are abandoned (a later ``resume`` sends them again with the same token).
        Outcomes not reported yet never will be; iterators end.
        """
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        self._stop_event.set()
        for task in (self._results_runner, self._runner):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task})  # (a cancellation of our caller still propagates)
        self._notify()

    # ------------------------------------------------------------------ consumers

    def __aiter__(self) -> AsyncIterator[BatchOutcome]:
        return self.as_completed()

    async def as_completed(self, *, results: bool = False) -> AsyncIterator[BatchOutcome]:
        """Each item's outcome once, in completion order (those already final first).

        ``results=True`` also downloads the result of every COMPLETED task first (needs
        ``track=True``). Raises the batch's fatal error, if any, once the outcomes before it
        are delivered (``fail_fast``, a tracker or manifest failure).
        """
        self.start()
        if results:
            self._request_results()
        order = self._with_results if results else self._done
        index = 0
        while True:
            while index < len(order):
                outcome = self._outcomes[order[index]]
                index += 1
                assert outcome is not None
                yield outcome
            if self._fatal is not None:
                raise self._fatal
            if len(order) == len(self._items) or self._closed:
                return
            await self._wait_change()

    async def wait(self) -> list[BatchOutcome]:
        """Every item's outcome, in item order, once all are final."""
        async for _ in self.as_completed():
            pass
        return self._collect()

    async def results(self) -> list[BatchOutcome]:
        """Like :meth:`wait`, with each COMPLETED task's result downloaded (``outcome.result``)."""
        async for _ in self.as_completed(results=True):
            pass
        return self._collect()

    def _collect(self) -> list[BatchOutcome]:
        if not self.done:
            raise errors.SessionStateError(
                f"batch {self._batch_id} was closed with {len(self._items) - len(self._done)} "
                "outcomes outstanding"
            )
        return [cast(BatchOutcome, o) for o in self._outcomes]

    async def _wait_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        if self._progress_cb is not None:
            try:
                self._progress_cb(self.progress)
            except Exception as exc:
                self._fail(exc)

    # ------------------------------------------------------------------ cancel

    async def cancel(self) -> tuple[str, ...]:
        """Stop submitting and cancel on the service every task the batch created.

        Create calls under way are let finish (so no task is created behind our back); an
        item whose create response was lost is first resolved by sending its create again
        with the same client token. Items never sent get :class:`ItemNotSubmitted`. Tasks
        already terminal are skipped. Returns the ARNs whose cancellation was requested.
        CancelQuantumTask is limited to 2 calls/s by default: cancelling many tasks takes time.
        """
        if self._closed:
            raise errors.SessionStateError("this batch is closed; cancel it before closing")
        self._cancelled = True
        self._stopping = True
        self._stop_event.set()
        self.start()
        await self._submission_done.wait()
        targets = [
            arn
            for arn, outcome in zip(self._arns, self._outcomes, strict=True)
            if arn is not None
            and not (outcome is not None and outcome.task is not None)  # seen terminal
        ]
        limit = asyncio.Semaphore(_CANCEL_CONCURRENCY)
        failures: list[BaseException] = []

        async def cancel_one(arn: str) -> None:
            async with limit:
                budget = self._retry.start(self._clock)
                while True:
                    try:
                        await self._session.cancel_quantum_task(arn)
                        return
                    except errors.ConflictException:
                        return  # already COMPLETED or FAILED
                    except errors.BraketError as exc:
                        if not is_transient(exc):
                            failures.append(exc)
                            return
                        try:
                            delay = budget.failed(exc)
                        except errors.BraketError as final:
                            failures.append(final)
                            return
                        await self._sleep(delay)

        async with asyncio.TaskGroup() as group:
            for arn in targets:
                group.create_task(cancel_one(arn))
        if failures:
            raise failures[0]
        return tuple(targets)

    async def _resolve(self, index: int) -> None:
        """Learn the ARN of an item whose create may have taken effect (same token)."""
        budget = self._retry.start(self._clock)
        request = self._request(index)
        while True:
            try:
                arn = await self._session.create_quantum_task(
                    **request, client_token=self.client_token(index)
                )
            except errors.BraketError as exc:
                if not is_transient(exc):
                    return  # a definite answer: no task exists
                await self._sleep(budget.failed(exc))
                continue
            self._attempts[index] += 1
            self._uncertain.discard(index)
            self._created(index, arn)
            return

    # ------------------------------------------------------------------ the run

    async def _run(self) -> None:
        try:
            await self._prepare()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._submit_all())
                if self._track:
                    group.create_task(self._follow())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._submission_done.set()
            self._follow_wakeup.set()
            await self._finish()

    async def _finish(self) -> None:
        if not self._closed and not self.done:
            # Stopped from outside (e.g. its task was cancelled): consumers must not wait on.
            self._fail(errors.SessionStateError(
                f"batch {self._batch_id} stopped with {len(self._items) - len(self._done)} "
                "outcomes outstanding"
            ))
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            await tracker.aclose()
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                await writer.close()
            except Exception as exc:
                self._fail(exc)
        self._notify()

    def _fail(self, exc: BaseException) -> None:
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # a TaskGroup wraps the one error that stopped it
        if self._fatal is None:
            self._fatal = exc
        self._stopping = True
        self._stop_event.set()

    async def _prepare(self) -> None:
        path = self._manifest_path
        if path is not None:
            if self._resume:
                state = await asyncio.to_thread(_read_manifest, path)
                self._adopt(state)
                self._writer = _ManifestWriter(path, fsync=self._fsync)
                await self._writer.open()
            else:
                if not await asyncio.to_thread(_manifest_is_fresh, path):
                    raise errors.ParameterError(
                        "manifest",
                        f"{str(path)!r} already holds a batch; pass resume={str(path)!r} to "
                        "continue it, or name a new file",
                    )
                self._writer = _ManifestWriter(path, fsync=self._fsync)
                await self._writer.open()
                self._writer.append(
                    {
                        "kind": _MANIFEST_KIND,
                        "version": MANIFEST_VERSION,
                        "batch_id": self._batch_id,
                        "items": len(self._items),
                        "created_at": self._created_at.isoformat(),
                    }
                )
        if self._track:
            if self._resumed:
                self._tracker = TaskTracker.resume(
                    self._session,
                    [cast(str, self._arns[i]) for i in sorted(self._resumed)],
                    created_after=self._created_at - _RESUME_SLACK,
                    poll=self._poll,
                    sweep=self._sweep,
                    sleep=self._sleep,
                    clock=self._clock,
                )
            else:
                self._tracker = TaskTracker(
                    self._session,
                    poll=self._poll,
                    sweep=self._sweep,
                    sleep=self._sleep,
                    clock=self._clock,
                )
        for index in sorted(self._resumed):
            if not self._track:
                self._finalize(index, BatchOutcome(
                    index, self.client_token(index), cast(str, self._arns[index]), resumed=True
                ))
        self._notify()

    def _adopt(self, state: _ManifestState) -> None:
        header = state.header
        recorded = header.get("batch_id")
        if self._batch_id is None:
            if not isinstance(recorded, str) or not _BATCH_ID.match(recorded):
                raise errors.ParameterError(
                    "resume", f"the manifest has no valid batch_id: {recorded!r}"
                )
            self._batch_id = recorded
        elif recorded != self._batch_id:
            raise errors.ParameterError(
                "batch_id",
                f"the manifest belongs to batch {header.get('batch_id')!r}, not {self._batch_id!r}",
            )
        if header.get("items") != len(self._items):
            raise errors.ParameterError(
                "items",
                f"the manifest's batch has {header.get('items')} items, got {len(self._items)}: "
                "resume with the same items in the same order",
            )
        created = header.get("created_at")
        if isinstance(created, str):
            with contextlib.suppress(ValueError):
                self._created_at = datetime.fromisoformat(created)
        for index, arn in state.arns.items():
            if 0 <= index < len(self._items) and self._arns[index] is None:
                self._arns[index] = arn
                self._arn_index[arn] = index
                self._resumed.add(index)
                self._counts["submitted"] += 1

    # ------------------------------------------------------------------ submission

    async def _submit_all(self) -> None:
        todo = deque(i for i, arn in enumerate(self._arns) if arn is None)
        workers = min(self._max_in_flight, len(todo))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker(todo))
            if self._cancelled or self._fatal is not None:
                # Stopped early: learn the ARN of every create that may have taken effect,
                # so that no task exists the batch does not know (and cancel() can reach).
                for index in sorted(self._uncertain):
                    if self._arns[index] is None:
                        await self._resolve(index)
                reason = "the batch was cancelled" if self._cancelled else "an earlier item failed"
                self._mark_not_submitted(reason)
        finally:
            self._submission_done.set()
            self._follow_wakeup.set()

    async def _worker(self, todo: deque[int]) -> None:
        while todo and not self._stopping:
            await self._submit_one(todo.popleft())

    def _request(self, index: int) -> dict[str, Any]:
        """The create_quantum_task keyword arguments of item ``index`` (no client token)."""
        item = self._items[index]
        where = f"items[{index}]"
        fields = dict(self._defaults)
        if isinstance(item, TaskRequest):
            given = {k: v for k, v in attrs.asdict(item, recurse=False).items() if v is not None}
        elif isinstance(item, Mapping) and "action" in item:
            given = {}
            for key, value in item.items():
                name = _REQUEST_KEYS.get(key)
                if name is None:
                    raise errors.ParameterError(f"{where}.{key}", _UNKNOWN_KEY)
                if value is not None:
                    given[name] = value
        else:
            given = {"action": item}
        tags = given.pop("tags", None)
        if tags is not None:
            fields["tags"] = {**(fields.get("tags") or {}), **tags}
        fields.update(given)
        for name in _REQUIRED:
            if fields.get(name) is None:
                raise errors.ParameterError(
                    f"{where}.{name}", "is required: give it to submit_batch or in the item"
                )
        fields["action"] = coerce_action(fields["action"], field=f"{where}.action")
        parameters = coerce_device_parameters(
            fields.get("device_parameters"), field=f"{where}.device_parameters"
        )
        if parameters is None:
            fields.pop("device_parameters", None)
        else:
            fields["device_parameters"] = parameters
        if not fields.get("tags"):
            fields.pop("tags", None)
        return fields

    async def _submit_one(self, index: int) -> None:
        token = self.client_token(index)
        try:
            request = self._request(index)
        except errors.BraketError as exc:
            self._submit_failed(index, exc)
            return
        budget = self._retry.start(self._clock)
        self._in_flight.add(index)
        try:
            while True:
                self._attempts[index] += 1
                try:
                    arn = await self._session.create_quantum_task(**request, client_token=token)
                except errors.BraketError as exc:
                    if not is_transient(exc):
                        self._uncertain.discard(index)
                        self._submit_failed(index, exc)
                        return
                    self._uncertain.add(index)
                    try:
                        delay = budget.failed(exc)
                    except errors.BraketError as final:
                        self._submit_failed(index, final)
                        return
                    if not await self._backoff(delay):
                        return  # stopping: left uncertain for cancel() / resume
                    continue
                self._uncertain.discard(index)
                self._created(index, arn)
                return
        finally:
            self._in_flight.discard(index)

    async def _backoff(self, delay: float) -> bool:
        """Sleep ``delay`` unless the batch stops first; False when it stopped."""
        if self._stopping:
            return False
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
        return not self._stopping

    def _created(self, index: int, arn: str) -> None:
        self._arns[index] = arn
        self._arn_index[arn] = index
        self._counts["submitted"] += 1
        if self._writer is not None:
            token = self.client_token(index)
            self._writer.append(
                {"kind": "task", "index": index, "task_arn": arn, "client_token": token}
            )
            if self._writer.error is not None:  # an earlier write failed (disk full, ...)
                self._fail(self._writer.error)
        if self._tracker is not None:
            self._tracker.add(arn, device_arn=self._device_of(index))
            self._follow_wakeup.set()
            self._notify()
        else:
            self._finalize(index, BatchOutcome(
                index, self.client_token(index), arn, attempts=self._attempts[index]
            ))

    def _device_of(self, index: int) -> str | None:
        item = self._items[index]
        device = None
        if isinstance(item, TaskRequest):
            device = item.device_arn
        elif isinstance(item, Mapping) and "action" in item:
            device = item.get("device_arn") or item.get("deviceArn")
        return device or self._defaults.get("device_arn")

    def _submit_failed(self, index: int, exc: errors.BraketError) -> None:
        self._counts["submit_failed"] += 1
        if self._writer is not None:
            self._writer.append(
                {"kind": "error", "index": index, "error": type(exc).__name__, "message": str(exc)}
            )
        self._finalize(index, BatchOutcome(
            index, self.client_token(index), error=exc, attempts=self._attempts[index]
        ))
        if self._fail_fast:
            self._fail(exc)

    def _mark_not_submitted(self, reason: str) -> None:
        for index, arn in enumerate(self._arns):
            if arn is None and self._outcomes[index] is None and index not in self._in_flight:
                self._counts["not_submitted"] += 1
                self._finalize(index, BatchOutcome(
                    index, self.client_token(index), error=ItemNotSubmitted(index, reason),
                    attempts=self._attempts[index],
                ), notify=False)
        self._notify()

    def _finalize(self, index: int, outcome: BatchOutcome, *, notify: bool = True) -> None:
        if self._outcomes[index] is not None:
            return  # reported once
        self._outcomes[index] = outcome
        self._done.append(index)
        if self._want_results:
            self._queue_result(index)
        if notify:
            self._notify()

    # ------------------------------------------------------------------ tracking

    async def _follow(self) -> None:
        tracker = self._tracker
        assert tracker is not None
        reported: set[str] = set()
        async with tracker:
            while True:
                self._follow_wakeup.clear()
                async for task in tracker.as_completed():
                    arn = task.quantum_task_arn
                    if arn in reported:
                        continue  # a restarted iteration replays earlier tasks
                    reported.add(arn)
                    self._finished(task)
                if self._submission_done.is_set() and not tracker.pending:
                    return
                await self._follow_wakeup.wait()

    def _finished(self, task: QuantumTask) -> None:
        index = self._arn_index.get(task.quantum_task_arn)
        if index is None:
            return
        error: errors.BraketError | None = None
        if task.status == QuantumTaskStatus.COMPLETED:
            self._counts["completed"] += 1
        elif task.status == QuantumTaskStatus.CANCELLED:
            self._counts["cancelled"] += 1
            error = errors.QuantumTaskCancelled(task)
        else:
            self._counts["failed"] += 1
            error = errors.QuantumTaskFailed(task)
        self._finalize(index, BatchOutcome(
            index,
            self.client_token(index),
            task.quantum_task_arn,
            task=task,
            error=error,
            attempts=self._attempts[index],
            resumed=index in self._resumed,
        ))

    # ------------------------------------------------------------------ results

    def _request_results(self) -> None:
        if self._want_results:
            return
        if not self._track:
            raise errors.ParameterError("results", "needs a batch submitted with track=True")
        self._want_results = True
        self._result_queue = asyncio.Queue()
        for index in self._done:
            self._queue_result(index)
        self._results_runner = asyncio.get_running_loop().create_task(
            self._fetch_results(), name=f"braket-async batch {self._batch_id} results"
        )

    def _queue_result(self, index: int) -> None:
        outcome = self._outcomes[index]
        assert outcome is not None and self._result_queue is not None
        if outcome.error is None and outcome.task is not None:
            self._result_queue.put_nowait(index)
        else:
            self._with_results.append(index)  # nothing to download

    async def _fetch_results(self) -> None:
        queue = self._result_queue
        assert queue is not None

        async def worker() -> None:
            while True:
                index = await queue.get()
                try:
                    await self._fetch_result(index)
                finally:
                    queue.task_done()

        workers = [asyncio.ensure_future(worker()) for _ in range(_RESULT_WORKERS)]
        try:
            while len(self._with_results) < len(self._items) and self._fatal is None:
                await self._wait_change()
                for w in workers:
                    if w.done() and w.exception() is not None:
                        self._fail(cast(BaseException, w.exception()))
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._notify()

    async def _fetch_result(self, index: int) -> None:
        outcome = self._outcomes[index]
        assert outcome is not None and outcome.task is not None
        budget = self._retry.start(self._clock)
        while True:
            try:
                result = await self._session.get_quantum_task_result(outcome.task)
            except errors.BraketError as exc:
                if is_transient(exc):
                    try:
                        await self._sleep(budget.failed(exc))
                        continue
                    except errors.BraketError:
                        pass
                outcome = attrs.evolve(outcome, error=exc)
                break
            outcome = attrs.evolve(outcome, result=result)
            break
        self._outcomes[index] = outcome
        self._with_results.append(index)
        self._notify()


# ---------------------------------------------------------------------------------- mixin


class BatchMixin(SessionCore):
    """Batch submission of :class:`~braket_async.BraketSession` (see :mod:`braket_async.batch`)."""

    def submit_batch(
        self,
        items: Iterable[Any],
        *,
        device_arn: str | None = None,
        shots: int | None = None,
        output_s3_bucket: str | None = None,
        output_s3_key_prefix: str | None = None,
        device_parameters: Any = None,
        tags: Mapping[str, str] | None = None,
        max_in_flight: int = 50,
        batch_id: str | None = None,
        manifest: str | os.PathLike[str] | None = None,
        resume: str | os.PathLike[str] | None = None,
        fail_fast: bool = False,
        retry: RetryBudget | None = None,
        progress: ProgressCallback | None = None,
        track: bool = True,
        poll: PollPolicy | None = None,
        sweep: SweepPolicy | None = None,
        fsync: bool = False,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> Batch:
        """Create one quantum task per item, concurrently, at the quota's pace; returns a
        :class:`Batch` (nothing is sent before it is started, iterated or awaited).

        ``items``: OpenQASM sources, :class:`~braket_async.programs.OpenQASMProgram` s, action
        dicts / JSON strings, Braket SDK circuits (anything with ``to_ir()``), or full
        requests (:class:`TaskRequest` or a mapping with an ``"action"`` key) whose fields
        override the batch-wide ones given here. ``max_in_flight`` bounds concurrent create
        calls. ``batch_id`` (default: a random one; 1-40 characters ``[A-Za-z0-9._:-]``)
        makes client tokens ``f"{batch_id}-{index}"``. ``manifest`` writes a JSON-lines record
        of every created task; ``resume=path`` continues the batch of that manifest (same
        items, same order; the batch id is read from it). ``fail_fast`` stops at the first
        item that fails and raises its error. ``retry`` bounds retries of transient errors
        per item. ``progress`` is called with a :class:`BatchProgress` on every change (keep
        it quick; an exception from it stops the batch). ``track=False`` reports items once
        created instead of once terminal. ``poll`` and ``sweep`` tune the tracker. ``fsync``
        syncs the manifest to disk on every write (survives power loss, slower).
        """
        item_list = items if isinstance(items, Sequence) and not isinstance(items, str) else None
        if item_list is None:
            if isinstance(items, str | bytes):
                raise errors.ParameterError("items", "must be an iterable of items, got a string")
            item_list = list(items)
        if device_arn is not None and not isinstance(device_arn, str):
            raise errors.ParameterError("device_arn", f"must be a string, got {device_arn!r}")
        if shots is not None and (not _is_int(shots) or shots < 0):
            raise errors.ParameterError("shots", f"must be an int >= 0, got {shots!r}")
        for name, value in (
            ("output_s3_bucket", output_s3_bucket),
            ("output_s3_key_prefix", output_s3_key_prefix),
        ):
            if value is not None and (not isinstance(value, str) or not value):
                raise errors.ParameterError(name, f"must be a non-empty string, got {value!r}")
        if not _is_int(max_in_flight) or max_in_flight < 1:
            raise errors.ParameterError(
                "max_in_flight", f"must be an int >= 1, got {max_in_flight!r}"
            )
        if tags is not None and not (
            isinstance(tags, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise errors.ParameterError("tags", "must be a mapping of strings to strings")
        if manifest is not None and resume is not None and Path(manifest) != Path(resume):
            raise errors.ParameterError(
                "manifest", "give manifest= for a new batch or resume= to continue one, not both"
            )
        if batch_id is None:
            batch_id = uuid.uuid4().hex if resume is None else None
        if batch_id is not None and not (isinstance(batch_id, str) and _BATCH_ID.match(batch_id)):
            raise errors.ParameterError(
                "batch_id", f"must be 1-40 characters of [A-Za-z0-9._:-], got {batch_id!r}"
            )
        defaults = {
            "device_arn": device_arn,
            "shots": shots,
            "output_s3_bucket": output_s3_bucket,
            "output_s3_key_prefix": output_s3_key_prefix,
            "device_parameters": device_parameters,
            "tags": dict(tags) if tags else None,
        }
        _check_items(item_list, defaults)
        return Batch(
            self,
            item_list,
            defaults=defaults,
            batch_id=batch_id,
            max_in_flight=max_in_flight,
            manifest=Path(manifest) if manifest is not None else None,
            resume=Path(resume) if resume is not None else None,
            fail_fast=fail_fast,
            retry=retry or DEFAULT_BATCH_RETRY,
            progress=progress,
            track=track,
            poll=poll,
            sweep=sweep,
            fsync=fsync,
            sleep=sleep,
            clock=clock,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_items(items: Sequence[Any], defaults: Mapping[str, Any]) -> None:
    """Fail before the network when an item cannot be a program or request at all, or a
    required member is given neither batch-wide nor by the item. (Programs are converted,
    and the rest checked, as each item is sent: a bad one then fails alone.)"""
    missing = [name for name in _REQUIRED if defaults.get(name) is None]
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if isinstance(item, TaskRequest):
            action: Any = item.action
            given = {k for k in missing if getattr(item, k) is not None}
        elif isinstance(item, Mapping) and "action" in item:
            action = item["action"]
            for key in item:
                if key not in _REQUEST_KEYS:
                    raise errors.ParameterError(f"{where}.{key}", _UNKNOWN_KEY)
            given = {_REQUEST_KEYS[k] for k, v in item.items() if v is not None}
        else:
            action, given = item, set()
        _check_program(action, f"{where}.action" if action is not item else where)
        for name in missing:
            if name not in given:
                raise errors.ParameterError(
                    name, f"is required: give it to submit_batch or in every item ({where})"
                )


def _check_program(action: Any, where: str) -> None:
    if isinstance(action, str):
        text = action.lstrip()
        if not text.startswith(("OPENQASM", "{")):
            raise errors.ParameterError(
                where, "a string item must be OpenQASM source ('OPENQASM 3; ...') or action JSON"
            )
    elif not (
        isinstance(action, Mapping | OpenQASMProgram) or callable(getattr(action, "to_ir", None))
    ):
        raise errors.ParameterError(
            where,
            "must be OpenQASM source, an OpenQASMProgram, an action dict or JSON string, an "
            f"object with to_ir() (a Braket SDK circuit) or a TaskRequest, got "
            f"{type(action).__name__}",
        )
