"""The engine behind :class:`~braket_async.batch.Batch`: workers creating tasks through the
session's rate limiter, one open-ended tracker stream, result downloads, cancel and resume
(see :mod:`braket_async.batch` for the behaviour).

Everything a batch knows lives in its store (``_batch_store.StoredBatch``): the engine takes
items from it, records ARNs, errors and outcomes into it and reads outcomes back from it. With
the default file store one process does everything; with a shared store (Redis) every
process that attached takes items, one of them (the lease holder) tracks the created tasks,
and every process reads the outcomes back from the store's outcome log.

:class:`Batch` composes its parts over one shared state (``_batch_state.BatchState``):
submission (``_batch_submission``), following tasks to outcomes (``_batch_following``),
what consumers read back (``_batch_results``) and cancel (``_batch_cancel``); it runs them
and owns the batch's lifecycle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import errors
from ._base import AsyncContext
from ._batch_cancel import BatchCancel, TaskCanceller
from ._batch_following import Following
from ._batch_options import BatchOptions
from ._batch_outcomes import BatchOutcome, BatchProgress, ProgressCallback
from ._batch_results import BatchResults
from ._batch_state import BatchState
from ._batch_store import BatchPlan, StoredBatch
from ._batch_submission import Submission
from .tracking import TrackerStats

if TYPE_CHECKING:
    from ._client import BraketClient

__all__ = ["Batch"]

_log = logging.getLogger("braket_async.batch")

#: The counters the "ended" log line carries as ``extra`` fields.
_ENDED_COUNTS = ("submitted", "completed", "failed", "submit_failed", "not_submitted")


class Batch(AsyncContext):
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
        self._state = state = BatchState(
            session,
            items,
            defaults=defaults,
            batch_id=batch_id,
            store=store,
            progress=progress,
            track=track,
            details=details,
            options=options,
            size=size,
        )
        self._take_part = take_part
        self._manifest_path = manifest
        canceller = TaskCanceller(state)
        self._submission = Submission(state, canceller)
        self._following = Following(state)
        self._results = BatchResults(state, start=self.start)
        self._cancel = BatchCancel(
            state,
            canceller,
            resolve=self._submission.resolve,
            start=self.start,
            stored=self.stored,
        )
        self._runner: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ public state

    @property
    def batch_id(self) -> str | None:
        """The batch id (client tokens are ``f"{batch_id}-{index}"``); ``None`` until a batch
        resumed without an explicit id has read it from its manifest."""
        return self._state.batch_id

    @property
    def manifest_path(self) -> Path | None:
        """The manifest file, if any."""
        return self._manifest_path

    @property
    def shared(self) -> bool:
        """The batch lives in a shared store: other processes may take part and attach."""
        return self._state.shared

    def __len__(self) -> int:
        return self._state.n

    def client_token(self, index: int) -> str:
        """The client token of item ``index``.

        Args:
            index: The item's position in the batch.

        Returns:
            The token.

        Raises:
            SessionStateError: The batch id is not known yet (read from the manifest at start).
        """
        return self._state.client_token(index)

    @property
    def task_arns(self) -> dict[int, str]:
        """Item index -> ARN of every task created (or resumed) so far (by any process of a
        shared batch, as far as this one has read)."""
        return self._state.task_arns

    @property
    def tracker_stats(self) -> TrackerStats | None:
        """The status calls and events the batch's tracker used (None when not tracked)."""
        return self._state.tracker_stats

    @property
    def progress(self) -> BatchProgress:
        """Current counts (for a shared batch: the store's, as last read)."""
        return self._state.progress

    async def refresh(self) -> BatchProgress:
        """Read a shared batch's counters and recorded ARNs from its store now (its
        :attr:`progress` and :attr:`task_arns` otherwise follow its outcome log); returns
        the progress."""
        state = self._state
        if state.shared_store is None:
            return state.progress
        await self.stored()
        if state.all_done or state.closed:
            # the run read every outcome: final counts (and it is closing the store)
            if self._runner is not None:
                await asyncio.wait({self._runner})
            return state.progress
        await state.shared_store.refresh()
        return state.progress

    @property
    def done(self) -> bool:
        """Every item has its outcome."""
        return self._state.all_done

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Batch:
        """Start submitting (idempotent; iterating or awaiting the batch starts it too)."""
        state = self._state
        if state.closed:
            raise errors.SessionStateError("this batch is closed; submit a new one")
        if self._runner is None:
            asyncio.get_running_loop()  # a clear error when called outside the event loop
            state.started_at = state.clock()
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name=f"braket-async batch {state.batch_id}"
            )
        return self

    async def stored(self) -> Batch:
        """Start the batch and return once it is in its store: from then on any process
        with the same shared store can attach to it (raises the batch's error if opening
        failed)."""
        state = self._state
        self.start()
        opened = asyncio.ensure_future(state.opened.wait())
        try:
            assert self._runner is not None
            await asyncio.wait({opened, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
        if not state.opened.is_set():
            if state.fatal is not None:
                raise state.fatal
            raise errors.SessionStateError(f"batch {state.batch_id} stopped before it was stored")
        return self

    async def _enter(self) -> None:
        self.start()

    async def _exit(self) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop everything the batch runs in the background and flush the manifest.

        Tasks already created keep running on the service (see :meth:`cancel`); create calls
        in flight are abandoned (a later ``resume`` sends them again with the same token; in
        a shared batch another process takes them over after ``claim_idle``).
        Outcomes not reported yet never will be; iterators end.
        """
        state = self._state
        if state.closed:
            return
        state.closed = True
        state.stopping = True
        state.stop_event.set()
        state.store.interrupt()
        for task in (self._results.task, self._runner):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task})  # (a cancellation of our caller still propagates)
        if self._runner is None:
            await state.store.close()
        state.notify()

    def _fail(self, exc: BaseException) -> None:
        """The batch's fatal error (its store's background writer reports here)."""
        self._state.fail(exc)

    # ------------------------------------------------------------------ consumers

    def __aiter__(self) -> AsyncIterator[BatchOutcome]:
        return self.as_completed()

    def as_completed(
        self, *, results: bool = False, after: str | None = None
    ) -> AsyncIterator[BatchOutcome]:
        """Each item's outcome once, in completion order (those already final first).

        ``results=True`` also downloads the result of every COMPLETED task first (needs
        ``track=True``). ``after``: resume after the outcome at that ``outcome.position``
        (an SSE client's ``Last-Event-ID``): nothing before it again, nothing after it
        missed. Raises the batch's fatal error, if any, once the outcomes before it are
        delivered (``fail_fast``, a tracker or manifest failure). Iterating starts the batch.

        Args:
            results: Whether to download each COMPLETED task's result first.
            after: The ``outcome.position`` to resume after.

        Returns:
            An async iterator of each item's outcome, once.
        """
        return self._results.outcomes(results=results, after=after)

    async def wait(self) -> list[BatchOutcome]:
        """Every item's outcome, in item order, once all are final."""
        async for _ in self.as_completed():
            pass
        return self._results.collect()

    async def results(self) -> list[BatchOutcome]:
        """Like :meth:`wait`, with each COMPLETED task's result downloaded (``outcome.result``)."""
        async for _ in self.as_completed(results=True):
            pass
        return self._results.collect()

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
        return await self._cancel.cancel()

    # ------------------------------------------------------------------ the run

    async def _run(self) -> None:
        state = self._state
        with state.session.telemetry.span(
            "braket_async.batch", {"braket_async.items": state.n}
        ) as span:
            try:
                await self._prepare()
                if state.cancelled and state.shared_store is not None:
                    # cancelled before it started: nothing is created, anywhere
                    await state.shared_store.request_stop(cancel=True)
                span.set_attribute("braket_async.batch_id", str(state.batch_id))
                _log.info(
                    "batch %s started: %d items",
                    state.batch_id,
                    state.n,
                    extra={"batch_id": state.batch_id, "items": state.n},
                )
                async with asyncio.TaskGroup() as group:
                    if self._take_part:
                        group.create_task(self._submission.submit_all())
                    else:
                        self._submission.end_submission()
                    if state.shared:
                        group.create_task(self._following.stop_with_the_batch())
                        group.create_task(self._following.follow_store())
                        if state.track and self._take_part:
                            group.create_task(self._following.lead())
                    elif state.track:
                        group.create_task(self._following.follow())
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                state.fail(exc)
            finally:
                self._submission.end_submission()
                try:
                    await self._end_run()
                finally:
                    self._log_end(span)

    def _log_end(self, span: Any) -> None:
        """The batch's one "ended" line and its span's counters (even when the run was
        cancelled while closing)."""
        state = self._state
        c = state.store.counters
        counts = {key: c.get(key, 0) for key in _ENDED_COUNTS}
        _log.info(
            "batch %s ended: %d submitted, %d completed, %d failed, %d not submitted",
            state.batch_id,
            counts["submitted"],
            counts["completed"],
            counts["failed"] + counts["submit_failed"],
            counts["not_submitted"],
            # only these: a store's other counters (e.g. "created") would clash with
            # LogRecord's own attributes
            extra={"batch_id": state.batch_id, **counts},
        )
        for key in ("submitted", "completed", "failed", "submit_failed"):
            span.set_attribute(f"braket_async.{key}", counts[key])

    async def _end_run(self) -> None:
        """The run is over: fail consumers if outcomes are outstanding, close the tracker and
        the store."""
        state = self._state
        if not state.closed and not state.all_done:
            # Stopped from outside (e.g. its task was cancelled): consumers must not wait on.
            state.fail(errors.SessionStateError(
                f"batch {state.batch_id} stopped with {state.n - len(state.done)} "
                "outcomes outstanding"
            ))
        tracker, state.tracker = state.tracker, None
        if tracker is not None:
            await tracker.aclose()
        try:
            await state.store.close()
        except Exception as exc:
            state.fail(exc)
        state.notify()

    async def _prepare(self) -> None:
        """Open the batch in its store (create it, continue it, or attach to it)."""
        state = self._state
        plan = None
        if state.items is not None:
            plan = BatchPlan(
                batch_id=state.batch_id,
                items=state.n,
                created_at=state.created_at,
                request_of=self._submission.request,
                fingerprint_of=self._submission.fingerprint,
                defaults=state.defaults,
                track=state.track,
                details=state.details,
            )
        opened = await state.store.open(plan)
        state.batch_id = opened.batch_id
        self._submission.on_opened()
        state.created_at = opened.created_at
        state.device_arn = state.device_arn or opened.device_arn
        if state.items is None:  # attached: the store says what the batch is
            state.track, state.details = opened.track, opened.details
            state.resize(opened.items)
        for index, arn in opened.arns.items():
            state.arns[index] = arn
            state.arn_index[arn] = index
            state.resumed[index] = arn
        state.opened.set()
        self._following.start()
