"""The default batch store: this process's memory, plus the JSON-lines manifest when the
batch has one (``manifest=`` / ``resume=``; format in :mod:`braket_async._batch_manifest`).

One process owns the batch: items are handed out in order, outcomes are a list, positions
are their counts (``"0"``, ``"1"``, ...).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from . import errors
from ._batch_manifest import (
    ManifestWriter,
    adopt_header,
    check_fingerprints,
    manifest_header,
    manifest_is_fresh,
    read_manifest,
)
from ._batch_outcomes import BatchOutcome
from ._batch_store import BatchPlan, Opened, StoredOutcome, WorkItem

__all__ = ["COUNTERS", "FileStore"]

#: The progress counters every store keeps.
COUNTERS = (
    "submitted", "settled", "done", "completed", "failed", "cancelled", "created",
    "submit_failed", "not_submitted",
)  # fmt: skip


class FileStore:
    """One batch in this process's memory, its creates and errors appended to ``manifest``
    (if any) as they happen. ``resume=True`` continues the manifest's batch."""

    def __init__(
        self,
        manifest: Path | None,
        *,
        resume: bool,
        fsync: bool,
        batch_id: str | None,
        on_error: Callable[[BaseException], object],
    ) -> None:
        self.path = manifest
        self._resume = resume
        self._fsync = fsync
        self._batch_id = batch_id
        self._on_error = on_error
        self._writer: ManifestWriter | None = None
        self._todo: deque[int] = deque()
        self._arns: dict[int, str] = {}
        self._log: list[StoredOutcome] = []
        self._done: set[int] = set()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._stopped = False
        self._interrupted = False
        self._changed = asyncio.Event()
        self._items = 0

    def as_shared(self) -> None:
        """A file batch is this process's alone."""
        return None

    # -- opening -------------------------------------------------------------------------------

    async def open(self, plan: BatchPlan | None) -> Opened:
        if plan is None:
            raise errors.ParameterError(
                "store", "a batch without a shared store lives in the process that submitted it"
            )
        self._items = plan.items
        batch_id, created_at = plan.batch_id, plan.created_at
        path = self.path
        if path is not None:
            if self._resume:
                state = await asyncio.to_thread(read_manifest, path)
                batch_id, recorded = adopt_header(
                    state.header, batch_id=batch_id, items=plan.items
                )
                created_at = recorded or created_at
                await asyncio.to_thread(
                    check_fingerprints, path, state, plan.fingerprint_of, plan.items
                )
                for index, arn in state.arns.items():
                    if 0 <= index < plan.items and index not in self._arns:
                        self._arns[index] = arn
                        self._counts["submitted"] += 1
                        self._counts["settled"] += 1
            elif not await asyncio.to_thread(manifest_is_fresh, path):
                raise errors.ParameterError(
                    "manifest",
                    f"{str(path)!r} already holds a batch; pass resume={str(path)!r} to "
                    "continue it, or name a new file",
                )
            self._writer = ManifestWriter(
                path, fsync=self._fsync, batch_id=batch_id, on_error=self._on_error
            )
            await self._writer.open()
            if not self._resume:
                self._writer.append(manifest_header(batch_id, plan.items, created_at))
            await self._writer.flush()  # a manifest that cannot be written: fail before creating
        assert batch_id is not None  # a new batch gets one; a resume reads it
        self._batch_id = batch_id
        self._todo = deque(i for i in range(plan.items) if i not in self._arns)
        return Opened(
            batch_id, plan.items, created_at, dict(self._arns), plan.track, plan.details,
            plan.defaults.get("device_arn"),
        )  # fmt: skip

    # -- submission ----------------------------------------------------------------------------

    async def take(self) -> WorkItem | None:
        if self._stopped or not self._todo:
            return None
        return WorkItem(self._todo.popleft())

    async def created(
        self, item: WorkItem, arn: str, fingerprint: str | None, *, slow: bool
    ) -> bool:
        if item.index not in self._arns:
            self._counts["submitted"] += 1
            self._counts["settled"] += 1
        self._arns[item.index] = arn
        if self._writer is not None:
            self._writer.append({
                "kind": "task", "index": item.index, "task_arn": arn,
                "client_token": f"{self._batch_id}-{item.index}", "fingerprint": fingerprint,
            })  # fmt: skip
        return False  # one process: its cancel() reaches every task itself

    async def submit_failed(
        self, item: WorkItem, outcome: BatchOutcome, fingerprint: str | None
    ) -> None:
        if self._writer is not None and outcome.error is not None:
            record: dict[str, Any] = {
                "kind": "error", "index": item.index, "error": type(outcome.error).__name__,
                "message": str(outcome.error),
            }  # fmt: skip
            if fingerprint is not None:
                record["fingerprint"] = fingerprint
            self._writer.append(record)
        self.record_outcome(outcome)

    # -- outcomes ------------------------------------------------------------------------------

    def record_outcome(self, outcome: BatchOutcome) -> bool:
        if outcome.index in self._done:
            return False
        self._done.add(outcome.index)
        if self._writer is not None and isinstance(outcome.error, errors.ItemNotSubmitted):
            # (a resume sends it; no fingerprint: a conversion per unsent item)
            self._writer.append(
                {"kind": "not_submitted", "index": outcome.index, "reason": outcome.error.reason}
            )
        stored = StoredOutcome.of(outcome)
        self._log.append(stored)
        self._counts["done"] += 1
        self._counts[stored.kind] += 1
        if stored.kind in ("submit_failed", "not_submitted"):
            self._counts["settled"] += 1
        self._changed.set()
        self._changed = asyncio.Event()
        return True

    async def outcomes(self, after: str | None) -> AsyncIterator[tuple[str, StoredOutcome]]:
        index = 0 if after is None else int(after) + 1
        while True:
            while index < len(self._log):
                yield str(index), self._log[index]
                index += 1
            if index >= self._items or self._interrupted:
                return
            await self._changed.wait()

    def interrupt(self) -> None:
        self._interrupted = True
        self._changed.set()

    @property
    def counters(self) -> Mapping[str, int]:
        return self._counts

    @property
    def known_arns(self) -> Mapping[int, str]:
        return self._arns

    async def request_stop(self, *, cancel: bool) -> None:
        self._stopped = True

    async def flush(self) -> None:
        if self._writer is not None:
            await self._writer.flush()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()
