"""Concurrent batch submission of quantum tasks: at quota speed, idempotent, resumable.

::

    batch = braket.submit_batch(
        circuits, device_arn=SV1, shots=100,
        output_s3_bucket="amazon-braket-my-bucket", output_s3_key_prefix="batch",
        manifest="run.jsonl",
    )
    async with batch:
        async for outcome in batch:          # one per item, in completion order
            if outcome.ok:
                print(outcome.index, outcome.task.status)

How it works:

* **Lazy**: :meth:`BraketSession.submit_batch <BatchSubmitter.submit_batch>` checks its
  arguments and returns a :class:`Batch`; nothing is sent until the batch is iterated, awaited
  (:meth:`Batch.wait`, :meth:`Batch.results`) or :meth:`Batch.start`-ed. Rarely used settings
  come as one immutable :class:`BatchOptions` (``options=``).
* **Quota speed**: ``max_in_flight`` worker coroutines create tasks through the session's
  shared :class:`~braket_async.ratelimit.RateLimiter`, which paces CreateQuantumTask just under
  its quota (and the account-wide one) and adapts when the service throttles anyway.
* **Idempotent**: item ``i`` is always created with client token ``f"{batch_id}-{i}"``. Every
  retry (botocore's own and ours) and every resumed attempt sends the same token, so the
  service answers with the task it already created instead of making a second one.
* **Per-item outcomes**: an item that fails (a ``ValidationException``, a bad program) gets a
  :class:`BatchOutcome` with its error and the others go on (unless ``fail_fast``). Transient
  errors (429, 5xx, dropped connections) are retried with backoff within ``retry``.
* **Tracking**: with ``track=True`` (default) created tasks are followed by one
  :class:`~braket_async.tracking.TaskTracker`, fed as tasks are created and consumed as one
  open-ended stream (sealed when submission ends), and an item's outcome arrives when its
  task is terminal (``QuantumTaskFailed`` / ``QuantumTaskCancelled`` as its error when it did
  not complete); ``results=True`` on :meth:`Batch.as_completed` (or :meth:`Batch.results`)
  also downloads each completed task's result.
* **Summaries only**: ``details=False`` reports a COMPLETED task by the search summary the
  tracker already has (``outcome.summary``) instead of one GetQuantumTask per task, so a
  batch costs about one call per item plus a few searches. FAILED and CANCELLED tasks still
  get their full ``outcome.task`` (for the failure reason).
* **Progress**: a ``progress`` callback gets a :class:`BatchProgress` on every change,
  including queued / running counts learnt from the tracker's searches (bounded extra pages).
* **Manifest**: with ``manifest=path`` each created task is appended to a JSON-lines file
  (written by a thread, never on the event loop). After a crash,
  ``submit_batch(same items, ..., resume=path)`` reports the recorded tasks without sending
  anything for them and submits the rest; items that were in flight at the crash are sent
  again with their original token, which the service de-duplicates.
* **Cancel**: :meth:`Batch.cancel` stops submitting and cancels on the service every task the
  batch created (including ones whose create response was lost), paced by the
  CancelQuantumTask quota (2/s by default).
* **Stores**: a batch keeps what it knows (items, ARNs, outcomes, counts, cancel requests) in
  a store. By default that is this process (plus the manifest); with
  ``store=RedisBatchStore(url)`` (:mod:`braket_async.batch_redis`) it is Redis, and any
  process can :meth:`~BatchSubmitter.attach_batch` to it: take part in creating and
  tracking, read progress and outcomes (from a position), cancel. A process that dies has
  its items taken over by the others (docs/replicas.md).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors
from ._batch_engine import Batch
from ._batch_items import BatchItem, TaskRequest, check_items, is_int
from ._batch_manifest import MANIFEST_VERSION
from ._batch_options import DEFAULT_BATCH_RETRY, BatchOptions
from ._batch_outcomes import (
    BatchItemState,
    BatchOutcome,
    BatchProgress,
    ProgressCallback,
    client_token_for,
    is_batch_id,
)
from ._batch_store import BatchStore, RecordedError
from ._batch_store_file import FileStore
from .errors import ItemNotSubmitted
from .programs import DeviceParameters

if TYPE_CHECKING:
    from ._client import BraketClient

__all__ = [
    "DEFAULT_BATCH_RETRY",
    "MANIFEST_VERSION",
    "Batch",
    "BatchItem",
    "BatchItemState",
    "BatchOptions",
    "BatchOutcome",
    "BatchProgress",
    "BatchStore",
    "BatchSubmitter",
    "ItemNotSubmitted",
    "ProgressCallback",
    "RecordedError",
    "TaskRequest",
    "client_token_for",
]


class BatchSubmitter:
    """Batch submission of a :class:`~braket_async.BraketSession` (see
    :mod:`braket_async.batch`); the session delegates ``submit_batch`` here. A batch needs
    the whole session: its operations, result downloads and a tracker on it.

    Args:
        session: The whole session.
    """

    def __init__(self, session: BraketClient) -> None:
        self._session = session

    def submit_batch(
        self,
        items: Iterable[BatchItem],
        *,
        device_arn: str | None = None,
        shots: int | None = None,
        output_s3_bucket: str | None = None,
        output_s3_key_prefix: str | None = None,
        device_parameters: DeviceParameters = None,
        tags: Mapping[str, str] | None = None,
        manifest: str | os.PathLike[str] | None = None,
        resume: str | os.PathLike[str] | None = None,
        progress: ProgressCallback | None = None,
        track: bool = True,
        details: bool = True,
        options: BatchOptions | None = None,
        store: BatchStore | None = None,
    ) -> Batch:
        """Create one quantum task per item, concurrently, at the quota's pace; returns a
        :class:`Batch` (nothing is sent before it is started, iterated or awaited).

        ``items``: OpenQASM sources, :class:`~braket_async.programs.OpenQASMProgram` s, action
        dicts / JSON strings, Braket SDK circuits (anything with ``to_ir()``), or full
        requests (:class:`TaskRequest` or a mapping with an ``"action"`` key) whose fields
        override the batch-wide ones given here. ``manifest`` writes a JSON-lines record
        of every created task; ``resume=path`` continues the batch of that manifest (same
        items, same order; the batch id is read from it). ``progress`` is called with a
        :class:`BatchProgress` on every change (keep it quick; an exception from it stops
        the batch); with it the tracker also learns which tasks are QUEUED or RUNNING
        (``BatchProgress.queued`` / ``running``) from a window sweep without status filter
        at most every ``sweep.active_interval`` seconds (a few extra search pages).
        ``track=False`` reports items once created instead of once terminal.
        ``details=False`` reports COMPLETED tasks by the tracker's search summary
        (``outcome.summary``) instead of fetching each one's full model (one GetQuantumTask
        per task): about one API call per item for a caller that needs only final statuses
        (FAILED / CANCELLED tasks still get ``outcome.task``). ``options`` (a
        :class:`BatchOptions`) holds the rarely used settings: concurrency, batch id,
        ``fail_fast``, retries, the tracker's policies, manifest fsync. ``store`` (e.g. a
        :class:`~braket_async.batch_redis.RedisBatchStore`) keeps the batch where other
        processes can attach to it (:meth:`attach_batch`); submitting again with the same
        ``batch_id`` and the same items there joins the batch instead of starting another.

        Args:
            items: The programs or requests, one task each.
            device_arn: The device of every item that does not name one.
            shots: The shots of every item that does not give them.
            output_s3_bucket: The results bucket of every item that does not give one.
            output_s3_key_prefix: The results key prefix of every item that does not give one.
            device_parameters: The device parameters of every item that does not give them.
            tags: The tags of every item that does not give them.
            manifest: The path of a new manifest.
            resume: The path of the manifest of the batch to continue.
            progress: Called with a :class:`BatchProgress` on every change.
            track: Whether items are reported once terminal (else once created).
            details: Whether COMPLETED tasks are fetched in full (else their search summary).
            options: The rarely used settings.
            store: A store other processes can attach to the batch in.

        Returns:
            The batch, not started yet.

        Raises:
            ParameterError: An argument or an item breaks its rule.
        """
        options = options if options is not None else BatchOptions()
        if not isinstance(options, BatchOptions):
            raise errors.ParameterError("options", f"must be a BatchOptions, got {options!r}")
        item_list = items if isinstance(items, Sequence) and not isinstance(items, str) else None
        if item_list is None:
            if isinstance(items, str | bytes):
                raise errors.ParameterError("items", "must be an iterable of items, got a string")
            item_list = list(items)
        if device_arn is not None and not isinstance(device_arn, str):
            raise errors.ParameterError("device_arn", f"must be a string, got {device_arn!r}")
        if shots is not None and (not is_int(shots) or shots < 0):
            raise errors.ParameterError("shots", f"must be an int >= 0, got {shots!r}")
        for name, value in (
            ("output_s3_bucket", output_s3_bucket),
            ("output_s3_key_prefix", output_s3_key_prefix),
        ):
            if value is not None and (not isinstance(value, str) or not value):
                raise errors.ParameterError(name, f"must be a non-empty string, got {value!r}")
        if tags is not None and not (
            isinstance(tags, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise errors.ParameterError("tags", "must be a mapping of strings to strings")
        if store is not None and (manifest is not None or resume is not None):
            raise errors.ParameterError(
                "store", "a batch in a store has no manifest: give store= or manifest=/resume="
            )
        if manifest is not None and resume is not None and Path(manifest) != Path(resume):
            raise errors.ParameterError(
                "manifest", "give manifest= for a new batch or resume= to continue one, not both"
            )
        batch_id = options.batch_id
        if batch_id is None and resume is None:
            batch_id = uuid.uuid4().hex
        defaults = {
            "device_arn": device_arn,
            "shots": shots,
            "output_s3_bucket": output_s3_bucket,
            "output_s3_key_prefix": output_s3_key_prefix,
            "device_parameters": device_parameters,
            "tags": dict(tags) if tags else None,
        }
        check_items(item_list, defaults)
        given = resume if resume is not None else manifest
        path = Path(given) if given is not None else None
        batch: Batch | None = None

        def fail(exc: BaseException) -> None:
            assert batch is not None
            batch._fail(exc)

        stored = (
            store.bind(batch_id, on_error=fail)
            if store is not None
            else FileStore(
                path, resume=resume is not None, fsync=options.fsync, batch_id=batch_id,
                on_error=fail,
            )
        )  # fmt: skip
        batch = Batch(
            self._session,
            item_list,
            defaults=defaults,
            batch_id=batch_id,
            store=stored,
            manifest=path,
            progress=progress,
            track=track,
            details=details,
            options=options,
        )
        return batch

    async def attach_batch(
        self,
        batch_id: str,
        *,
        store: BatchStore,
        take_part: bool = True,
        progress: ProgressCallback | None = None,
        options: BatchOptions | None = None,
    ) -> Batch:
        """The batch ``batch_id`` of a shared ``store`` (any process: the one that submitted
        it may be gone), started: its :attr:`~Batch.progress`, its outcomes (``async for``,
        :meth:`~Batch.as_completed` with ``after=`` a position), :meth:`~Batch.cancel`.

        ``take_part=True`` also makes this process create items no one has taken yet or
        whose process died, and stand by to track the batch's tasks; ``False`` only reads.
        Raises :class:`~braket_async.errors.ParameterError` (field ``batch_id``) when the
        store holds no such batch (never submitted, or expired after its retention).

        Args:
            batch_id: The batch's id.
            store: The shared store that holds it.
            take_part: Whether this process creates untaken items and tracks tasks.
            progress: Called with a :class:`BatchProgress` on every change.
            options: The rarely used settings.

        Returns:
            The started batch.

        Raises:
            ParameterError: A bad argument, a store that is not shared, or no such batch.
        """
        options = options if options is not None else BatchOptions()
        if not isinstance(options, BatchOptions):
            raise errors.ParameterError("options", f"must be a BatchOptions, got {options!r}")
        if not isinstance(batch_id, str) or not is_batch_id(batch_id):
            raise errors.ParameterError(
                "batch_id", f"must be 1-40 characters of [A-Za-z0-9._:-], got {batch_id!r}"
            )
        batch: Batch | None = None

        def fail(exc: BaseException) -> None:
            assert batch is not None
            batch._fail(exc)

        stored = store.bind(batch_id, on_error=fail)
        if stored.as_shared() is None:
            raise errors.ParameterError("store", "must be a shared store (e.g. RedisBatchStore)")
        batch = Batch(
            self._session,
            None,
            defaults={},
            batch_id=batch_id,
            store=stored,
            manifest=None,
            progress=progress,
            track=True,
            details=False,
            options=options,
            take_part=take_part,
        )
        try:
            await batch.stored()
        except BaseException:
            await batch.aclose()
            raise
        return batch
