"""What a :class:`~braket_async.batch.Batch`'s consumers read back (:class:`BatchResults`):
its outcomes in completion order (resumable after a position) and, on request, each
COMPLETED task's result downloaded by a few workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import attrs

from . import errors
from ._batch_outcomes import BatchOutcome
from ._batch_state import BatchState
from .models import QuantumTaskStatus
from .polling import retry_target

__all__ = ["BatchResults"]

_RESULT_WORKERS = 8


def _position_key(position: str) -> tuple[int, ...]:
    """Positions compare as numbers: ``"12"`` (file store) or ``"1700000000000-3"`` (stream)."""
    try:
        return tuple(int(part) for part in position.split("-"))
    except ValueError:
        raise errors.ParameterError(
            "after", f"must be a position of an outcome of this batch, got {position!r}"
        ) from None


class BatchResults:
    """A batch's outcomes as consumers read them, with results downloaded on request.

    Args:
        state: The batch's state.
        start: Starts the batch (reading its outcomes does).
    """

    def __init__(self, state: BatchState, *, start: Callable[[], object]) -> None:
        self._state = state
        self._start = start
        self._with_results: list[int] = []  # like state.done, once any result was fetched
        self._queue: asyncio.Queue[int] | None = None
        #: The task downloading results (``None`` until results are asked for).
        self.task: asyncio.Task[None] | None = None

    async def outcomes(
        self, *, results: bool = False, after: str | None = None
    ) -> AsyncIterator[BatchOutcome]:
        """Each item's outcome once, in completion order (see ``Batch.as_completed``)."""
        state = self._state
        self._start()
        if results:
            self._request_results()
        skip = None if after is None else _position_key(after)
        order = self._with_results if results else state.done
        index = 0
        while True:
            while index < len(order):
                outcome = state.outcomes[order[index]]
                index += 1
                assert outcome is not None
                if (
                    skip is not None
                    and outcome.position is not None
                    and _position_key(outcome.position) <= skip
                ):
                    continue
                yield outcome
            if state.fatal is not None:
                raise state.fatal
            if (state.opened.is_set() and len(order) == state.n) or state.closed:
                await self._store_flushed()
                if state.fatal is not None:
                    raise state.fatal
                return
            await state.wait_change()

    async def _store_flushed(self) -> None:
        """Every record appended so far is written: the manifest is complete once the
        outcomes are (a write error is the batch's fatal error, set by the writer)."""
        with contextlib.suppress(Exception):
            await self._state.store.flush()

    def collect(self) -> list[BatchOutcome]:
        """Every item's outcome, in item order (raises if some are outstanding)."""
        state = self._state
        if not state.all_done:
            raise errors.SessionStateError(
                f"batch {state.batch_id} was closed with {state.n - len(state.done)} "
                "outcomes outstanding"
            )
        return [o for o in state.outcomes if o is not None]  # all set: done

    # ------------------------------------------------------------------ downloads

    def _request_results(self) -> None:
        state = self._state
        if self._queue is not None:
            return
        if not state.track:
            raise errors.ParameterError("results", "needs a batch submitted with track=True")
        self._queue = asyncio.Queue()
        state.on_final = self._queue_result
        for index in state.done:
            self._queue_result(index)
        self.task = asyncio.get_running_loop().create_task(
            self._fetch_results(), name=f"braket-async batch {state.batch_id} results"
        )

    def _queue_result(self, index: int) -> None:
        outcome = self._state.outcomes[index]
        assert outcome is not None and self._queue is not None
        if outcome.error is None and outcome.status == QuantumTaskStatus.COMPLETED:
            self._queue.put_nowait(index)
        else:
            self._with_results.append(index)  # nothing to download

    async def _fetch_results(self) -> None:
        state = self._state
        queue = self._queue
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
            while len(self._with_results) < state.n and state.fatal is None:
                await state.wait_change()
                for w in workers:
                    error = w.exception() if w.done() else None
                    if error is not None:
                        state.fail(error)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            state.notify()

    async def _fetch_result(self, index: int) -> None:
        state = self._state
        outcome = state.outcomes[index]
        assert outcome is not None
        # The terminal state the tracker saw, else (an outcome another process recorded)
        # the ARN: one GetQuantumTask more.
        target = outcome.final_state or outcome.task_arn
        assert target is not None
        try:
            result = await retry_target(
                lambda: state.session.get_quantum_task_result(target),
                state.retry.start(state.clock),
                sleep=state.sleep,
            )
        except errors.BraketError as exc:  # not transient, or the retry budget is spent
            outcome = attrs.evolve(outcome, error=exc)
        else:
            outcome = attrs.evolve(outcome, result=result)
        state.outcomes[index] = outcome
        self._with_results.append(index)
        state.notify()
