"""Submission of a :class:`~braket_async.batch.Batch` (:class:`Submission`): workers take
items from the store and create their tasks through the session's rate limiter, within the
batch's retry budget and its server-error breaker, and record what each create did."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import errors
from ._batch_breaker import ServerErrorBreaker
from ._batch_cancel import TaskCanceller
from ._batch_items import build_request, device_of
from ._batch_locate import find_created, tagged, wall_now
from ._batch_manifest import item_fingerprint
from ._batch_outcomes import BatchOutcome
from ._batch_state import BatchState
from ._batch_store import RecordedError, WorkItem
from ._sdk_retries import sdk_retries_off
from .errors import ItemNotSubmitted
from .polling import RetryStopped, is_transient, retry_target

__all__ = ["Submission"]


class Submission:
    """Creates a batch's items in this process.

    Args:
        state: The batch's state.
        canceller: Cancels a task recorded after a cancel request.
    """

    def __init__(self, state: BatchState, canceller: TaskCanceller) -> None:
        self._state = state
        self._canceller = canceller
        self._breaker = ServerErrorBreaker(clock=state.clock, batch_id=state.batch_id)

    def on_opened(self) -> None:
        """The store opened the batch: its id is known (the breaker's log lines carry it)."""
        self._breaker.batch_id = self._state.batch_id

    # ------------------------------------------------------------------ the workers

    async def submit_all(self) -> None:
        """Create every item this process takes, then (stopped early) settle the rest."""
        state = self._state
        workers = max(1, min(state.options.max_in_flight, state.n))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker())
            if state.cancelled or state.fatal is not None:
                # Stopped early: learn the ARN of every create that may have taken effect,
                # so that no task exists the batch does not know (and cancel() can reach).
                for index in sorted(state.uncertain):
                    if state.arns[index] is None:
                        await self.resolve(state.uncertain[index])
                reason = "the batch was cancelled" if state.cancelled else "an earlier item failed"
                await self._mark_not_submitted(reason)
        finally:
            self.end_submission()

    def end_submission(self) -> None:
        """No task will be created any more: the tracker's stream may end once it is idle."""
        state = self._state
        state.submission_done.set()
        if state.tracker is not None and not state.tracker.sealed and not state.shared:
            state.tracker.seal()

    def _submitting(self) -> bool:
        """Workers go on: a file batch until it stops; a shared one until closed or failed
        (a cancel reaches it through the store, which then hands out only items to resolve)."""
        state = self._state
        if state.shared:
            return not state.closed and state.fatal is None
        return not state.stopping

    async def _worker(self) -> None:
        store = self._state.store
        while self._submitting():
            item = await store.take()
            if item is None:
                return
            if item.reclaimed and self._store_stopped():
                # Taken over after a stop request: resolve it (same token), then cancel it.
                await self.resolve(item)
                continue
            await self._submit_one(item)
            # This worker's record is stored before it creates another task: after a
            # failed write (a full disk) no worker starts a new create.
            with contextlib.suppress(Exception):  # reported to fail() by the store
                await store.flush()

    def _store_stopped(self) -> bool:
        shared = self._state.shared_store
        return shared is not None and shared.stop_requested

    # ------------------------------------------------------------------ requests

    def request(self, index: int) -> dict[str, Any]:
        """The create_quantum_task keyword arguments of item ``index`` (no client token)."""
        state = self._state
        if state.items is None:
            raise errors.SessionStateError(f"item {index} is not held by this process")
        return build_request(state.items[index], index, state.defaults)

    def _request_for(self, item: WorkItem) -> dict[str, Any]:
        """The create arguments of a handed-out item: the store's copy, else built here."""
        if item.request is not None:
            return dict(item.request)
        if item.error is not None and self._state.items is None:
            raise RecordedError("ParameterError", item.error)
        return self.request(item.index)

    def fingerprint(self, index: int) -> str:
        """The fingerprint of item ``index``'s request (a resume checks it is the same)."""
        return item_fingerprint(self.request(index))

    # ------------------------------------------------------------------ one item

    async def _submit_one(self, item: WorkItem) -> None:
        state = self._state
        index = item.index
        token = state.client_token(index)
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
                found = await find_created(state.session, request, token, lost_at)
                lost_at = None
                if found is not None:
                    return found
            if not await self._breaker.wait(state.sleep, state.stop_event):
                raise RetryStopped(
                    last_error
                    or ItemNotSubmitted(index, "the batch stopped while its creates were paused")
                )
            state.attempts[index] += 1
            sent_at = wall_now()
            try:
                # botocore's retries off: each attempt is one of retry_target's, counted by
                # the budget (server_error_attempts included) and seen by the breaker
                with sdk_retries_off():
                    arn = await state.session.create_quantum_task(
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
            state.uncertain[index] = item  # until an answer says whether the task exists

        state.in_flight.add(index)
        started = state.clock()
        try:
            try:
                arn = await retry_target(
                    create,
                    state.retry.start(state.clock),
                    sleep=state.sleep,
                    on_error=may_have_taken_effect,
                    stop=state.stop_event,
                )
            except RetryStopped:
                return  # the batch is stopping: left uncertain for cancel() / resume
            except errors.BraketError as exc:
                if not is_transient(exc):
                    state.uncertain.pop(index, None)  # a definite answer: no task exists
                # (a spent retry budget leaves the item uncertain for cancel() / resume)
                await self._submit_failed(item, exc, request)
                return
            state.uncertain.pop(index, None)
            # A create answered at its first attempt made its task just now, however long it
            # waited for the rate limiter first; an earlier attempt (a retry, or a process
            # that stopped, for a reclaimed item) may have made it before the tracker's window.
            retried = last_error is not None  # an attempt failed: the answer came later
            slow = item.reclaimed or (retried and state.clock() - started > self._anchor_after)
            await self._created(item, arn, request, just_created=not slow)
        finally:
            state.in_flight.discard(index)
            if not state.in_flight:
                state.wake()  # a shared cancel() waits for this process's creates

    @property
    def _anchor_after(self) -> float:
        """Retried creates that took longer than this may have made their task earlier than
        the tracker's window around "now" reaches (its slack; its sweeps pad a second more
        for clock skew): the tracker locates those by ARN instead."""
        return self._state.options.tracker.sweep.created_at_slack

    async def _created(
        self,
        item: WorkItem,
        arn: str,
        request: Mapping[str, Any],
        *,
        just_created: bool = True,
    ) -> None:
        state = self._state
        index = item.index
        state.arns[index] = arn
        state.arn_index[arn] = index
        state.session.telemetry.count("batch_items", attributes={"state": "submitted"})
        cancel = await state.store.created(
            item, arn, item_fingerprint(request), slow=not just_created
        )
        canceller = self._canceller
        if cancel and arn not in canceller.sent and not canceller.collecting:
            # Recorded after a cancel request: whoever cancels did not see this task.
            await canceller.cancel_tasks([arn])
        if state.tracker is not None and not state.shared:
            # Created just now, the window sweeps find it without a locate call; a retried
            # create may have made its task before the tracker's window around "now": the
            # tracker locates it by ARN instead (batched, no get).
            state.tracker.add(
                arn,
                device_arn=device_of(state.items[index], state.defaults)
                if state.items is not None
                else state.device_arn,
                just_created=just_created,
            )
            state.notify()
        elif not state.track:
            state.record_outcome(index, BatchOutcome(
                index, state.client_token(index), arn, attempts=state.attempts[index]
            ))
        else:
            state.notify()

    async def _submit_failed(
        self, item: WorkItem, exc: errors.BraketError, request: Mapping[str, Any] | None
    ) -> None:
        state = self._state
        index = item.index
        fingerprint = None
        with contextlib.suppress(errors.BraketError):  # an item that cannot be built
            fingerprint = item_fingerprint(request or self._request_for(item))
        outcome = BatchOutcome(
            index, state.client_token(index), error=exc, attempts=state.attempts[index]
        )
        state.local[index] = outcome
        await state.store.submit_failed(item, outcome, fingerprint)
        state.after_recording(outcome)
        if state.options.fail_fast:
            state.fail(exc)

    async def _mark_not_submitted(self, reason: str) -> None:
        state = self._state
        if state.shared:
            await state.store.request_stop(cancel=False)  # the store marks what nobody took
            return
        for index, arn in enumerate(state.arns):
            if arn is None and state.outcomes[index] is None and index not in state.in_flight:
                state.record_outcome(index, BatchOutcome(
                    index, state.client_token(index), error=ItemNotSubmitted(index, reason),
                    attempts=state.attempts[index],
                ), notify=False)
        state.notify()

    async def resolve(self, item: WorkItem) -> None:
        """Learn the ARN of an item whose create may have taken effect (same token)."""
        state = self._state
        request = self._request_for(item)
        index = item.index
        token = state.client_token(index)

        async def create() -> str:
            with sdk_retries_off():  # every attempt is one of retry_target's
                return await state.session.create_quantum_task(
                    **tagged(request, token), client_token=token
                )

        try:
            arn = await retry_target(create, state.retry.start(state.clock), sleep=state.sleep)
        except errors.BraketError as exc:
            if is_transient(exc):
                raise  # the budget is spent: still unknown, the batch fails
            if state.shared:  # a definite answer: no task exists; the store needs its outcome
                await self._submit_failed(item, exc, request)
            return
        state.attempts[index] += 1
        state.uncertain.pop(index, None)
        await self._created(item, arn, request)
