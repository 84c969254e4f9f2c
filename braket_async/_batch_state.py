"""What every part of a :class:`~braket_async.batch.Batch` reads and writes
(:class:`BatchState`): its settings, what it knows of each item, its flags, and the one way
an item's outcome is recorded and announced.

The parts (``_batch_submission``, ``_batch_following``, ``_batch_results``,
``_batch_cancel``) each take this object and touch nothing of each other's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from . import errors
from ._base import Clock, Sleep
from ._batch_options import BatchOptions
from ._batch_outcomes import BatchOutcome, BatchProgress, ProgressCallback, client_token_for
from ._batch_store import SharedBatch, StoredBatch, WorkItem
from .models import QuantumTaskStatus
from .polling import RetryBudget
from .tracking import TaskTracker, TrackerStats

if TYPE_CHECKING:
    from ._client import BraketClient

__all__ = ["BatchState"]


class BatchState:
    """One batch's shared state, as this process knows it.

    Args:
        session: The session that creates, tracks and downloads.
        items: The batch's items (``None``: read from the store).
        defaults: The batch-wide request fields.
        batch_id: The batch's id (``None``: read from the manifest at start).
        store: Where the batch's records live.
        progress: Called with a :class:`BatchProgress` on every change.
        track: Whether items are reported once terminal (else once created).
        details: Whether COMPLETED tasks are fetched in full.
        options: The rarely used settings.
        size: The number of items when ``items`` is ``None``.
    """

    def __init__(
        self,
        session: BraketClient,
        items: Sequence[Any] | None,
        *,
        defaults: Mapping[str, Any],
        batch_id: str | None,
        store: StoredBatch,
        progress: ProgressCallback | None,
        track: bool,
        details: bool,
        options: BatchOptions,
        size: int | None,
    ) -> None:
        self.session = session
        self.items = items
        self.defaults = dict(defaults)
        self.batch_id = batch_id
        self.options = options
        self.store = store
        #: The same store, typed with what only a shared store offers (``None``: not shared).
        self.shared_store: SharedBatch | None = store.as_shared()
        self.shared = self.shared_store is not None
        # every retry budget of the batch ends a systematic 5xx after server_error_attempts
        self.retry: RetryBudget = attrs.evolve(
            options.retry, server_error_attempts=options.server_error_attempts
        )
        self.progress_cb = progress
        self.track = track
        self.details = details
        self.sleep: Sleep = options.sleep or session.sleep
        self.clock: Clock = options.clock or session.clock
        self.device_arn: str | None = defaults.get("device_arn")
        self.created_at = datetime.now(UTC)
        self.started_at: float | None = None

        self.n = 0
        self.arns: list[str | None] = []
        self.attempts: list[int] = []
        self.outcomes: list[BatchOutcome | None] = []
        self.resize(len(items) if items is not None else (size or 0))
        self.local: dict[int, BatchOutcome] = {}  # rich outcomes this process recorded
        self.resumed: dict[int, str] = {}  # index -> ARN read from the manifest
        self.uncertain: dict[int, WorkItem] = {}  # a create may have taken effect, ARN unknown
        self.in_flight: set[int] = set()
        self.arn_index: dict[str, int] = {}
        self.done: list[int] = []  # indices in the order their outcome became final
        #: Called with each index whose outcome became final (results downloads, once asked).
        self.on_final: Callable[[int], None] | None = None

        self.tracker: TaskTracker | None = None
        self.tracker_stats: TrackerStats | None = None
        self.stopping = False
        self.cancelled = False
        self.closed = False
        self.fatal: BaseException | None = None
        self.opened = asyncio.Event()
        self.submission_done = asyncio.Event()
        self.stop_event = asyncio.Event()
        self._changed = asyncio.Event()

    def resize(self, n: int) -> None:
        """The batch has ``n`` items (an attached batch learns it from the store)."""
        self.n = n
        self.arns = [None] * n
        self.attempts = [0] * n
        self.outcomes = [None] * n

    def client_token(self, index: int) -> str:
        """The client token of item ``index`` (raises while the batch id is unknown)."""
        if self.batch_id is None:
            raise errors.SessionStateError("the batch id is read from the manifest at start")
        return client_token_for(self.batch_id, index)

    @property
    def all_done(self) -> bool:
        """Every item has its outcome."""
        return len(self.done) == self.n and self.opened.is_set()

    @property
    def task_arns(self) -> dict[int, str]:
        """Item index -> ARN of every task created or resumed, as far as this process knows."""
        known = dict(self.store.known_arns)
        known.update((i, arn) for i, arn in enumerate(self.arns) if arn is not None)
        return known

    @property
    def progress(self) -> BatchProgress:
        """Current counts (for a shared batch: the store's, as last read)."""
        c = self.store.counters
        terminal = c["completed"] + c["failed"] + c["cancelled"]
        pending = max(0, c["submitted"] - terminal) if self.track else 0
        queued = running = 0
        if self.tracker is not None:
            # Last statuses the tracker saw; a task it saw finish before the batch counted
            # it stays in pending's remainder for that moment.
            seen = self.tracker.status_counts()
            queued = seen.get(QuantumTaskStatus.CREATED.value, 0) + seen.get(
                QuantumTaskStatus.QUEUED.value, 0
            )
            running = seen.get(QuantumTaskStatus.RUNNING.value, 0)
            queued = min(queued, pending)
            running = min(running, pending - queued)
        elapsed = 0.0 if self.started_at is None else self.clock() - self.started_at
        return BatchProgress(
            total=self.n,
            submitted=c["submitted"],
            submitting=len(self.in_flight),
            submit_failed=c["submit_failed"],
            not_submitted=c["not_submitted"],
            pending=pending,
            queued=queued,
            running=running,
            completed=c["completed"],
            failed=c["failed"],
            cancelled=c["cancelled"],
            done=len(self.done),
            elapsed=elapsed,
        )

    # ------------------------------------------------------------------ changes

    async def wait_change(self) -> None:
        await self._changed.wait()

    async def wait_change_or(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wait_change()

    def wake(self) -> None:
        """Wake everything waiting for a change (no progress callback)."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def notify(self) -> None:
        self.wake()
        if self.progress_cb is not None:
            try:
                self.progress_cb(self.progress)
            except Exception as exc:
                self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """The batch's fatal error (the first one stands): everything stops, consumers raise it."""
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # a TaskGroup wraps the one error that stopped it
        if self.fatal is None:
            self.fatal = exc
        self.stopping = True
        self.stop_event.set()
        if self.shared:
            self.store.interrupt()  # this process's part in a shared batch ends
        self.wake()  # consumers raise it

    # ------------------------------------------------------------------ outcomes

    def record_outcome(self, index: int, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """Item ``index`` has its final outcome (the first one recorded stands)."""
        if self.outcomes[index] is not None:
            return  # reported once
        self.local.setdefault(index, outcome)
        if not self.store.record_outcome(outcome):
            return
        self.after_recording(outcome, notify=notify)

    def after_recording(self, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """The store took an outcome: a file store's is final here (a shared store's comes
        back through ``Following.follow_store``)."""
        if outcome.ok and not self.track:
            pass  # untracked: created is all it is known to be
        else:
            self.session.telemetry.count(
                "batch_items", attributes={"state": "completed" if outcome.ok else "failed"}
            )
        if not self.shared:  # the file store's log is in this order: positions are counts
            self.apply(attrs.evolve(outcome, position=str(len(self.done))), notify=notify)

    def apply(self, outcome: BatchOutcome, *, notify: bool = True) -> None:
        """An outcome is final in this process (the first one applied stands)."""
        index = outcome.index
        if self.outcomes[index] is not None:
            return
        self.outcomes[index] = outcome
        self.done.append(index)
        if outcome.task_arn is not None and self.arns[index] is None:
            self.arns[index] = outcome.task_arn
        if self.on_final is not None:
            self.on_final(index)
        if notify:
            self.notify()
