"""Following a :class:`~braket_async.batch.Batch`'s tasks to their outcomes
(:class:`Following`): one open-ended tracker stream in this process, or, for a shared batch,
the store's outcome log, and tracking while this process holds the store's lease."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

import attrs

from . import errors
from ._batch_outcomes import BatchOutcome
from ._batch_state import BatchState
from .models import QuantumTask, QuantumTaskStatus, QuantumTaskSummary
from .tracking import TaskTracker

__all__ = ["Following"]

_log = logging.getLogger("braket_async.batch")

#: How far before the batch's recorded start a resumed task may have been created (clock skew).
_RESUME_SLACK = timedelta(minutes=5)
#: Concurrent GetQuantumTask calls for the failure reason of FAILED / CANCELLED tasks
#: (``details=False``).
_DETAIL_CONCURRENCY = 8


class _LeaseLost(Exception):
    """Another process took over tracking a shared batch."""


class _Stopped(Exception):
    """This process's part in a shared batch ended (its error is the batch's)."""


class Following:
    """Turns a batch's tasks into outcomes as they become terminal."""

    def __init__(self, state: BatchState) -> None:
        self._state = state

    def start(self) -> None:
        """The batch is open: a file batch gets its tracker (fed the resumed ARNs); an
        untracked one reports its resumed tasks as they are."""
        state = self._state
        if state.track and not state.shared:
            resumed = [state.resumed[i] for i in sorted(state.resumed)]
            state.tracker = self._new_tracker(resumed=resumed)
            state.tracker_stats = state.tracker.stats
        elif not state.track:
            for index, arn in sorted(state.resumed.items()):
                state.record_outcome(index, BatchOutcome(
                    index, state.client_token(index), arn, resumed=True
                ))
        state.notify()

    def _new_tracker(self, *, resumed: Sequence[str] = ()) -> TaskTracker:
        state = self._state
        options = state.options.tracker
        if state.progress_cb is not None:
            # QUEUED / RUNNING cost extra search pages: learnt (unless asked for) only for a
            # progress callback, which hears of every change.
            options = attrs.evolve(options, observe_active=True)
        on_status_change = state.notify if state.progress_cb is not None else None
        if resumed:
            return TaskTracker.resume(
                state.session,
                resumed,
                created_after=state.created_at - _RESUME_SLACK,
                # An ARN of the manifest may be unknown to the service: that item's
                # outcome (see _resumed_task_unknown), not the end of the batch.
                may_be_unknown=True,
                on_unknown=self._resumed_task_unknown,
                options=options,
                sleep=state.sleep,
                clock=state.clock,
                on_status_change=on_status_change,
                events=state.session.events,
            )
        return TaskTracker(
            state.session,
            options=options,
            sleep=state.sleep,
            clock=state.clock,
            on_status_change=on_status_change,
            events=state.session.events,
            on_unknown=self._resumed_task_unknown,
        )

    # ------------------------------------------------------------------ this process

    async def follow(self) -> None:
        """Report tasks as the tracker sees them finish: one open-ended stream, fed by
        ``Submission`` as it creates and sealed when submission ends."""
        tracker = self._state.tracker
        assert tracker is not None
        await self._follow_tracker(tracker)

    async def _follow_tracker(self, tracker: TaskTracker) -> None:
        lookups = asyncio.Semaphore(_DETAIL_CONCURRENCY)
        async with tracker, asyncio.TaskGroup() as group:
            async for state in tracker.as_completed(
                details=self._state.details, until_sealed=True
            ):
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
        batch = self._state
        state = task if task is not None else summary
        assert state is not None
        index = batch.arn_index.get(state.quantum_task_arn)
        if index is None:
            return
        error: errors.BraketError | None = None
        if state.status == QuantumTaskStatus.COMPLETED:
            pass
        elif task is None:  # never: _follow_tracker fetches the full task of every unsuccessful one
            raise errors.SessionStateError(f"no details of unsuccessful task {summary}")
        elif task.status == QuantumTaskStatus.CANCELLED:
            error = errors.QuantumTaskCancelled(task)
        else:
            error = errors.QuantumTaskFailed(task)
        batch.record_outcome(index, BatchOutcome(
            index,
            batch.client_token(index),
            state.quantum_task_arn,
            task=task,
            error=error,
            attempts=batch.attempts[index],
            resumed=index in batch.resumed,
            summary=summary,
        ))

    def _resumed_task_unknown(self, arn: str, error: errors.ResourceNotFoundException) -> None:
        """The tracker found a manifest ARN unknown to the service: that item's outcome, not
        the batch's end."""
        state = self._state
        index = state.arn_index[arn]
        error.add_note(
            f"{arn} is recorded in the batch's manifest but unknown to the service "
            "(another account or region, or a manifest edited by hand)"
        )
        state.record_outcome(index, BatchOutcome(
            index, state.client_token(index), arn, error=error, resumed=True
        ))

    # ------------------------------------------------------------------ shared store

    async def stop_with_the_batch(self) -> None:
        """A shared batch's background work ends with this process's part in it: when it
        fails (a file batch's ends by itself); raises ``_Stopped`` then."""
        state = self._state
        while len(state.done) < state.n:
            if state.fatal is not None or state.closed:
                raise _Stopped
            await state.wait_change()

    async def follow_store(self) -> None:
        """Read a shared batch's outcome log into this process (its own outcomes in full,
        the others as recorded)."""
        state = self._state
        assert state.batch_id is not None
        async for position, stored in state.store.outcomes(None):
            local = state.local.get(stored.index)
            if local is not None:
                outcome = attrs.evolve(local, position=position)
            else:
                outcome = stored.outcome(state.batch_id, position)
            state.apply(outcome)
            if len(state.done) >= state.n:
                return

    async def lead(self) -> None:
        """Track a shared batch's tasks while this process holds the store's tracking lease;
        otherwise stand by to take over, until every item has its outcome."""
        state = self._state
        store = state.shared_store
        assert store is not None
        while len(state.done) < state.n and not state.stopping:
            if await store.lead():
                try:
                    await self._track_as_leader()
                except* _LeaseLost:
                    _log.info("batch %s: another process took over tracking", state.batch_id)
                else:
                    return  # every created task is terminal and recorded
                finally:
                    tracker, state.tracker = state.tracker, None
                    if tracker is not None:
                        await tracker.aclose()
            else:
                await state.wait_change_or(store.lease_interval)

    async def _track_as_leader(self) -> None:
        state = self._state
        store = state.shared_store
        assert store is not None
        tracker = self._new_tracker()
        state.tracker = tracker
        state.tracker_stats = tracker.stats

        async def feed() -> None:
            async for index, arn, live in store.created_tasks():
                if state.outcomes[index] is not None:
                    continue
                state.arns[index] = arn
                state.arn_index[arn] = index
                tracker.add(arn, device_arn=state.device_arn, just_created=live)
            tracker.seal()

        async def renew() -> None:
            while True:
                await state.sleep(store.lease_interval)
                if not await store.lead():
                    raise _LeaseLost

        async with asyncio.TaskGroup() as group:
            feeder = group.create_task(feed())
            renewer = group.create_task(renew())
            await self._follow_tracker(tracker)
            feeder.cancel()
            renewer.cancel()
        await store.release_lease()
