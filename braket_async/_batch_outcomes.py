"""What a batch reports: per-item :class:`BatchOutcome`, counts in :class:`BatchProgress`,
and the client token that ties an item to its task."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from . import errors
from .models import QuantumTask, QuantumTaskStatus, QuantumTaskSummary

if TYPE_CHECKING:
    from .models.task_result import TaskResult

__all__ = [
    "BatchItemState",
    "BatchOutcome",
    "BatchProgress",
    "ProgressCallback",
    "client_token_for",
    "is_batch_id",
]

_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$")


def is_batch_id(value: str) -> bool:
    """1-40 characters of ``[A-Za-z0-9._:-]``, starting with a letter or digit."""
    return _BATCH_ID.match(value) is not None


def client_token_for(batch_id: str, index: int) -> str:
    """The CreateQuantumTask client token of item ``index`` of batch ``batch_id``.

    Args:
        batch_id: The batch's id.
        index: The item's position in the batch.

    Returns:
        The token.
    """
    return f"{batch_id}-{index}"


class BatchItemState(enum.StrEnum):
    """How a batch item ended (:attr:`BatchOutcome.state`; also the manifest's record kinds).

    ``COMPLETED`` / ``FAILED`` / ``CANCELLED``: its task was seen in that terminal status
    (``FAILED`` also for a resumed ARN the service does not know). ``SUBMITTED``: its task
    was created and the batch does not track it (``track=False``). ``SUBMIT_FAILED``: it was
    sent and its create failed for good (a refusal, retries exhausted). ``NOT_SUBMITTED``:
    it was never sent, or no attempt of it took effect, because the batch was cancelled or
    stopped first (``fail_fast``); a ``resume`` sends it.
    """

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SUBMITTED = "SUBMITTED"
    SUBMIT_FAILED = "SUBMIT_FAILED"
    NOT_SUBMITTED = "NOT_SUBMITTED"


@attrs.frozen
class BatchOutcome:
    """What happened to item ``index`` of a batch (reported exactly once per item).

    ``task_arn`` is set once the task exists. When the batch tracks tasks, the terminal
    state is in ``task`` (the full ``QuantumTask``) or, for a batch submitted with
    ``details=False``, in ``summary`` (the ``QuantumTaskSummary`` the tracker's search
    returned, no extra call) -- except that a FAILED or CANCELLED task always has its full
    ``task`` (for the failure reason). ``status`` reads whichever is there.

    ``error`` says why the item did not complete: its create failed (``ValidationException``,
    ``ParameterError``, retries exhausted, ...), its task ended FAILED (``QuantumTaskFailed``)
    or CANCELLED (``QuantumTaskCancelled``), its result could not be fetched, or it was never
    sent (:class:`~braket_async.errors.ItemNotSubmitted`). ``result`` is the downloaded
    result when asked for. ``attempts`` counts create calls this run made for it (0 for an
    item resumed from the manifest, which is then ``resumed``). An outcome recorded by
    another process of a shared batch carries ``recorded_status`` instead of models, and its
    error as a :class:`~braket_async.batch.RecordedError`.
    """

    index: int
    client_token: str
    task_arn: str | None = None
    task: QuantumTask | None = None
    error: errors.BraketError | None = None
    result: TaskResult | None = None
    attempts: int = 0
    resumed: bool = False
    summary: QuantumTaskSummary | None = None
    #: The terminal status a batch store recorded (an outcome read back from a shared store,
    #: which keeps no models); ``status`` falls back to it.
    recorded_status: QuantumTaskStatus | None = None
    #: Where the outcome sits on its batch's outcome log: ``batch.as_completed(after=...)``
    #: resumes after it (a stream id with a Redis store, a count otherwise).
    position: str | None = None

    @property
    def ok(self) -> bool:
        """No error: created (and, when tracked, COMPLETED)."""
        return self.error is None

    @property
    def status(self) -> QuantumTaskStatus | None:
        """The task's terminal status when tracked, else ``None``."""
        if self.task is not None:
            return self.task.status
        if self.summary is not None:
            return self.summary.status
        return self.recorded_status

    @property
    def state(self) -> BatchItemState:
        """How the item ended: its task's terminal status, or that it was not created
        (``SUBMIT_FAILED``: its create failed; ``NOT_SUBMITTED``: a cancel or ``fail_fast``
        kept it from being sent), or ``SUBMITTED`` when its task is not tracked."""
        if isinstance(self.error, errors.ItemNotSubmitted):
            return BatchItemState.NOT_SUBMITTED
        if self.task_arn is None:
            return BatchItemState.SUBMIT_FAILED
        status = self.status
        if status == QuantumTaskStatus.COMPLETED:  # (even if its result download failed)
            return BatchItemState.COMPLETED
        if status == QuantumTaskStatus.CANCELLED:
            return BatchItemState.CANCELLED
        if status is None and self.error is None:
            return BatchItemState.SUBMITTED
        return BatchItemState.FAILED

    @property
    def final_state(self) -> QuantumTask | QuantumTaskSummary | None:
        """``task`` if known, else ``summary``: the terminal state the tracker saw."""
        return self.task if self.task is not None else self.summary


@attrs.frozen
class BatchProgress:
    """Counts of a batch's items, handed to the ``progress`` callback on every change.

    ``submitted``: tasks created (or found in the manifest); ``submitting``: create calls
    under way (including those waiting for the rate limiter); ``submit_failed``: items whose
    create failed for good; ``not_submitted``: items never sent (cancel, ``fail_fast``);
    ``pending``: created tasks not yet reported terminal; ``completed`` / ``failed`` /
    ``cancelled``: tasks seen in that terminal state. ``done`` counts reported outcomes.

    ``queued`` (CREATED or QUEUED) and ``running`` (RUNNING) split ``pending`` by the
    status the batch's tracker last saw: ``pending = queued + running + unknown``, where
    unknown counts tasks not seen since their creation, CANCELLING ones, and a task seen
    terminal whose outcome is not reported yet. They are learnt only when a ``progress``
    callback is set (the tracker then drops its status filter on a window sweep every
    ``sweep.active_interval`` seconds), so they lag the service by up to that long plus the
    tracker's poll interval; without a callback, and with ``track=False``, they stay 0.
    """

    total: int
    submitted: int = 0
    submitting: int = 0
    submit_failed: int = 0
    not_submitted: int = 0
    pending: int = 0
    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    done: int = 0
    elapsed: float = 0.0

    @property
    def finished(self) -> bool:
        """Every item has its outcome."""
        return self.done >= self.total


ProgressCallback = Callable[[BatchProgress], object]
"""Called with a :class:`BatchProgress` on every change of a batch (keep it quick)."""
