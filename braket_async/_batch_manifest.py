"""A batch's manifest: a JSON-lines file of every task created, appended as tasks are
created (by a worker thread, never on the event loop) and read back by ``resume=``.

Line 1 is a header (``kind``, ``version``, ``batch_id``, ``items``, ``created_at``); each
following line is ``{"kind": "task", "index", "task_arn", "client_token"}`` or
``{"kind": "error", "index", "error", "message"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import attrs

from . import errors
from ._batch_outcomes import is_batch_id

__all__ = [
    "MANIFEST_VERSION",
    "ManifestState",
    "ManifestWriter",
    "adopt_header",
    "manifest_header",
    "manifest_is_fresh",
    "read_manifest",
]

#: Format version written in a manifest's header line.
MANIFEST_VERSION = 1
_KIND = "braket-async.batch"


class ManifestWriter:
    """Append-only JSON lines, flushed by a worker thread so the event loop never blocks.

    Lines accumulate in memory and each flush writes everything queued since the previous one
    (one ``to_thread`` call per burst, not per line). A failed write is kept in ``error``.
    """

    def __init__(self, path: Path, *, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def open(self) -> None:
        """Open the file for appending (creating its directory)."""
        self._file = await asyncio.to_thread(self._open)

    def _open(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        """Queue one record; it is written soon, in the background."""
        self._pending.append(json.dumps(record, separators=(",", ":")) + "\n")
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_all())

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                lines, self._pending = self._pending, []
                await asyncio.to_thread(self._write, "".join(lines))
        except Exception as exc:  # a full disk must not pass silently
            self.error = exc

    def _write(self, text: str) -> None:
        assert self._file is not None
        self._file.write(text)
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    async def flush(self) -> None:
        """Write everything appended so far (raises a write error)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._pending:
            await self._flush_all()
        if self.error is not None:
            raise self.error

    async def close(self) -> None:
        """Flush, then close the file."""
        try:
            await self.flush()
        finally:
            file, self._file = self._file, None
            if file is not None:
                await asyncio.to_thread(file.close)


@attrs.frozen
class ManifestState:
    """A manifest read back: its header and item index -> recorded task ARN."""

    header: Mapping[str, Any]
    arns: Mapping[int, str]


def manifest_header(batch_id: str | None, items: int, created_at: datetime) -> dict[str, Any]:
    """The first line of a new manifest."""
    return {
        "kind": _KIND,
        "version": MANIFEST_VERSION,
        "batch_id": batch_id,
        "items": items,
        "created_at": created_at.isoformat(),
    }


def adopt_header(
    header: Mapping[str, Any], *, batch_id: str | None, items: int
) -> tuple[str, datetime | None]:
    """Check a resumed manifest's header against the batch; return its batch id and
    creation time (``None`` when unreadable)."""
    recorded = header.get("batch_id")
    if batch_id is None:
        if not isinstance(recorded, str) or not is_batch_id(recorded):
            raise errors.ParameterError(
                "resume", f"the manifest has no valid batch_id: {recorded!r}"
            )
        batch_id = recorded
    elif recorded != batch_id:
        raise errors.ParameterError(
            "batch_id", f"the manifest belongs to batch {recorded!r}, not {batch_id!r}"
        )
    if header.get("items") != items:
        raise errors.ParameterError(
            "items",
            f"the manifest's batch has {header.get('items')} items, got {items}: "
            "resume with the same items in the same order",
        )
    created_at = None
    created = header.get("created_at")
    if isinstance(created, str):
        with contextlib.suppress(ValueError):
            created_at = datetime.fromisoformat(created)
    return batch_id, created_at


def read_manifest(path: Path) -> ManifestState:
    """Parse a manifest and cut off a torn last line (a crash mid-write), so appending goes
    on from a clean line end. Blocking: run it in a thread. Any other unreadable line is an
    error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise errors.ParameterError("resume", f"manifest {str(path)!r} does not exist") from None
    header: Mapping[str, Any] | None = None
    arns: dict[int, str] = {}
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        end = offset + len(line) + 1
        last = number == len(lines)
        if not line.strip():
            offset = end
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if last:  # the torn tail of a crash: drop it
                with path.open("r+b") as file:
                    file.truncate(offset)
                break
            raise errors.ParameterError(
                "resume", f"manifest {str(path)!r} line {number} is not JSON"
            ) from None
        if last:  # a whole record without its newline
            with path.open("ab") as file:
                file.write(b"\n")
        offset = end
        if header is None:
            if not isinstance(record, dict) or record.get("kind") != _KIND:
                raise errors.ParameterError(
                    "resume", f"{str(path)!r} is not a braket-async batch manifest"
                )
            header = record
            continue
        if isinstance(record, dict) and record.get("kind") == "task":
            index, arn = record.get("index"), record.get("task_arn")
            if isinstance(index, int) and isinstance(arn, str):
                arns.setdefault(index, arn)
    if header is None:
        raise errors.ParameterError("resume", f"manifest {str(path)!r} is empty")
    return ManifestState(header, arns)


def manifest_is_fresh(path: Path) -> bool:
    """No file, or an empty one (blocking: run it in a thread)."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True
