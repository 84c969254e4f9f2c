"""The engine behind :class:`~braket_async.batch.Batch`: workers creating tasks through the
session's rate limiter, one open-ended tracker stream, result downloads, cancel and resume
(see :mod:`braket_async.batch` for the behaviour)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from . import errors
from ._base import Clock, Sleep
from ._batch_breaker import ServerErrorBreaker
from ._batch_items import build_request, device_of
from ._batch_manifest import (
    ManifestState,
    ManifestWriter,
    adopt_header,
    check_fingerprints,
    item_fingerprint,
    manifest_header,
    manifest_is_fresh,
    read_manifest,
)
from ._batch_options import BatchOptions
from ._batch_outcomes import BatchOutcome, BatchProgress, ProgressCallback, client_token_for
from ._sdk_retries import sdk_retries_off
from .errors import ItemNotSubmitted
from .models import QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from .polling import RetryStopped, is_transient, retry_target
from .tracking import (
    DEFAULT_TRACKER_POLL,
    SweepPolicy,
    TaskTracker,
    TrackerOptions,
    TrackerStats,
)

if TYPE_CHECKING:
    from ._client import BraketClient

__all__ = ["Batch"]

_log = logging.getLogger("braket_async.batch")

#: How far before the batch's recorded start a resumed task may have been created (clock skew).
_RESUME_SLACK = timedelta(minutes=5)
_RESULT_WORKERS = 8
_CANCEL_CONCURRENCY = 20
#: Concurrent GetQuantumTask calls for the failure reason of FAILED / CANCELLED tasks
#: (``details=False``).
_DETAIL_CONCURRENCY = 8


class Batch:
    """A batch of quantum-task creations and their outcomes (see :mod:`braket_async.batch`).

    Use it as an async context manager (leaving the block stops everything the batch runs
    in the background, without cancelling tasks on the service) and/or consume it:
    ``async for outcome in batch``, :meth:`as_completed`, :meth:`wait`, :meth:`results`.
    Iterating twice, or from several consumers, sees every outcome each time.
    """

    def __init__(
        self,
        session: BraketClient,
        items: Sequence[Any],
        *,
        defaults: Mapping[str, Any],
        batch_id: str | None,
        manifest: Path | None,
        resume: Path | None,
        progress: ProgressCallback | None,
        track: bool,
        details: bool,
        options: BatchOptions,
    ) -> None:
        self._session = session
        self._items = items
        self._defaults = dict(defaults)
        self._batch_id = batch_id
        self._options = options
        self._manifest_path = resume if resume is not None else manifest
        self._resume = resume is not None
        # every retry budget of the batch ends a systematic 5xx after server_error_attempts
        self._retry = attrs.evolve(
            options.retry, server_error_attempts=options.server_error_attempts
        )
        self._progress_cb = progress
        self._track = track
        self._details = details
        self._sleep: Sleep = options.sleep or session.sleep
        self._clock: Clock = options.clock or session.clock
        self._breaker = ServerErrorBreaker(clock=self._clock, batch_id=batch_id)

        n = len(items)
        self._arns: list[str | None] = [None] * n
        self._attempts = [0] * n
        self._outcomes: list[BatchOutcome | None] = [None] * n
        self._resumed: dict[int, str] = {}  # index -> ARN read from the manifest
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
        self._tracker_stats: TrackerStats | None = None
        self._writer: ManifestWriter | None = None
        self._started_at: float | None = None
        self._created_at = datetime.now(UTC)
        self._stopping = False
        self._cancelled = False
        self._closed = False
        self._fatal: BaseException | None = None
        self._submission_done = asyncio.Event()
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
    def tracker_stats(self) -> TrackerStats | None:
        """The status calls and events the batch's tracker used (None when not tracked)."""
        return self._tracker_stats

    @property
    def progress(self) -> BatchProgress:
        """Current counts."""
        c = self._counts
        terminal = c["completed"] + c["failed"] + c["cancelled"]
        pending = c["submitted"] - terminal if self._track else 0
        queued = running = 0
        if self._tracker is not None:
            # Last statuses the tracker saw; a task it saw finish before the batch counted
            # it stays in pending's remainder for that moment.
            seen = self._tracker.status_counts()
            queued = seen.get(QuantumTaskStatus.CREATED.value, 0) + seen.get(
                QuantumTaskStatus.QUEUED.value, 0
            )
            running = seen.get(QuantumTaskStatus.RUNNING.value, 0)
            queued = min(queued, pending)
            running = min(running, pending - queued)
        elapsed = 0.0 if self._started_at is None else self._clock() - self._started_at
        return BatchProgress(
            total=len(self._items),
            submitted=c["submitted"],
            submitting=len(self._in_flight),
            submit_failed=c["submit_failed"],
            not_submitted=c["not_submitted"],
            pending=pending,
            queued=queued,
            running=running,
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
                await self._manifest_written()
                if self._fatal is not None:
                    raise self._fatal
                return
            await self._wait_change()

    async def _manifest_written(self) -> None:
        """Every record appended so far is written: the manifest is complete once the
        outcomes are (a write error is the batch's fatal error, set by the writer)."""
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer.flush()

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
        return [o for o in self._outcomes if o is not None]  # all set: done

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
        with the same client token. Items never sent get :class:`ItemNotSubmitted` (state
        ``NOT_SUBMITTED``). Tasks already terminal are skipped: a cancel of a finished tracked
        batch, even a closed one, returns ``()`` (a closed batch with outcomes outstanding
        raises ``SessionStateError``). Returns the ARNs whose cancellation was requested.
        CancelQuantumTask is limited to 2 calls/s by default: cancelling many tasks takes time.
        """
        if not self._closed:
            self._cancelled = True
            self._stopping = True
            self._stop_event.set()
            self.start()
            await self._submission_done.wait()
        elif not self.done:
            raise errors.SessionStateError(
                "this batch was closed with outcomes outstanding; cancel it before closing"
            )
        # (a closed batch that finished sent everything: only its untracked tasks, not seen
        # terminal, are left to cancel)
        targets = [
            arn
            for arn, outcome in zip(self._arns, self._outcomes, strict=True)
            if arn is not None
            and not (outcome is not None and outcome.status is not None)  # seen terminal
        ]
        limit = asyncio.Semaphore(_CANCEL_CONCURRENCY)
        failures: list[BaseException] = []

        async def cancel_one(arn: str) -> None:
            async with limit:
                try:
                    await retry_target(
                        lambda: self._session.cancel_quantum_task(arn),
                        self._retry.start(self._clock),
                        sleep=self._sleep,
                    )
                except errors.ConflictException:
                    pass  # already COMPLETED or FAILED
                except errors.BraketError as exc:  # a refusal, or the retry budget is spent
                    failures.append(exc)

        async with asyncio.TaskGroup() as group:
            for arn in targets:
                group.create_task(cancel_one(arn))
        if failures:
            raise failures[0]
        return tuple(targets)

    async def _resolve(self, index: int) -> None:
        """Learn the ARN of an item whose create may have taken effect (same token)."""
        request = self._request(index)

        async def create() -> str:
            with sdk_retries_off():  # every attempt is one of retry_target's
                return await self._session.create_quantum_task(
                    **request, client_token=self.client_token(index)
                )

        try:
            arn = await retry_target(create, self._retry.start(self._clock), sleep=self._sleep)
        except errors.BraketError as exc:
            if is_transient(exc):
                raise  # the budget is spent: still unknown, the batch fails
            return  # a definite answer: no task exists
        self._attempts[index] += 1
        self._uncertain.discard(index)
        self._created(index, arn)

    # ------------------------------------------------------------------ the run

    async def _run(self) -> None:
        with self._session.telemetry.span(
            "braket_async.batch", {"braket_async.items": len(self._items)}
        ) as span:
            try:
                await self._prepare()
                span.set_attribute("braket_async.batch_id", str(self._batch_id))
                _log.info(
                    "batch %s started: %d items",
                    self._batch_id,
                    len(self._items),
                    extra={"batch_id": self._batch_id, "items": len(self._items)},
                )
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._submit_all())
                    if self._track:
                        group.create_task(self._follow())
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self._fail(exc)
            finally:
                self._end_submission()
                await self._end_run()
                c = self._counts
                _log.info(
                    "batch %s ended: %d submitted, %d completed, %d failed, %d not submitted",
                    self._batch_id,
                    c["submitted"],
                    c["completed"],
                    c["failed"] + c["submit_failed"],
                    c["not_submitted"],
                    extra={"batch_id": self._batch_id, **c},
                )
                for key in ("submitted", "completed", "failed", "submit_failed"):
                    span.set_attribute(f"braket_async.{key}", c[key])

    async def _end_run(self) -> None:
        """The run is over: fail consumers if outcomes are outstanding, close the tracker and
        the manifest."""
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
                state = await asyncio.to_thread(read_manifest, path)
                self._adopt(state)
                await asyncio.to_thread(
                    check_fingerprints, path, state, self._fingerprint, len(self._items)
                )
            elif not await asyncio.to_thread(manifest_is_fresh, path):
                raise errors.ParameterError(
                    "manifest",
                    f"{str(path)!r} already holds a batch; pass resume={str(path)!r} to "
                    "continue it, or name a new file",
                )
            self._writer = ManifestWriter(
                path, fsync=self._options.fsync, batch_id=self._batch_id, on_error=self._fail
            )
            await self._writer.open()
            if not self._resume:
                self._writer.append(
                    manifest_header(self._batch_id, len(self._items), self._created_at)
                )
            await self._writer.flush()  # a manifest that cannot be written: fail before creating
        if self._track:
            options = TrackerOptions(
                poll=self._options.poll or DEFAULT_TRACKER_POLL,
                sweep=self._options.sweep or SweepPolicy(),
                # QUEUED / RUNNING cost extra search pages: learnt only for a progress
                # callback, which hears of every change.
                observe_active=self._progress_cb is not None,
            )
            on_status_change = self._notify if self._progress_cb is not None else None
            if self._resumed:
                self._tracker = TaskTracker.resume(
                    self._session,
                    [self._resumed[i] for i in sorted(self._resumed)],
                    created_after=self._created_at - _RESUME_SLACK,
                    # An ARN of the manifest may be unknown to the service: that item's
                    # outcome (see _resumed_task_unknown), not the end of the batch.
                    may_be_unknown=True,
                    on_unknown=self._resumed_task_unknown,
                    options=options,
                    sleep=self._sleep,
                    clock=self._clock,
                    on_status_change=on_status_change,
                    events=self._session.events,
                )
            else:
                self._tracker = TaskTracker(
                    self._session,
                    options=options,
                    sleep=self._sleep,
                    clock=self._clock,
                    on_status_change=on_status_change,
                    events=self._session.events,
                )
            self._tracker_stats = self._tracker.stats
        else:
            for index, arn in sorted(self._resumed.items()):
                self._record_outcome(index, BatchOutcome(
                    index, self.client_token(index), arn, resumed=True
                ))
        self._notify()

    def _adopt(self, state: ManifestState) -> None:
        self._batch_id, created_at = adopt_header(
            state.header, batch_id=self._batch_id, items=len(self._items)
        )
        self._breaker.batch_id = self._batch_id
        if created_at is not None:
            self._created_at = created_at
        for index, arn in state.arns.items():
            if 0 <= index < len(self._items) and self._arns[index] is None:
                self._arns[index] = arn
                self._arn_index[arn] = index
                self._resumed[index] = arn
                self._counts["submitted"] += 1

    # ------------------------------------------------------------------ submission

    async def _submit_all(self) -> None:
        todo = deque(i for i, arn in enumerate(self._arns) if arn is None)
        workers = min(self._options.max_in_flight, len(todo))
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
            self._end_submission()

    def _end_submission(self) -> None:
        """No task will be created any more: the tracker's stream may end once it is idle."""
        self._submission_done.set()
        if self._tracker is not None and not self._tracker.sealed:
            self._tracker.seal()

    async def _worker(self, todo: deque[int]) -> None:
        while todo and not self._stopping:
            await self._submit_one(todo.popleft())
            if self._writer is not None:
                # This worker's record is on disk before it creates another task: after a
                # failed write (a full disk) no worker starts a new create.
                with contextlib.suppress(Exception):  # reported to _fail by the writer
                    await self._writer.flush()

    def _request(self, index: int) -> dict[str, Any]:
        """The create_quantum_task keyword arguments of item ``index`` (no client token)."""
        return build_request(self._items[index], index, self._defaults)

    def _fingerprint(self, index: int) -> str:
        return item_fingerprint(self._request(index))

    async def _submit_one(self, index: int) -> None:
        token = self.client_token(index)
        try:
            request = self._request(index)
        except errors.BraketError as exc:
            self._submit_failed(index, exc)
            return

        last_error: BaseException | None = None

        async def create() -> str:
            if not await self._breaker.wait(self._sleep, self._stop_event):
                raise RetryStopped(last_error or ItemNotSubmitted(
                    index, "the batch stopped while its creates were paused"
                ))
            self._attempts[index] += 1
            try:
                # botocore's retries off: each attempt is one of retry_target's, counted by
                # the budget (server_error_attempts included) and seen by the breaker
                with sdk_retries_off():
                    arn = await self._session.create_quantum_task(**request, client_token=token)
            except Exception as exc:
                self._breaker.record(exc)
                raise
            self._breaker.record(None)
            return arn

        def may_have_taken_effect(error: BaseException, _delay: float) -> None:
            nonlocal last_error
            last_error = error
            self._uncertain.add(index)  # until an answer says whether the task exists

        self._in_flight.add(index)
        started = self._clock()
        try:
            try:
                arn = await retry_target(
                    create,
                    self._retry.start(self._clock),
                    sleep=self._sleep,
                    on_error=may_have_taken_effect,
                    stop=self._stop_event,
                )
            except RetryStopped:
                return  # the batch is stopping: left uncertain for cancel() / resume
            except errors.BraketError as exc:
                if not is_transient(exc):
                    self._uncertain.discard(index)  # a definite answer: no task exists
                # (a spent retry budget leaves the item uncertain for cancel() / resume)
                self._submit_failed(index, exc)
                return
            self._uncertain.discard(index)
            slow = self._clock() - started > self._anchor_after
            self._created(index, arn, request, just_created=not slow)
        finally:
            self._in_flight.discard(index)

    @property
    def _anchor_after(self) -> float:
        """Creates that took longer than this (retries, queueing) may have made their task
        earlier than the tracker's window around "now" reaches (its slack; its sweeps pad a
        second more for clock skew): the tracker locates those by ARN instead."""
        return (self._options.sweep or SweepPolicy()).created_at_slack

    def _created(
        self,
        index: int,
        arn: str,
        request: Mapping[str, Any] | None = None,
        *,
        just_created: bool = True,
    ) -> None:
        self._arns[index] = arn
        self._arn_index[arn] = index
        self._counts["submitted"] += 1
        self._session.telemetry.count("batch_items", attributes={"state": "submitted"})
        if self._writer is not None:
            token = self.client_token(index)
            self._writer.append({
                "kind": "task", "index": index, "task_arn": arn, "client_token": token,
                "fingerprint": item_fingerprint(request or self._request(index)),
            })
        if self._tracker is not None:
            # Created just now, the window sweeps find it without a locate call; a create that
            # took longer (retries, queueing) may have made its task before the tracker's window
            # around "now": the first sweep locates it by ARN instead (batched, no get).
            self._tracker.add(
                arn,
                device_arn=device_of(self._items[index], self._defaults),
                just_created=just_created,
            )
            self._notify()
        else:
            self._record_outcome(index, BatchOutcome(
                index, self.client_token(index), arn, attempts=self._attempts[index]
            ))

    def _submit_failed(self, index: int, exc: errors.BraketError) -> None:
        self._counts["submit_failed"] += 1
        if self._writer is not None:
            record: dict[str, Any] = {
                "kind": "error", "index": index, "error": type(exc).__name__, "message": str(exc)
            }
            with contextlib.suppress(errors.BraketError):  # an item that cannot be built
                record["fingerprint"] = self._fingerprint(index)
            self._writer.append(record)
        self._record_outcome(index, BatchOutcome(
            index, self.client_token(index), error=exc, attempts=self._attempts[index]
        ))
        if self._options.fail_fast:
            self._fail(exc)

    def _mark_not_submitted(self, reason: str) -> None:
        for index, arn in enumerate(self._arns):
            if arn is None and self._outcomes[index] is None and index not in self._in_flight:
                self._counts["not_submitted"] += 1
                if self._writer is not None:  # (a resume sends it)
                    self._writer.append({"kind": "not_submitted", "index": index, "reason": reason})
                self._record_outcome(index, BatchOutcome(
                    index, self.client_token(index), error=ItemNotSubmitted(index, reason),
                    attempts=self._attempts[index],
                ), notify=False)
        self._notify()

    def _record_outcome(self, index: int, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """Item ``index`` has its final outcome (the first one recorded stands)."""
        if self._outcomes[index] is not None:
            return  # reported once
        self._outcomes[index] = outcome
        self._done.append(index)
        if not outcome.ok or self._track:  # untracked: created is all it is known to be
            self._session.telemetry.count(
                "batch_items", attributes={"state": "completed" if outcome.ok else "failed"}
            )
        if self._want_results:
            self._queue_result(index)
        if notify:
            self._notify()

    # ------------------------------------------------------------------ tracking

    async def _follow(self) -> None:
        """Report tasks as the tracker sees them finish: one open-ended stream, fed by
        :meth:`_created` and sealed when submission ends."""
        tracker = self._tracker
        assert tracker is not None
        lookups = asyncio.Semaphore(_DETAIL_CONCURRENCY)
        async with tracker, asyncio.TaskGroup() as group:
            async for state in tracker.as_completed(details=self._details, until_sealed=True):
                if isinstance(state, QuantumTask):
                    self._record_terminal_task(state, None)
                elif state.status == QuantumTaskStatus.COMPLETED:
                    self._record_terminal_task(None, state)
                else:
                    # Rare: a FAILED or CANCELLED task's outcome carries its full model.
                    group.create_task(self._record_terminal_task_in_full(tracker, state, lookups))

    async def _record_terminal_task_in_full(
        self, tracker: TaskTracker, summary: QuantumTaskSummary, limit: asyncio.Semaphore
    ) -> None:
        """Fetch the full model of a FAILED / CANCELLED task, then record its outcome."""
        async with limit:
            task = await tracker.details(summary.quantum_task_arn)
        self._record_terminal_task(task, summary)

    def _record_terminal_task(
        self, task: QuantumTask | None, summary: QuantumTaskSummary | None
    ) -> None:
        """A tracked task is terminal: ``task`` (full) and/or ``summary`` (search) say how;
        its item's outcome is recorded."""
        state = task if task is not None else summary
        assert state is not None
        index = self._arn_index.get(state.quantum_task_arn)
        if index is None:
            return
        error: errors.BraketError | None = None
        if state.status == QuantumTaskStatus.COMPLETED:
            self._counts["completed"] += 1
        elif task is None:  # never: _follow fetches the full task of every unsuccessful one
            raise errors.SessionStateError(f"no details of unsuccessful task {summary}")
        elif task.status == QuantumTaskStatus.CANCELLED:
            self._counts["cancelled"] += 1
            error = errors.QuantumTaskCancelled(task)
        else:
            self._counts["failed"] += 1
            error = errors.QuantumTaskFailed(task)
        self._record_outcome(index, BatchOutcome(
            index,
            self.client_token(index),
            state.quantum_task_arn,
            task=task,
            error=error,
            attempts=self._attempts[index],
            resumed=index in self._resumed,
            summary=summary,
        ))

    def _resumed_task_unknown(self, arn: str, error: errors.ResourceNotFoundException) -> None:
        """The tracker found a manifest ARN unknown to the service: that item's outcome, not
        the batch's end."""
        index = self._arn_index[arn]
        error.add_note(
            f"{arn} is recorded in the batch's manifest but unknown to the service "
            "(another account or region, or a manifest edited by hand)"
        )
        self._counts["failed"] += 1
        self._record_outcome(index, BatchOutcome(
            index, self.client_token(index), arn, error=error, resumed=True
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
        if outcome.error is None and outcome.final_state is not None:
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
                    error = w.exception() if w.done() else None
                    if error is not None:
                        self._fail(error)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._notify()

    async def _fetch_result(self, index: int) -> None:
        outcome = self._outcomes[index]
        assert outcome is not None
        state = outcome.final_state
        assert state is not None
        try:
            result = await retry_target(
                lambda: self._session.get_quantum_task_result(state),
                self._retry.start(self._clock),
                sleep=self._sleep,
            )
        except errors.BraketError as exc:  # not transient, or the retry budget is spent
            outcome = attrs.evolve(outcome, error=exc)
        else:
            outcome = attrs.evolve(outcome, result=result)
        self._outcomes[index] = outcome
        self._with_results.append(index)
        self._notify()
