"""The engine behind :class:`~braket_async.batch.Batch`: workers creating tasks through the
session's rate limiter, one open-ended tracker stream, result downloads, cancel and resume
(see :mod:`braket_async.batch` for the behaviour).

Everything a batch knows lives in its store (``_batch_store.StoredBatch``): the engine takes
items from it, records ARNs, errors and outcomes into it and reads outcomes back from it. With
the default file store one process does everything; with a shared store (Redis) every
process that attached takes items, one of them (the lease holder) tracks the created tasks,
and every process reads the outcomes back from the store's outcome log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import attrs

from . import errors
from ._base import Clock, Sleep
from ._batch_breaker import ServerErrorBreaker
from ._batch_items import build_request, device_of
from ._batch_locate import find_created, tagged, wall_now
from ._batch_manifest import item_fingerprint
from ._batch_options import BatchOptions
from ._batch_outcomes import BatchOutcome, BatchProgress, ProgressCallback, client_token_for
from ._batch_store import BatchPlan, RecordedError, SharedBatch, StoredBatch, WorkItem
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
#: The counters the "ended" log line carries as ``extra`` fields.
_ENDED_COUNTS = ("submitted", "completed", "failed", "submit_failed", "not_submitted")


def _position_key(position: str) -> tuple[int, ...]:
    """Positions compare as numbers: ``"12"`` (file store) or ``"1700000000000-3"`` (stream)."""
    try:
        return tuple(int(part) for part in position.split("-"))
    except ValueError:
        raise errors.ParameterError(
            "after", f"must be a position of an outcome of this batch, got {position!r}"
        ) from None


class _LeaseLost(Exception):
    """Another process took over tracking a shared batch."""


class _Stopped(Exception):
    """This process's part in a shared batch ended (its error is the batch's)."""


class Batch:
    """A batch of quantum-task creations and their outcomes (see :mod:`braket_async.batch`).

    Use it as an async context manager (leaving the block stops everything the batch runs
    in the background, without cancelling tasks on the service) and/or consume it:
    ``async for outcome in batch``, :meth:`as_completed`, :meth:`wait`, :meth:`results`.
    Iterating twice, or from several consumers, sees every outcome each time.

    Args:
        session: The session that creates, tracks and downloads.
        items: The batch's items (``None``: read from the store).
        defaults: The batch-wide request fields.
        batch_id: The batch's id (``None``: read from the manifest at start).
        store: Where the batch's records live.
        manifest: The manifest's path, if any.
        progress: Called with a :class:`BatchProgress` on every change.
        track: Whether items are reported once terminal (else once created).
        details: Whether COMPLETED tasks are fetched in full.
        options: The rarely used settings.
        size: The number of items when ``items`` is ``None``.
        take_part: Whether this process creates items and tracks tasks (else it only reads).
    """

    def __init__(
        self,
        session: BraketClient,
        items: Sequence[Any] | None,
        *,
        defaults: Mapping[str, Any],
        batch_id: str | None,
        store: StoredBatch,
        manifest: Path | None,
        progress: ProgressCallback | None,
        track: bool,
        details: bool,
        options: BatchOptions,
        size: int | None = None,
        take_part: bool = True,
    ) -> None:
        self._session = session
        self._items = items
        self._defaults = dict(defaults)
        self._batch_id = batch_id
        self._options = options
        self._store = store
        self._shared = store.shared
        # the same object, typed with what only a shared store offers
        self._shared_store: SharedBatch | None = cast(SharedBatch, store) if store.shared else None
        self._take_part = take_part
        self._manifest_path = manifest
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

        n = len(items) if items is not None else (size or 0)
        self._n = n
        self._arns: list[str | None] = [None] * n
        self._attempts = [0] * n
        self._outcomes: list[BatchOutcome | None] = [None] * n
        self._local: dict[int, BatchOutcome] = {}  # rich outcomes this process recorded
        self._resumed: dict[int, str] = {}  # index -> ARN read from the manifest
        self._uncertain: dict[int, WorkItem] = {}  # a create may have taken effect, ARN unknown
        self._in_flight: set[int] = set()
        self._cancel_sent: set[str] = set()  # ARNs this process asked the service to cancel
        self._collecting_cancels = False  # cancel() is gathering its targets
        self._arn_index: dict[str, int] = {}
        self._done: list[int] = []  # indices in the order their outcome became final
        self._with_results: list[int] = []  # same, once any result was fetched
        self._device_arn: str | None = defaults.get("device_arn")

        self._runner: asyncio.Task[None] | None = None
        self._results_runner: asyncio.Task[None] | None = None
        self._result_queue: asyncio.Queue[int] | None = None
        self._want_results = False
        self._tracker: TaskTracker | None = None
        self._tracker_stats: TrackerStats | None = None
        self._started_at: float | None = None
        self._created_at = datetime.now(UTC)
        self._stopping = False
        self._cancelled = False
        self._closed = False
        self._fatal: BaseException | None = None
        self._opened = asyncio.Event()
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

    @property
    def shared(self) -> bool:
        """The batch lives in a shared store: other processes may take part and attach."""
        return self._shared

    def __len__(self) -> int:
        return self._n

    def client_token(self, index: int) -> str:
        """The client token of item ``index``.

        Args:
            index: The item's position in the batch.

        Returns:
            The token.

        Raises:
            SessionStateError: The batch id is not known yet (read from the manifest at start).
        """
        if self._batch_id is None:
            raise errors.SessionStateError("the batch id is read from the manifest at start")
        return client_token_for(self._batch_id, index)

    @property
    def task_arns(self) -> dict[int, str]:
        """Item index -> ARN of every task created (or resumed) so far (by any process of a
        shared batch, as far as this one has read)."""
        known = dict(self._store.known_arns)
        known.update((i, arn) for i, arn in enumerate(self._arns) if arn is not None)
        return known

    @property
    def tracker_stats(self) -> TrackerStats | None:
        """The status calls and events the batch's tracker used (None when not tracked)."""
        return self._tracker_stats

    @property
    def progress(self) -> BatchProgress:
        """Current counts (for a shared batch: the store's, as last read)."""
        c = self._store.counters
        terminal = c["completed"] + c["failed"] + c["cancelled"]
        pending = max(0, c["submitted"] - terminal) if self._track else 0
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
            total=self._n,
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

    async def refresh(self) -> BatchProgress:
        """Read a shared batch's counters and recorded ARNs from its store now (its
        :attr:`progress` and :attr:`task_arns` otherwise follow its outcome log); returns
        the progress."""
        if self._shared_store is None:
            return self.progress
        await self.stored()
        if self.done or self._closed:
            # the run read every outcome: final counts (and it is closing the store)
            if self._runner is not None:
                await asyncio.wait({self._runner})
            return self.progress
        await self._shared_store.refresh()
        return self.progress

    @property
    def done(self) -> bool:
        """Every item has its outcome."""
        return len(self._done) == self._n and self._opened.is_set()

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

    async def stored(self) -> Batch:
        """Start the batch and return once it is in its store: from then on any process
        with the same shared store can attach to it (raises the batch's error if opening
        failed)."""
        self.start()
        opened = asyncio.ensure_future(self._opened.wait())
        try:
            assert self._runner is not None
            await asyncio.wait({opened, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
        if not self._opened.is_set():
            if self._fatal is not None:
                raise self._fatal
            raise errors.SessionStateError(f"batch {self._batch_id} stopped before it was stored")
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
        in flight are abandoned (a later ``resume`` sends them again with the same token; in
        a shared batch another process takes them over after ``claim_idle``).
        Outcomes not reported yet never will be; iterators end.
        """
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        self._stop_event.set()
        self._store.interrupt()
        for task in (self._results_runner, self._runner):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task})  # (a cancellation of our caller still propagates)
        if self._runner is None:
            await self._store.close()
        self._notify()

    # ------------------------------------------------------------------ consumers

    def __aiter__(self) -> AsyncIterator[BatchOutcome]:
        return self.as_completed()

    async def as_completed(
        self, *, results: bool = False, after: str | None = None
    ) -> AsyncIterator[BatchOutcome]:
        """Each item's outcome once, in completion order (those already final first).

        ``results=True`` also downloads the result of every COMPLETED task first (needs
        ``track=True``). ``after``: resume after the outcome at that ``outcome.position``
        (an SSE client's ``Last-Event-ID``): nothing before it again, nothing after it
        missed. Raises the batch's fatal error, if any, once the outcomes before it are
        delivered (``fail_fast``, a tracker or manifest failure).

        Args:
            results: Whether to download each COMPLETED task's result first.
            after: The ``outcome.position`` to resume after.

        Yields:
            Each item's outcome, once.
        """
        self.start()
        if results:
            self._request_results()
        skip = None if after is None else _position_key(after)
        order = self._with_results if results else self._done
        index = 0
        while True:
            while index < len(order):
                outcome = self._outcomes[order[index]]
                index += 1
                assert outcome is not None
                if (
                    skip is not None
                    and outcome.position is not None
                    and _position_key(outcome.position) <= skip
                ):
                    continue
                yield outcome
            if self._fatal is not None:
                raise self._fatal
            if (self._opened.is_set() and len(order) == self._n) or self._closed:
                await self._store_flushed()
                if self._fatal is not None:
                    raise self._fatal
                return
            await self._wait_change()

    async def _store_flushed(self) -> None:
        """Every record appended so far is written: the manifest is complete once the
        outcomes are (a write error is the batch's fatal error, set by the writer)."""
        with contextlib.suppress(Exception):
            await self._store.flush()

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
                f"batch {self._batch_id} was closed with {self._n - len(self._done)} "
                "outcomes outstanding"
            )
        return [o for o in self._outcomes if o is not None]  # all set: done

    async def _wait_change(self) -> None:
        await self._changed.wait()

    def _wake(self) -> None:
        """Wake everything waiting for a change (no progress callback)."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _notify(self) -> None:
        self._wake()
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
        In a shared batch every process stops creating, and a task another process creates
        after this call is cancelled by that process. CancelQuantumTask is limited to 2
        calls/s by default: cancelling many tasks takes time.
        """
        if self._closed:
            if not self.done:
                raise errors.SessionStateError(
                    "this batch was closed with outcomes outstanding; cancel it before closing"
                )
            # (a closed batch that finished sent everything: only its untracked tasks, not
            # seen terminal, are left to cancel)
        elif self._shared_store is not None:
            self._cancelled = True
            # Every process stops creating; the ARNs recorded before this request are
            # cancelled here, the ones recorded after it by the process that records them
            # (the store tells it so). Creates under way here stop retrying, and whatever
            # they may have created is resolved (same token) and recorded first.
            await self.stored()
            self._collecting_cancels = True  # creates recorded meanwhile join the targets
            await self._shared_store.request_stop(cancel=True)
            self._stop_event.set()
            while self._in_flight:
                await self._wait_change()
            for index in sorted(self._uncertain):
                if self._arns[index] is None:
                    await self._resolve(self._uncertain[index])
            await self._shared_store.refresh()
        else:
            self._cancelled = True
            self._stopping = True
            self._stop_event.set()
            self.start()
            await self._submission_done.wait()
        done = {i for i in self._done if (o := self._outcomes[i]) and o.status is not None}
        targets = [arn for i, arn in sorted(self.task_arns.items()) if i not in done]
        self._collecting_cancels = False  # (no await since the targets were read)
        failures = await self._cancel_tasks([a for a in targets if a not in self._cancel_sent])
        if failures:
            raise failures[0]
        return tuple(targets)

    async def _cancel_tasks(self, arns: Sequence[str]) -> list[BaseException]:
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

        self._cancel_sent.update(arns)
        async with asyncio.TaskGroup() as group:
            for arn in arns:
                group.create_task(cancel_one(arn))
        return failures

    async def _resolve(self, item: WorkItem) -> None:
        """Learn the ARN of an item whose create may have taken effect (same token)."""
        request = self._request_for(item)
        index = item.index
        token = self.client_token(index)

        async def create() -> str:
            with sdk_retries_off():  # every attempt is one of retry_target's
                return await self._session.create_quantum_task(
                    **tagged(request, token), client_token=token
                )

        try:
            arn = await retry_target(create, self._retry.start(self._clock), sleep=self._sleep)
        except errors.BraketError as exc:
            if is_transient(exc):
                raise  # the budget is spent: still unknown, the batch fails
            if self._shared:  # a definite answer: no task exists; the store needs its outcome
                await self._submit_failed(item, exc, request)
            return
        self._attempts[index] += 1
        self._uncertain.pop(index, None)
        await self._created(item, arn, request)

    # ------------------------------------------------------------------ the run

    async def _run(self) -> None:
        with self._session.telemetry.span(
            "braket_async.batch", {"braket_async.items": self._n}
        ) as span:
            try:
                await self._prepare()
                if self._cancelled and self._shared_store is not None:
                    # cancelled before it started: nothing is created, anywhere
                    await self._shared_store.request_stop(cancel=True)
                span.set_attribute("braket_async.batch_id", str(self._batch_id))
                _log.info(
                    "batch %s started: %d items",
                    self._batch_id,
                    self._n,
                    extra={"batch_id": self._batch_id, "items": self._n},
                )
                async with asyncio.TaskGroup() as group:
                    if self._take_part:
                        group.create_task(self._submit_all())
                    else:
                        self._end_submission()
                    if self._shared:
                        group.create_task(self._stop_with_the_batch())
                        group.create_task(self._follow_store())
                        if self._track and self._take_part:
                            group.create_task(self._lead())
                    elif self._track:
                        group.create_task(self._follow())
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self._fail(exc)
            finally:
                self._end_submission()
                try:
                    await self._end_run()
                finally:
                    self._log_end(span)

    def _log_end(self, span: Any) -> None:
        """The batch's one "ended" line and its span's counters (even when the run was
        cancelled while closing)."""
        c = self._store.counters
        counts = {key: c.get(key, 0) for key in _ENDED_COUNTS}
        _log.info(
            "batch %s ended: %d submitted, %d completed, %d failed, %d not submitted",
            self._batch_id,
            counts["submitted"],
            counts["completed"],
            counts["failed"] + counts["submit_failed"],
            counts["not_submitted"],
            # only these: a store's other counters (e.g. "created") would clash with
            # LogRecord's own attributes
            extra={"batch_id": self._batch_id, **counts},
        )
        for key in ("submitted", "completed", "failed", "submit_failed"):
            span.set_attribute(f"braket_async.{key}", counts[key])

    async def _end_run(self) -> None:
        """The run is over: fail consumers if outcomes are outstanding, close the tracker and
        the store."""
        if not self._closed and not self.done:
            # Stopped from outside (e.g. its task was cancelled): consumers must not wait on.
            self._fail(errors.SessionStateError(
                f"batch {self._batch_id} stopped with {self._n - len(self._done)} "
                "outcomes outstanding"
            ))
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            await tracker.aclose()
        try:
            await self._store.close()
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
        if self._shared:
            self._store.interrupt()  # this process's part in a shared batch ends
        self._wake()  # consumers raise it

    async def _prepare(self) -> None:
        plan = None
        if self._items is not None:
            plan = BatchPlan(
                batch_id=self._batch_id,
                items=self._n,
                created_at=self._created_at,
                request_of=self._request,
                fingerprint_of=self._fingerprint,
                defaults=self._defaults,
                track=self._track,
                details=self._details,
            )
        opened = await self._store.open(plan)
        self._batch_id = opened.batch_id
        self._breaker.batch_id = self._batch_id
        self._created_at = opened.created_at
        self._device_arn = self._device_arn or opened.device_arn
        if self._items is None:  # attached: the store says what the batch is
            self._n = opened.items
            self._track, self._details = opened.track, opened.details
            self._arns = [None] * self._n
            self._attempts = [0] * self._n
            self._outcomes = [None] * self._n
        for index, arn in opened.arns.items():
            self._arns[index] = arn
            self._arn_index[arn] = index
            self._resumed[index] = arn
        self._opened.set()
        if self._track and not self._shared:
            resumed = [self._resumed[i] for i in sorted(self._resumed)]
            self._tracker = self._new_tracker(resumed=resumed)
            self._tracker_stats = self._tracker.stats
        elif not self._track:
            for index, arn in sorted(self._resumed.items()):
                self._record_outcome(index, BatchOutcome(
                    index, self.client_token(index), arn, resumed=True
                ))
        self._notify()

    def _new_tracker(self, *, resumed: Sequence[str] = ()) -> TaskTracker:
        options = TrackerOptions(
            poll=self._options.poll or DEFAULT_TRACKER_POLL,
            sweep=self._options.sweep or SweepPolicy(),
            # QUEUED / RUNNING cost extra search pages: learnt only for a progress
            # callback, which hears of every change.
            observe_active=self._progress_cb is not None,
        )
        on_status_change = self._notify if self._progress_cb is not None else None
        if resumed:
            return TaskTracker.resume(
                self._session,
                resumed,
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
        return TaskTracker(
            self._session,
            options=options,
            sleep=self._sleep,
            clock=self._clock,
            on_status_change=on_status_change,
            events=self._session.events,
            on_unknown=self._resumed_task_unknown,
        )

    # ------------------------------------------------------------------ submission

    async def _submit_all(self) -> None:
        workers = max(1, min(self._options.max_in_flight, self._n))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker())
            if self._cancelled or self._fatal is not None:
                # Stopped early: learn the ARN of every create that may have taken effect,
                # so that no task exists the batch does not know (and cancel() can reach).
                for index in sorted(self._uncertain):
                    if self._arns[index] is None:
                        await self._resolve(self._uncertain[index])
                reason = "the batch was cancelled" if self._cancelled else "an earlier item failed"
                await self._mark_not_submitted(reason)
        finally:
            self._end_submission()

    def _end_submission(self) -> None:
        """No task will be created any more: the tracker's stream may end once it is idle."""
        self._submission_done.set()
        if self._tracker is not None and not self._tracker.sealed and not self._shared:
            self._tracker.seal()

    def _submitting(self) -> bool:
        """Workers go on: a file batch until it stops; a shared one until closed or failed
        (a cancel reaches it through the store, which then hands out only items to resolve)."""
        if self._shared:
            return not self._closed and self._fatal is None
        return not self._stopping

    async def _worker(self) -> None:
        while self._submitting():
            item = await self._store.take()
            if item is None:
                return
            if item.reclaimed and await self._store_stopped():
                # Taken over after a stop request: resolve it (same token), then cancel it.
                await self._resolve(item)
                continue
            await self._submit_one(item)
            # This worker's record is stored before it creates another task: after a
            # failed write (a full disk) no worker starts a new create.
            with contextlib.suppress(Exception):  # reported to _fail by the store
                await self._store.flush()

    async def _store_stopped(self) -> bool:
        return self._shared_store is not None and self._shared_store.stop_requested

    def _request(self, index: int) -> dict[str, Any]:
        """The create_quantum_task keyword arguments of item ``index`` (no client token)."""
        if self._items is None:
            raise errors.SessionStateError(f"item {index} is not held by this process")
        return build_request(self._items[index], index, self._defaults)

    def _request_for(self, item: WorkItem) -> dict[str, Any]:
        """The create arguments of a handed-out item: the store's copy, else built here."""
        if item.request is not None:
            return dict(item.request)
        if item.error is not None and self._items is None:
            raise RecordedError("ParameterError", item.error)
        return self._request(item.index)

    def _fingerprint(self, index: int) -> str:
        return item_fingerprint(self._request(index))

    async def _submit_one(self, item: WorkItem) -> None:
        index = item.index
        token = self.client_token(index)
        try:
            request = self._request_for(item)
        except errors.BraketError as exc:
            await self._submit_failed(item, exc, None)
            return

        last_error: BaseException | None = None
        lost_at: datetime | None = None  # when the attempt whose answer was lost was sent

        async def create() -> str:
            nonlocal lost_at
            if lost_at is not None:  # find its task before replaying the create (_batch_locate)
                found = await find_created(self._session, request, token, lost_at)
                lost_at = None
                if found is not None:
                    return found
            if not await self._breaker.wait(self._sleep, self._stop_event):
                raise RetryStopped(
                    last_error
                    or ItemNotSubmitted(index, "the batch stopped while its creates were paused")
                )
            self._attempts[index] += 1
            sent_at = wall_now()
            try:
                # botocore's retries off: each attempt is one of retry_target's, counted by
                # the budget (server_error_attempts included) and seen by the breaker
                with sdk_retries_off():
                    arn = await self._session.create_quantum_task(
                        **tagged(request, token), client_token=token
                    )
            except Exception as exc:
                if isinstance(exc, errors.ResponseError):
                    lost_at = sent_at  # sent, no usable answer: its task may exist
                self._breaker.record(exc)
                raise
            self._breaker.record(None)
            return arn

        def may_have_taken_effect(error: BaseException, _delay: float) -> None:
            nonlocal last_error
            last_error = error
            self._uncertain[index] = item  # until an answer says whether the task exists

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
                    self._uncertain.pop(index, None)  # a definite answer: no task exists
                # (a spent retry budget leaves the item uncertain for cancel() / resume)
                await self._submit_failed(item, exc, request)
                return
            self._uncertain.pop(index, None)
            slow = self._clock() - started > self._anchor_after
            await self._created(item, arn, request, just_created=not slow)
        finally:
            self._in_flight.discard(index)
            if not self._in_flight:
                self._wake()  # a shared cancel() waits for this process's creates

    @property
    def _anchor_after(self) -> float:
        """Creates that took longer than this (retries, queueing) may have made their task
        earlier than the tracker's window around "now" reaches (its slack; its sweeps pad a
        second more for clock skew): the tracker locates those by ARN instead."""
        return (self._options.sweep or SweepPolicy()).created_at_slack

    async def _created(
        self,
        item: WorkItem,
        arn: str,
        request: Mapping[str, Any],
        *,
        just_created: bool = True,
    ) -> None:
        index = item.index
        self._arns[index] = arn
        self._arn_index[arn] = index
        self._session.telemetry.count("batch_items", attributes={"state": "submitted"})
        cancel = await self._store.created(
            item, arn, item_fingerprint(request), slow=not just_created
        )
        if cancel and arn not in self._cancel_sent and not self._collecting_cancels:
            # Recorded after a cancel request: whoever cancels did not see this task.
            await self._cancel_tasks([arn])
        if self._tracker is not None and not self._shared:
            # Created just now, the window sweeps find it without a locate call; a create that
            # took longer (retries, queueing) may have made its task before the tracker's window
            # around "now": the first sweep locates it by ARN instead (batched, no get).
            self._tracker.add(
                arn,
                device_arn=device_of(self._items[index], self._defaults)
                if self._items is not None
                else self._device_arn,
                just_created=just_created,
            )
            self._notify()
        elif not self._track:
            self._record_outcome(index, BatchOutcome(
                index, self.client_token(index), arn, attempts=self._attempts[index]
            ))
        else:
            self._notify()

    async def _submit_failed(
        self, item: WorkItem, exc: errors.BraketError, request: Mapping[str, Any] | None
    ) -> None:
        index = item.index
        fingerprint = None
        with contextlib.suppress(errors.BraketError):  # an item that cannot be built
            fingerprint = item_fingerprint(request or self._request_for(item))
        outcome = BatchOutcome(
            index, self.client_token(index), error=exc, attempts=self._attempts[index]
        )
        self._local[index] = outcome
        await self._store.submit_failed(item, outcome, fingerprint)
        self._after_recording(outcome)
        if self._options.fail_fast:
            self._fail(exc)

    async def _mark_not_submitted(self, reason: str) -> None:
        if self._shared:
            await self._store.request_stop(cancel=False)  # the store marks what nobody took
            return
        for index, arn in enumerate(self._arns):
            if arn is None and self._outcomes[index] is None and index not in self._in_flight:
                self._record_outcome(index, BatchOutcome(
                    index, self.client_token(index), error=ItemNotSubmitted(index, reason),
                    attempts=self._attempts[index],
                ), notify=False)
        self._notify()

    def _record_outcome(self, index: int, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """Item ``index`` has its final outcome (the first one recorded stands)."""
        if self._outcomes[index] is not None:
            return  # reported once
        self._local.setdefault(index, outcome)
        if not self._store.record_outcome(outcome):
            return
        self._after_recording(outcome, notify=notify)

    def _after_recording(self, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """The store took an outcome: a file store's is final here (a shared store's comes
        back through :meth:`_follow_store`)."""
        if outcome.ok and not self._track:
            pass  # untracked: created is all it is known to be
        else:
            self._session.telemetry.count(
                "batch_items", attributes={"state": "completed" if outcome.ok else "failed"}
            )
        if not self._shared:  # the file store's log is in this order: positions are counts
            self._apply(attrs.evolve(outcome, position=str(len(self._done))), notify=notify)

    def _apply(self, outcome: BatchOutcome, *, notify: bool = True) -> None:
        index = outcome.index
        if self._outcomes[index] is not None:
            return
        self._outcomes[index] = outcome
        self._done.append(index)
        if outcome.task_arn is not None and self._arns[index] is None:
            self._arns[index] = outcome.task_arn
        if self._want_results:
            self._queue_result(index)
        if notify:
            self._notify()

    # ------------------------------------------------------------------ shared store

    async def _stop_with_the_batch(self) -> None:
        """A shared batch's background work ends with this process's part in it: when it
        fails (a file batch's ends by itself)."""
        while len(self._done) < self._n:
            if self._fatal is not None or self._closed:
                raise _Stopped
            await self._wait_change()

    async def _follow_store(self) -> None:
        """Read a shared batch's outcome log into this process (its own outcomes in full,
        the others as recorded)."""
        assert self._batch_id is not None
        async for position, stored in self._store.outcomes(None):
            local = self._local.get(stored.index)
            if local is not None:
                outcome = attrs.evolve(local, position=position)
            else:
                outcome = stored.outcome(self._batch_id, position)
            self._apply(outcome)
            if len(self._done) >= self._n:
                return

    async def _lead(self) -> None:
        """Track a shared batch's tasks while this process holds the store's tracking lease;
        otherwise stand by to take over, until every item has its outcome."""
        store = self._shared_store
        assert store is not None
        while len(self._done) < self._n and not self._stopping:
            if await store.lead():
                try:
                    await self._track_as_leader()
                except* _LeaseLost:
                    _log.info("batch %s: another process took over tracking", self._batch_id)
                else:
                    return  # every created task is terminal and recorded
                finally:
                    tracker, self._tracker = self._tracker, None
                    if tracker is not None:
                        await tracker.aclose()
            else:
                await self._wait_change_or(store.lease_interval)

    async def _wait_change_or(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wait_change()

    async def _track_as_leader(self) -> None:
        store = self._shared_store
        assert store is not None
        tracker = self._new_tracker()
        self._tracker = tracker
        self._tracker_stats = tracker.stats

        async def feed() -> None:
            async for index, arn, live in store.created_tasks():
                if self._outcomes[index] is not None:
                    continue
                self._arns[index] = arn
                self._arn_index[arn] = index
                tracker.add(arn, device_arn=self._device_arn, just_created=live)
            tracker.seal()

        async def renew() -> None:
            while True:
                await self._sleep(store.lease_interval)
                if not await store.lead():
                    raise _LeaseLost

        async with asyncio.TaskGroup() as group:
            feeder = group.create_task(feed())
            renewer = group.create_task(renew())
            await self._follow_tracker(tracker)
            feeder.cancel()
            renewer.cancel()
        await store.release_lease()

    # ------------------------------------------------------------------ tracking

    async def _follow(self) -> None:
        """Report tasks as the tracker sees them finish: one open-ended stream, fed by
        :meth:`_created` and sealed when submission ends."""
        tracker = self._tracker
        assert tracker is not None
        await self._follow_tracker(tracker)

    async def _follow_tracker(self, tracker: TaskTracker) -> None:
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
            pass
        elif task is None:  # never: _follow fetches the full task of every unsuccessful one
            raise errors.SessionStateError(f"no details of unsuccessful task {summary}")
        elif task.status == QuantumTaskStatus.CANCELLED:
            error = errors.QuantumTaskCancelled(task)
        else:
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
        if outcome.error is None and outcome.status == QuantumTaskStatus.COMPLETED:
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
            while len(self._with_results) < self._n and self._fatal is None:
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
        # The terminal state the tracker saw, else (an outcome another process recorded)
        # the ARN: one GetQuantumTask more.
        state = outcome.final_state or outcome.task_arn
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
