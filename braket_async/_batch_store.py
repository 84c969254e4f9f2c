"""The seam between a batch and where it lives: :class:`BatchStore` / :class:`StoredBatch`.

A batch knows its items (each one's create request and fingerprint), the client tokens
(``f"{batch_id}-{index}"``), the ARNs it created, every item's outcome, its progress counts
and whether a cancel was requested. The engine (``_batch_engine.Batch``) reads and writes
those only through a :class:`StoredBatch`:

* :class:`~braket_async._batch_store_file.FileStore` (the default): the process's memory plus,
  with ``manifest=``, the JSON-lines manifest; one process.
* :class:`~braket_async.batch_redis.RedisBatchStore`: Redis, shared by every process that
  attaches (work handed out by a Streams consumer group, outcomes in a stream).

The store never calls Braket; the engine never touches a file or Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from . import errors
from ._batch_outcomes import BatchOutcome, client_token_for
from .models import QuantumTaskStatus

__all__ = [
    "BatchPlan",
    "BatchStore",
    "Opened",
    "RecordedError",
    "SharedBatch",
    "StoredBatch",
    "StoredOutcome",
    "WorkItem",
]


class RecordedError(errors.BraketError):
    """An item's error as a batch store recorded it, read back in another process:
    ``error_type`` is the original exception's class name, ``message`` its text.

    Args:
        error_type: The original exception's class name.
        message: Its text.
    """

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.error_type, self.message))


@attrs.frozen
class WorkItem:
    """One item handed to this process to create.

    ``request``: its CreateQuantumTask arguments (no client token) when the store holds
    them, ``None`` when the engine builds them from its own items. ``error``: why the store
    could not hold a request (the item is not valid). ``ticket``: the store's handle of the
    hand-out (a stream entry id). ``reclaimed``: taken over from a process that stopped
    answering, so it may have been sent already (same client token: no second task).
    """

    index: int
    request: Mapping[str, Any] | None = None
    error: str | None = None
    ticket: str | None = None
    reclaimed: bool = False


@attrs.frozen
class BatchPlan:
    """What the engine knows when it opens a store for a batch it submits."""

    batch_id: str | None
    items: int
    created_at: datetime
    #: item index -> its create arguments (raises ``BraketError`` for an invalid item)
    request_of: Callable[[int], dict[str, Any]]
    #: item index -> its fingerprint (raises ``BraketError`` for an invalid item)
    fingerprint_of: Callable[[int], str]
    defaults: Mapping[str, Any]
    track: bool
    details: bool


@attrs.frozen
class Opened:
    """A batch as its store holds it once opened."""

    batch_id: str
    items: int
    created_at: datetime
    #: item index -> task ARN recorded before this process opened the batch (file resume)
    arns: Mapping[int, str] = attrs.field(factory=dict)
    track: bool = True
    details: bool = True
    #: device ARN of the batch (sharpens the tracker's sweeps)
    device_arn: str | None = None


#: Outcome kinds a store records.
KINDS = frozenset(
    ("completed", "failed", "cancelled", "created", "submit_failed", "not_submitted")
)


def outcome_kind(outcome: BatchOutcome) -> str:
    """The kind a store records for ``outcome`` (its counter's name)."""
    status = outcome.status
    if status == QuantumTaskStatus.COMPLETED and outcome.error is None:
        return "completed"
    if status == QuantumTaskStatus.CANCELLED:
        return "cancelled"
    if status is not None:
        return "failed"
    if outcome.task_arn is None:
        if isinstance(outcome.error, errors.ItemNotSubmitted):
            return "not_submitted"
        if isinstance(outcome.error, RecordedError) and outcome.error.error_type == (
            "ItemNotSubmitted"
        ):
            return "not_submitted"
        return "submit_failed"
    if outcome.error is not None:
        return "failed"  # a recorded ARN the service does not know
    return "created"  # untracked batch: created is all it is known to be


@attrs.frozen
class StoredOutcome:
    """An outcome as a store keeps it (a few short strings; no models)."""

    index: int
    kind: str
    task_arn: str | None = None
    status: str | None = None
    error_type: str | None = None
    message: str | None = None
    attempts: int = 0

    @classmethod
    def of(cls, outcome: BatchOutcome) -> StoredOutcome:
        error = outcome.error
        message = None
        if isinstance(error, errors.ItemNotSubmitted):
            message = error.reason
        elif isinstance(error, errors.QuantumTaskFailed):
            message = error.failure_reason
        elif error is not None:
            message = error.message if isinstance(error, RecordedError) else str(error)
        error_type = None
        if error is not None:
            error_type = error.error_type if isinstance(error, RecordedError) else type(
                error
            ).__name__
        status = outcome.status
        return cls(
            outcome.index,
            outcome_kind(outcome),
            outcome.task_arn,
            None if status is None else str(status),
            error_type,
            message,
            outcome.attempts,
        )

    def fields(self) -> dict[str, str]:
        """Short field names for a stream entry (absent values left out)."""
        out = {"i": str(self.index), "k": self.kind}
        for key, value in (
            ("a", self.task_arn), ("s", self.status), ("e", self.error_type), ("m", self.message)
        ):  # fmt: skip
            if value is not None:
                out[key] = value
        if self.attempts:
            out["n"] = str(self.attempts)
        return out

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> StoredOutcome:
        return cls(
            int(fields["i"]),
            fields["k"],
            fields.get("a"),
            fields.get("s"),
            fields.get("e"),
            fields.get("m"),
            int(fields.get("n", "0")),
        )

    def outcome(self, batch_id: str, position: str | None) -> BatchOutcome:
        """The :class:`BatchOutcome` this record stands for (errors as
        :class:`RecordedError`)."""
        error: errors.BraketError | None = None
        if self.error_type == "ItemNotSubmitted":
            error = errors.ItemNotSubmitted(self.index, self.message or "")
        elif self.error_type is not None:
            error = RecordedError(self.error_type, self.message or "")
        return BatchOutcome(
            self.index,
            client_token_for(batch_id, self.index),
            self.task_arn,
            error=error,
            attempts=self.attempts,
            recorded_status=None if self.status is None else QuantumTaskStatus(self.status),
            position=position,
        )


class StoredBatch(Protocol):
    """One batch in one store, as one process sees it (made by :meth:`BatchStore.bind`).

    Writes are idempotent per item: the first outcome recorded for an item stands, and it
    appears once on the outcome log (:meth:`outcomes`), at a position (a string) a reader can
    resume after.
    """

    def as_shared(self) -> SharedBatch | None:
        """This batch typed as a :class:`SharedBatch` if other processes may take part in
        it, else ``None``."""
        ...

    async def open(self, plan: BatchPlan | None) -> Opened:
        """Create or continue the batch of ``plan`` (``None``: attach to an existing one)."""
        ...

    async def take(self) -> WorkItem | None:
        """The next item this process should create; ``None`` once no item is left to
        anyone (or a stop request ended submission). Waits while others hold the rest."""
        ...

    async def created(
        self, item: WorkItem, arn: str, fingerprint: str | None, *, slow: bool
    ) -> bool:
        """Record the item's task; ``True`` if a cancel was requested before (the caller
        then cancels this task: whoever cancels saw only the ARNs recorded before)."""
        ...

    async def submit_failed(
        self, item: WorkItem, outcome: BatchOutcome, fingerprint: str | None
    ) -> None:
        """Record that the item's create failed for good (``outcome``, its error)."""
        ...

    def record_outcome(self, outcome: BatchOutcome) -> bool:
        """Record an item's final outcome (written in the background; :meth:`flush` waits);
        ``False`` if this process knows it already has one."""
        ...

    def outcomes(self, after: str | None) -> AsyncIterator[tuple[str, StoredOutcome]]:
        """``(position, outcome)`` in recording order after ``after`` (``None``: from the
        start), following new ones until every item has one."""
        ...

    @property
    def counters(self) -> Mapping[str, int]:
        """Progress counters (as last read): submitted, settled, done, and one per kind."""
        ...

    @property
    def known_arns(self) -> Mapping[int, str]:
        """item index -> ARN of every task recorded (as far as this process has read)."""
        ...

    async def request_stop(self, *, cancel: bool) -> None:
        """No process creates anything more; items not handed out get ``not_submitted``.
        ``cancel``: the batch is being cancelled (tasks recorded later get cancelled)."""
        ...

    async def flush(self) -> None:
        """Everything recorded so far is stored (raises a write error)."""
        ...

    def interrupt(self) -> None:
        """This process's part ends now: readers of :meth:`outcomes` (and waiting takers)
        return instead of waiting for more."""
        ...

    async def close(self) -> None: ...


class SharedBatch(StoredBatch, Protocol):
    """A :class:`StoredBatch` other processes take part in: tracking is done by the holder
    of a lease, and stop requests come from anywhere."""

    #: Seconds between lease renewals (and attempts to take it over).
    lease_interval: float

    @property
    def stop_requested(self) -> bool:
        """A stop (or cancel) request was seen."""
        ...

    async def refresh(self) -> None:
        """Read the counters and every recorded ARN now."""
        ...

    async def lead(self) -> bool:
        """Take or renew the tracking lease; ``True`` while this process holds it."""
        ...

    async def release_lease(self) -> None: ...

    def created_tasks(self) -> AsyncIterator[tuple[int, str, bool]]:
        """``(index, arn, live)`` of every task recorded, from the first, following new ones
        until every item is settled (``live``: recorded just now, not caught up on)."""
        ...


class BatchStore(Protocol):
    """Where batches live; :meth:`bind` gives one batch's :class:`StoredBatch`."""

    def bind(
        self, batch_id: str | None, *, on_error: Callable[[BaseException], object]
    ) -> StoredBatch:
        """One batch of this store, as this process sees it.

        Args:
            batch_id: The batch's id (a shared store requires one).
            on_error: Called with a write error of the background work.

        Returns:
            The stored batch.
        """
        ...


def request_json_ready(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` with only JSON values (a store keeps it as JSON)."""
    return {k: v for k, v in request.items() if v is not None}
