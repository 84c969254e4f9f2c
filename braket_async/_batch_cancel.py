"""Cancel of a :class:`~braket_async.batch.Batch`: the CancelQuantumTask calls
(:class:`TaskCanceller`) and :meth:`Batch.cancel <braket_async.batch.Batch.cancel>`'s flow
(:class:`BatchCancel`): stop submitting, resolve creates that may have taken effect, cancel
every task not yet terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from . import errors
from ._batch_state import BatchState
from ._batch_store import WorkItem
from .polling import retry_target

__all__ = ["BatchCancel", "TaskCanceller"]

_CANCEL_CONCURRENCY = 20


class TaskCanceller:
    """Sends CancelQuantumTask for a batch's tasks (each ARN once) within its retry budget."""

    def __init__(self, state: BatchState) -> None:
        self._state = state
        #: ARNs this process asked the service to cancel.
        self.sent: set[str] = set()
        #: ``Batch.cancel`` is gathering its targets: a task recorded meanwhile joins them.
        self.collecting = False

    async def cancel_tasks(self, arns: Sequence[str]) -> list[BaseException]:
        """Cancel ``arns`` on the service; the errors of the ones that could not be."""
        state = self._state
        limit = asyncio.Semaphore(_CANCEL_CONCURRENCY)
        failures: list[BaseException] = []

        async def cancel_one(arn: str) -> None:
            async with limit:
                try:
                    await retry_target(
                        lambda: state.session.cancel_quantum_task(arn),
                        state.retry.start(state.clock),
                        sleep=state.sleep,
                    )
                except errors.ConflictException:
                    pass  # already COMPLETED or FAILED
                except errors.BraketError as exc:  # a refusal, or the retry budget is spent
                    failures.append(exc)

        self.sent.update(arns)
        async with asyncio.TaskGroup() as group:
            for arn in arns:
                group.create_task(cancel_one(arn))
        return failures


class BatchCancel:
    """The flow of :meth:`Batch.cancel <braket_async.batch.Batch.cancel>`.

    Args:
        state: The batch's state.
        canceller: Sends the cancels.
        resolve: Learns the ARN of an item whose create may have taken effect (same token).
        start: Starts the batch.
        stored: Starts the batch and returns once it is in its store.
    """

    def __init__(
        self,
        state: BatchState,
        canceller: TaskCanceller,
        *,
        resolve: Callable[[WorkItem], Awaitable[None]],
        start: Callable[[], object],
        stored: Callable[[], Awaitable[Any]],
    ) -> None:
        self._state = state
        self._canceller = canceller
        self._resolve = resolve
        self._start = start
        self._stored = stored

    async def cancel(self) -> tuple[str, ...]:
        """Stop submitting and cancel on the service every task the batch created (see
        :meth:`Batch.cancel <braket_async.batch.Batch.cancel>`); the ARNs cancelled."""
        state = self._state
        canceller = self._canceller
        shared = state.shared_store
        if state.closed:
            if not state.all_done:
                raise errors.SessionStateError(
                    "this batch was closed with outcomes outstanding; cancel it before closing"
                )
            # (a closed batch that finished sent everything: only its untracked tasks, not
            # seen terminal, are left to cancel)
        elif shared is not None:
            state.cancelled = True
            # Every process stops creating; the ARNs recorded before this request are
            # cancelled here, the ones recorded after it by the process that records them
            # (the store tells it so). Creates under way here stop retrying, and whatever
            # they may have created is resolved (same token) and recorded first.
            await self._stored()
            canceller.collecting = True  # creates recorded meanwhile join the targets
            await shared.request_stop(cancel=True)
            state.stop_event.set()
            while state.in_flight:
                await state.wait_change()
            for index in sorted(state.uncertain):
                if state.arns[index] is None:
                    await self._resolve(state.uncertain[index])
            await shared.refresh()
        else:
            state.cancelled = True
            state.stopping = True
            state.stop_event.set()
            self._start()
            await state.submission_done.wait()
        done = {i for i in state.done if (o := state.outcomes[i]) and o.status is not None}
        targets = [arn for i, arn in sorted(state.task_arns.items()) if i not in done]
        canceller.collecting = False  # (no await since the targets were read)
        failures = await canceller.cancel_tasks([a for a in targets if a not in canceller.sent])
        if failures:
            raise failures[0]
        return tuple(targets)
