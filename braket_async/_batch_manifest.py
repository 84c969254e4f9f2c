"""A batch's manifest: a JSON-lines file of every task created, appended as tasks are
created (by a worker thread, never on the event loop) and read back by ``resume=``.

Line 1 is a header (``kind``, ``version``, ``batch_id``, ``items``, ``created_at``); each
following line is ``{"kind": "task", "index", "task_arn", "client_token", "fingerprint"}``
(its task was created), ``{"kind": "error", "index", "error", "message", "fingerprint"}``
(its create failed for good: ``SUBMIT_FAILED``) or ``{"kind": "not_submitted", "index",
"reason"}`` (a cancel or ``fail_fast`` kept it from being sent: ``NOT_SUBMITTED``; no
fingerprint, which would cost a conversion per unsent item on the event loop). A resume
sends every item without a task record again. The ``fingerprint``
(:func:`item_fingerprint`, since version 2) is a hash of the item's create arguments, so that
a resume with other items is refused instead of reporting another batch's tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import attrs

from . import errors
from ._batch_outcomes import BatchItemState, is_batch_id

__all__ = [
    "MANIFEST_VERSION",
    "ManifestState",
    "ManifestWriter",
    "adopt_header",
    "check_fingerprints",
    "item_fingerprint",
    "manifest_header",
    "manifest_is_fresh",
    "read_manifest",
]

MANIFEST_VERSION = 2
"""Format version written in a manifest's header line (2: records carry a fingerprint)."""
_KIND = "braket-async.batch"


def item_fingerprint(request: Mapping[str, Any]) -> str:
    """A stable hash of one item's CreateQuantumTask arguments (without the client token):
    the same item gives the same fingerprint in every run and process."""
    canonical = json.dumps(
        {k: v for k, v in request.items() if k != "client_token"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _described(exc: OSError, path: Path, batch_id: str | None) -> OSError:
    """``exc`` again, its message naming the manifest and the batch."""
    reason = exc.strerror or str(exc)
    described = OSError(
        exc.errno, f"cannot write the manifest of batch {batch_id!r}: {reason}", str(path)
    )
    described.__cause__ = exc
    return described


class ManifestWriter:
    """Append-only JSON lines, flushed by a worker thread so the event loop never blocks.

    Lines accumulate in memory and each flush writes everything queued since the previous one
    (one ``to_thread`` call per burst, not per line). A failed write is kept in ``error`` (an
    ``OSError`` naming the path and the batch), reported at once to ``on_error``, and nothing
    more is written after it.
    """

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool,
        batch_id: str | None = None,
        on_error: Callable[[BaseException], object] | None = None,
    ) -> None:
        self.path = path
        self.batch_id = batch_id
        self._fsync = fsync
        self._on_error = on_error
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def open(self) -> None:
        """Open the file for appending (creating its directory)."""
        try:
            self._file = await asyncio.to_thread(self._open)
        except OSError as exc:
            raise _described(exc, self.path, self.batch_id) from exc

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
            while self._pending and self.error is None:
                lines, self._pending = self._pending, []
                await asyncio.to_thread(self._write, "".join(lines))
        except Exception as exc:  # a full disk must not pass silently
            if isinstance(exc, OSError):
                exc = _described(exc, self.path, self.batch_id)
            self.error = exc
            if self._on_error is not None:
                self._on_error(exc)

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
        if self._pending and self.error is None:
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
    #: item index -> fingerprint recorded with its task or error (version 2 manifests)
    fingerprints: Mapping[int, str] = attrs.field(factory=dict)
    #: item index -> what the manifest says of it: ``SUBMITTED`` (a task record),
    #: ``SUBMIT_FAILED`` (an error record) or ``NOT_SUBMITTED``; a task record wins, else
    #: the last record. Items without a record are absent.
    states: Mapping[int, BatchItemState] = attrs.field(factory=dict)


#: The manifest's record kinds and the item state each says.
_RECORD_STATES = {
    "task": BatchItemState.SUBMITTED,
    "error": BatchItemState.SUBMIT_FAILED,
    "not_submitted": BatchItemState.NOT_SUBMITTED,
}


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
    except IsADirectoryError:
        raise errors.ParameterError(
            "resume", f"{str(path)!r} is a directory, not a manifest file"
        ) from None
    header: Mapping[str, Any] | None = None
    arns: dict[int, str] = {}
    fingerprints: dict[int, str] = {}
    states: dict[int, BatchItemState] = {}
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
        if not isinstance(record, dict):
            continue
        index, fingerprint = record.get("index"), record.get("fingerprint")
        if isinstance(index, int) and isinstance(fingerprint, str):
            fingerprints.setdefault(index, fingerprint)
        state = _RECORD_STATES.get(str(record.get("kind")))
        if (
            isinstance(index, int)
            and state is not None
            and states.get(index) != BatchItemState.SUBMITTED
        ):
            states[index] = state
        if record.get("kind") == "task":
            arn = record.get("task_arn")
            if isinstance(index, int) and isinstance(arn, str):
                arns.setdefault(index, arn)
    if header is None:
        raise errors.ParameterError("resume", f"manifest {str(path)!r} is empty")
    return ManifestState(header, arns, fingerprints, states)


def check_fingerprints(
    path: Path, state: ManifestState, fingerprint_of: Callable[[int], str], items: int
) -> None:
    """Refuse a manifest whose recorded items are not these items (another batch's manifest
    with the same item count, or the items reordered). ``fingerprint_of(index)`` is the
    current item's :func:`item_fingerprint`. Blocking (it converts programs): run it in a
    thread."""
    for index in sorted(state.fingerprints):
        if not 0 <= index < items:
            continue
        recorded = state.fingerprints[index]
        try:
            current = fingerprint_of(index)
        except errors.BraketError as exc:
            current = f"<not a valid item: {exc}>"
        if current != recorded:
            raise errors.ParameterError(
                "resume",
                f"manifest {str(path)!r} (batch {state.header.get('batch_id')!r}) was written "
                f"for other items: item {index} differs from the one it recorded (fingerprint "
                f"{recorded}, this item's is {current}); resume with the same items in the "
                "same order, or start a new batch with a new manifest",
            )


def manifest_is_fresh(path: Path) -> bool:
    """No file, or an empty one (blocking: run it in a thread). A directory is refused."""
    if path.is_dir():
        raise errors.ParameterError(
            "manifest", f"{str(path)!r} is a directory; give the path of a manifest file in it"
        )
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True
