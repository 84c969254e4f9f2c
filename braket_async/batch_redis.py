"""Batches in Redis: any process can take part in a batch, attach to it, and finish it when
the process that submitted it is gone.

::

    from braket_async.batch_redis import RedisBatchStore

    store = RedisBatchStore("redis://redis.internal:6379/0")
    batch = braket.submit_batch(circuits, ..., store=store)     # in one process
    await batch.stored()
    ...
    batch = await braket.attach_batch(batch_id, store=store)    # in any other
    async for outcome in batch.as_completed(after=last_seen_position):
        ...

Needs the ``redis`` extra (``pip install 'braket-async[redis]'``) and Redis >= 6.2
(XAUTOCLAIM). The design, keys, retention, memory and durability are in ``docs/replicas.md``:

* **Work** is handed out by a Redis Streams consumer group: the items (their create requests)
  are entries of a stream; each process reads entries (XREADGROUP), creates the task with the
  item's deterministic client token, then records the ARN and acknowledges the entry in one
  script. Entries a process holds are its pending entries; while it lives it keeps them
  fresh (XCLAIM to itself), and when it dies the others take them over after
  ``claim_idle`` seconds (XAUTOCLAIM). A re-sent create carries the same client token, so
  Braket answers with the task already created.
* **Tracking** is done by one process at a time, the holder of a lease (SET NX PX, renewed
  every ``claim_idle / 3``); another takes over when it lapses.
* **Outcomes** go on a stream, each item's exactly once (a bitmap says which items have
  one); a stream id is an outcome's position, from which a reader resumes.
* **Outages**: every Redis call is retried until Redis answers again (creation pauses
  meanwhile); all writes are idempotent per item, so a retried write never counts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypeVar

import attrs

try:
    import redis.asyncio as aioredis
    from redis import exceptions as redis_errors
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "braket_async.batch_redis needs redis-py: pip install 'braket-async[redis]'"
    ) from exc

from . import errors
from ._base import Sleep
from ._batch_outcomes import BatchOutcome
from ._batch_store import BatchPlan, Opened, StoredOutcome, WorkItem
from ._batch_store_file import COUNTERS
from .polling import RetryBudget, retry_target

__all__ = ["DEFAULT_CLAIM_IDLE", "DEFAULT_RETENTION", "RedisBatchStore", "RedisStoredBatch"]

logger = logging.getLogger(__name__)

DEFAULT_CLAIM_IDLE = 30.0
"""Seconds after which another process takes over the items of a process that stopped
answering (and its tracking lease lapses)."""
DEFAULT_RETENTION = 7 * 24 * 3600.0
"""Seconds a batch's keys live after its last change (7 days)."""
_SCRIPT = resources.files(__package__).joinpath("_batch_redis.lua").read_text(encoding="utf-8")
_KEY_NAMES = ("meta", "items", "created", "cbits", "dbits", "sbits", "outcomes", "lease")
#: Redis errors that mean "not reachable now": wait and try again.
_OUTAGE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
#: The pause between attempts during an outage: 0.05 s doubling up to 1 s, for as long as
#: it lasts (the batch waits for its store rather than failing).
_OUTAGE_BACKOFF = RetryBudget.unlimited(initial=0.05, multiplier=2.0, maximum=1.0, jitter=0.0)
#: The budget's random source; unused, as the outage backoff has no jitter (one for all).
_NO_JITTER = random.Random(0)
#: A task recorded less than this long ago counts as just created for the tracker (well
#: inside its default ``created_at_slack`` of 5 s).
_LIVE_MS = 2000
_T = TypeVar("_T")


def _check_url(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or urllib.parse.urlsplit(value).scheme not in (
        "redis", "rediss", "unix"
    ):  # fmt: skip
        raise errors.ParameterError(
            "url", "must be a redis://, rediss:// or unix:// URL"
        )


def _check_prefix(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value or any(c in value for c in "{} \t\r\n"):
        raise errors.ParameterError(
            attribute.name, f"must be a non-empty string without braces or spaces, got {value!r}"
        )


def _check_seconds(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise errors.ParameterError(attribute.name, f"must be a finite number > 0, got {value!r}")


def _consumer_name() -> str:
    """This process's name in the consumer group (host, pid, and a random part: a pid
    reused after a restart is another consumer)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@attrs.frozen
class RedisBatchStore:
    """Batches kept in Redis (``submit_batch(..., store=...)``, ``attach_batch(...)``).

    ``url``: ``redis://[[user]:password@]host:port/db``, ``rediss://`` or ``unix://`` (it
    may be the Redis that shares the quotas). ``prefix`` starts every key. ``claim_idle``:
    seconds after which the items a silent process holds go to the others, and its tracking
    lease lapses. ``retention``: seconds a batch's keys live after its last change (a
    finished batch stays attachable that long). ``timeout``: seconds one Redis call may
    take before it counts as an outage. ``sleep``: the sleep between retries (tests).
    """

    url: str = attrs.field(validator=_check_url, repr=False)
    prefix: str = attrs.field(default="braket-async", validator=_check_prefix)
    claim_idle: float = attrs.field(default=DEFAULT_CLAIM_IDLE, validator=_check_seconds)
    retention: float = attrs.field(default=DEFAULT_RETENTION, validator=_check_seconds)
    timeout: float = attrs.field(default=5.0, validator=_check_seconds)
    sleep: Sleep = attrs.field(default=asyncio.sleep, repr=False)

    def keys(self, batch_id: str) -> dict[str, str]:
        """The Redis keys of one batch (one hash tag: one Redis Cluster slot).

        Args:
            batch_id: The batch's id.

        Returns:
            The keys by name.
        """
        return {name: f"{self.prefix}:batch:{{{batch_id}}}:{name}" for name in _KEY_NAMES}

    @property
    def active_key(self) -> str:
        """A sorted set of the batches not finished yet (for :meth:`active_batches`)."""
        return f"{self.prefix}:batches"

    def bind(
        self, batch_id: str | None, *, on_error: Callable[[BaseException], object]
    ) -> RedisStoredBatch:
        """One batch of this store, as this process sees it.

        Args:
            batch_id: The batch's id.
            on_error: Called with a write error of the background work.

        Returns:
            The stored batch (no I/O until used).

        Raises:
            ParameterError: ``batch_id`` is ``None``.
        """
        if batch_id is None:
            raise errors.ParameterError("batch_id", "a batch in a shared store needs its id")
        return RedisStoredBatch(self, batch_id, on_error=on_error)

    async def active_batches(self) -> list[str]:
        """Ids of the batches in this store that are not finished (oldest first)."""
        client = self._client()
        try:
            ids = await client.zrange(self.active_key, 0, -1)
        finally:
            await client.aclose()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            decode_responses=True,
        )


class RedisStoredBatch:
    """One batch in a :class:`RedisBatchStore`, as this process sees it.

    Args:
        store: The store.
        batch_id: The batch's id.
        on_error: Called with a write error of the background work.
    """

    def __init__(
        self,
        store: RedisBatchStore,
        batch_id: str,
        *,
        on_error: Callable[[BaseException], object],
    ) -> None:
        self.store = store
        self.batch_id = batch_id
        self._on_error = on_error
        self._keys = store.keys(batch_id)
        self._key_list = [self._keys[name] for name in _KEY_NAMES]
        self._consumer = _consumer_name()
        self._retention_ms = str(math.ceil(store.retention * 1000))
        self._claim_ms = str(max(1, math.ceil(store.claim_idle * 1000)))
        self.lease_interval = store.claim_idle / 3
        # a blocked read returns this often to check for the end
        self._block_ms = max(100, min(1000, int(store.claim_idle * 1000 / 3)))
        self._client: aioredis.Redis | None = None
        self._script: Any = None
        self._items = 0
        self._counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._arns: dict[int, str] = {}
        self._defaults: dict[str, Any] = {}
        self._holding: dict[str, int] = {}  # tickets this process holds -> item index
        self._writes: list[tuple[StoredOutcome, str, bool]] = []
        self._writer: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._take_lock = asyncio.Lock()
        self._takers = 0
        self._buffer: list[WorkItem] = []
        self._stop = False
        self._down_since: float | None = None
        self._closed = False
        self._interrupted = False
        #: Redis calls retried during outages (observability and tests).
        self.outage_retries = 0

    # -- plumbing ------------------------------------------------------------------------------

    def as_shared(self) -> RedisStoredBatch:
        """Every process with the same store may take part."""
        return self

    def _redis(self) -> Any:
        """The connection pool (typed ``Any``: redis-py's stubs do not know
        ``decode_responses``)."""
        if self._client is None:
            self._client = self.store._client()
            self._script = self._client.register_script(_SCRIPT)
        return self._client

    async def _call(self, what: str, func: Callable[[], Awaitable[_T]]) -> _T:
        """``func()``, retried while Redis is unreachable (creation pauses meanwhile)."""

        async def attempt() -> _T:
            if self._interrupted:
                raise errors.SessionStateError(f"batch {self.batch_id}: this process stopped")
            return await func()

        def outage(exc: BaseException) -> bool:
            return isinstance(exc, _OUTAGE) and not (self._closed or self._interrupted)

        def retrying(exc: BaseException, delay: float) -> None:
            self.outage_retries += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
                logger.warning(
                    "batch %s: Redis is unavailable (%s: %s) during %s; retrying until "
                    "it answers", self.batch_id, type(exc).__name__, exc, what,
                )  # fmt: skip

        result = await retry_target(
            attempt,
            _OUTAGE_BACKOFF.start(time.monotonic, _NO_JITTER),
            sleep=self.store.sleep,
            predicate=outage,
            on_error=retrying,
        )
        if self._down_since is not None:
            logger.info(
                "batch %s: Redis is back after %.1fs", self.batch_id,
                time.monotonic() - self._down_since,
            )  # fmt: skip
            self._down_since = None
        return result

    async def _xread(
        self, key: str, position: str, *, count: int, block: int | None
    ) -> list[tuple[str, dict[str, str]]]:
        """Entries of stream ``key`` after ``position`` (waiting up to ``block`` ms)."""
        client: Any = self._redis()

        async def read() -> Any:
            return await client.xread({key: position}, count=count, block=block)

        reply = await self._call("read", read)
        return list(reply[0][1]) if reply else []

    async def _run_script(self, command: str, *args: Any) -> Any:
        self._redis()

        async def run() -> Any:
            return await self._script(
                keys=self._key_list, args=[command, self._retention_ms, *args]
            )

        return await self._call(command, run)

    # -- opening -------------------------------------------------------------------------------

    async def open(self, plan: BatchPlan | None) -> Opened:
        """Create or continue the batch of ``plan`` (``None``: attach to an existing one).

        Args:
            plan: The batch's items and settings.

        Returns:
            What the store holds for the batch.
        """
        client = self._redis()
        meta = self._keys["meta"]
        if plan is not None:
            fingerprint = await asyncio.to_thread(_batch_fingerprint, plan)
            fresh = await self._call("open", lambda: client.hsetnx(meta, "fp", fingerprint))
            if fresh:
                await self._create(plan, fingerprint)
            else:
                recorded = await self._call("open", lambda: client.hget(meta, "fp"))
                if recorded != fingerprint:
                    raise errors.ParameterError(
                        "batch_id",
                        f"the store already holds a batch {self.batch_id!r} with other items: "
                        "attach to it, or submit with a new batch_id",
                    )
        fields = await self._wait_ready()
        self._items = int(fields["items"])
        self._defaults = json.loads(fields.get("defaults") or "{}")
        await self.refresh_counts()
        return Opened(
            self.batch_id,
            self._items,
            datetime.fromisoformat(fields["created_at"]),
            {},
            fields.get("track", "1") == "1",
            fields.get("details", "1") == "1",
            self._defaults.get("device_arn"),
        )

    async def _wait_ready(self) -> dict[str, str]:
        """The batch's meta once its submitter stored every item (``ready``)."""
        client = self._redis()
        waited = 0.0
        while True:
            fields: dict[str, str] = await self._call(
                "open", lambda: client.hgetall(self._keys["meta"])
            )
            if fields.get("ready") == "1":
                return fields
            if not fields or waited > self.store.claim_idle:
                raise errors.ParameterError(
                    "batch_id",
                    f"no batch {self.batch_id!r} in the store (never submitted, still being "
                    "stored by a process that died, or expired after its retention)",
                )
            await self.store.sleep(0.05)
            waited += 0.05

    async def _create(self, plan: BatchPlan, fingerprint: str) -> None:
        """Store a new batch: its meta, then every item's request on the work stream."""
        client = self._redis()
        keys = self._keys
        defaults = {k: v for k, v in plan.defaults.items() if v is not None}
        requests: list[dict[str, str]] = []
        for index in range(plan.items):
            try:
                request = plan.request_of(index)
            except errors.BraketError as exc:
                requests.append({"i": str(index), "x": str(exc)})
                continue
            own = {k: v for k, v in request.items() if defaults.get(k) != v}
            requests.append({"i": str(index), "r": json.dumps(own, separators=(",", ":"))})
            if index % 200 == 199:
                await asyncio.sleep(0)  # converting programs: let the loop breathe
        ttl = int(self._retention_ms)

        async def store_items() -> None:
            with contextlib.suppress(redis_errors.ResponseError):  # BUSYGROUP: a retry
                await client.xgroup_create(keys["items"], "w", id="0", mkstream=True)
            have = await client.xlen(keys["items"])
            if have < len(requests):  # a retry after an outage goes on where it stopped
                pipe = client.pipeline(transaction=False)
                for fields in requests[have:]:
                    pipe.xadd(keys["items"], fields)
                await pipe.execute()
            pipe = client.pipeline(transaction=True)
            pipe.hset(
                keys["meta"],
                mapping={
                    "batch_id": self.batch_id,
                    "items": plan.items,
                    "created_at": plan.created_at.isoformat(),
                    "track": int(plan.track),
                    "details": int(plan.details),
                    "defaults": json.dumps(defaults, separators=(",", ":")),
                    "ready": 1,
                },
            )
            for key in (keys["meta"], keys["items"]):
                pipe.pexpire(key, ttl)
            pipe.zadd(self.store.active_key, {self.batch_id: time.time()})
            await pipe.execute()

        await self._call("submit", store_items)

    # -- submission ----------------------------------------------------------------------------

    async def take(self) -> WorkItem | None:
        """The next item this process should create; ``None`` once no item is left to anyone.

        Returns:
            The item, or ``None``.
        """
        self._takers += 1
        try:
            return await self._take()
        finally:
            self._takers -= 1

    async def _take(self) -> WorkItem | None:
        async with self._take_lock:
            while not self._buffer:
                # one entry per worker waiting now: no entry waits in this process unused
                count = max(1, self._takers)
                reply = await self._run_script("take", self._consumer, self._claim_ms, count)
                if reply[0] == "gone":
                    raise errors.SessionStateError(
                        f"batch {self.batch_id} is no longer in the store (expired?)"
                    )
                items, settled, stop, reclaimed, entries = reply
                self._stop = self._stop or stop == "1"
                for ticket, values in entries or ():
                    fields = dict(zip(values[::2], values[1::2], strict=True))
                    index = int(fields["i"])
                    request = None
                    if "r" in fields:
                        request = {**self._defaults, **json.loads(fields["r"])}
                    self._holding[ticket] = index
                    self._buffer.append(
                        WorkItem(index, request, fields.get("x"), ticket, reclaimed == "1")
                    )
                if self._buffer:
                    break
                if int(settled) >= int(items):
                    return None
                # Others hold the rest: wait for them (or for their claim_idle to pass).
                await self.store.sleep(min(0.2, self.lease_interval))
            self._ensure_heartbeat()
            return self._buffer.pop(0)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._keep_fresh())

    async def _keep_fresh(self) -> None:
        """While this process holds items, reset their idle time (XCLAIM to itself) so the
        others do not take them over; a process that dies stops doing so."""
        client = self._redis()
        while True:
            await self.store.sleep(self.lease_interval)
            tickets = list(self._holding)
            if tickets:
                with contextlib.suppress(*_OUTAGE):
                    await client.xclaim(
                        self._keys["items"], "w", self._consumer, 0, tickets, justid=True
                    )

    async def created(
        self, item: WorkItem, arn: str, fingerprint: str | None, *, slow: bool
    ) -> bool:
        """Record the item's task.

        Args:
            item: The item.
            arn: Its task's ARN.
            fingerprint: The item's fingerprint, if any.
            slow: Whether the create took long.

        Returns:
            True if a cancel was requested before (the caller then cancels this task).
        """
        _new, cancel = await self._run_script(
            "created", item.index, arn, item.ticket or "", int(slow)
        )
        self._holding.pop(item.ticket or "", None)
        self._arns[item.index] = arn
        return str(cancel) == "1"

    async def submit_failed(
        self, item: WorkItem, outcome: BatchOutcome, fingerprint: str | None
    ) -> None:
        """Record that the item's create failed for good.

        Args:
            item: The item.
            outcome: Its outcome (the error).
            fingerprint: The item's fingerprint, if any.
        """
        self._queue(StoredOutcome.of(outcome), item.ticket or "", settles=True)
        await self.flush()
        self._holding.pop(item.ticket or "", None)

    # -- outcomes ------------------------------------------------------------------------------

    def record_outcome(self, outcome: BatchOutcome) -> bool:
        """Record an item's final outcome (written in the background; :meth:`flush` waits).

        Args:
            outcome: The outcome.

        Returns:
            Always True here: the store itself keeps the first outcome recorded.
        """
        stored = StoredOutcome.of(outcome)
        self._queue(stored, "", settles=stored.kind in ("submit_failed", "not_submitted"))
        return True

    def _queue(self, stored: StoredOutcome, ticket: str, *, settles: bool) -> None:
        self._writes.append((stored, ticket, settles))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._writes:
                stored, ticket, settles = self._writes[0]
                fields = [x for pair in stored.fields().items() for x in pair]
                await self._run_script(
                    "outcome", stored.index, stored.kind, ticket, int(settles), *fields
                )
                self._writes.pop(0)
        except Exception as exc:  # not an outage (those are retried): the batch's error
            self._on_error(exc)
            raise

    async def flush(self) -> None:
        """Wait until everything recorded so far is stored (raises a write error)."""
        writer = self._writer
        if writer is not None:
            await asyncio.shield(writer)

    async def outcomes(self, after: str | None) -> AsyncIterator[tuple[str, StoredOutcome]]:
        """``(position, outcome)`` in recording order, following new ones until all are in.

        Args:
            after: The position to resume after (``None``: from the start).

        Yields:
            Each position and outcome.
        """
        key = self._keys["outcomes"]
        position = after or "0"
        block = self._block_ms
        while not self._interrupted:
            entries = await self._xread(key, position, count=1000, block=block)
            if entries:
                await self.refresh_counts()  # counters at least as far as these outcomes
            for entry_id, fields in entries:
                position = entry_id
                stored = StoredOutcome.from_fields(fields)
                if stored.task_arn is not None:
                    self._arns.setdefault(stored.index, stored.task_arn)
                yield entry_id, stored
            if not entries:
                await self.refresh_counts()
                if self._counts["done"] >= self._items:
                    # every outcome is on the stream: read what is left, then end
                    rest = await self._xread(key, position, count=100_000, block=None)
                    for entry_id, fields in rest:
                        yield entry_id, StoredOutcome.from_fields(fields)
                    return

    async def refresh_counts(self) -> None:
        """Read the progress counters and the stop flag now."""
        client = self._redis()
        values = await self._call(
            "counts", lambda: client.hmget(self._keys["meta"], [*COUNTERS, "stop"])
        )
        for name, value in zip(COUNTERS, values, strict=False):
            self._counts[name] = int(value or 0)
        if values[-1] == "1":
            self._stop = True

    async def refresh(self) -> None:
        """Read the counters and every recorded ARN now."""
        await self.refresh_counts()
        async for index, arn, _live in self._read_created(follow=False):
            self._arns[index] = arn

    @property
    def counters(self) -> Mapping[str, int]:
        return self._counts

    @property
    def known_arns(self) -> Mapping[int, str]:
        return self._arns

    @property
    def stop_requested(self) -> bool:
        return self._stop

    async def request_stop(self, *, cancel: bool) -> None:
        """No process creates anything more; items not handed out get ``not_submitted``.

        Args:
            cancel: Whether the batch is being cancelled (tasks recorded later get cancelled).
        """
        reason = "the batch was cancelled" if cancel else "an earlier item failed"
        await self._run_script("stop", self._consumer, int(cancel), reason)
        self._stop = True
        await self.refresh_counts()

    # -- tracking ------------------------------------------------------------------------------

    async def lead(self) -> bool:
        """Take or renew the tracking lease.

        Returns:
            True while this process holds it.
        """
        held = await self._run_script("lease", self._consumer, self._claim_ms)
        return bool(int(held))

    async def release_lease(self) -> None:
        """Flush, then give the tracking lease up."""
        await self.flush()
        await self._run_script("release", self._consumer)

    def created_tasks(self) -> AsyncIterator[tuple[int, str, bool]]:
        """``(index, arn, live)`` of every task recorded, following new ones until all settle.

        Returns:
            The async iterator (``live``: recorded just now, not caught up on).
        """
        return self._read_created(follow=True)

    async def _read_created(self, *, follow: bool) -> AsyncIterator[tuple[int, str, bool]]:
        key = self._keys["created"]
        position = "0"
        seen = 0
        caught_up = False
        while not self._interrupted:
            block = self._block_ms if follow and caught_up else None
            entries = await self._xread(key, position, count=1000, block=block)
            now_ms = await self._server_ms() if entries else 0
            for entry_id, fields in entries:
                position = entry_id
                seen += 1
                # recorded just now (by the server's clock, which stamped the entry id):
                # the tracker's window around "now" finds it without locating it
                age = now_ms - int(entry_id.split("-")[0])
                yield int(fields["i"]), fields["a"], age < _LIVE_MS and "s" not in fields
            if entries:
                continue
            caught_up = True
            if not follow:
                return
            await self.refresh_counts()
            if self._counts["settled"] >= self._items and seen >= self._counts["submitted"]:
                return

    async def _server_ms(self) -> int:
        client = self._redis()
        seconds, micros = await self._call("time", client.time)
        return int(seconds) * 1000 + int(micros) // 1000

    # -- lifecycle -----------------------------------------------------------------------------

    def interrupt(self) -> None:
        """This process's part ends now: readers of :meth:`outcomes` return instead of waiting."""
        self._interrupted = True

    async def close(self) -> None:
        """Flush (within the store's timeout), stop the background work and close the connection."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), self.store.timeout)
        self._closed = True
        for task in (self._heartbeat, self._writer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._counts["done"] >= self._items > 0 and self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.zrem(self.store.active_key, self.batch_id)
        client, self._client, self._script = self._client, None, None
        if client is not None:
            await client.aclose()


def _batch_fingerprint(plan: BatchPlan) -> str:
    """One hash of every item's fingerprint: the same items give the same batch."""
    digest = hashlib.sha256(str(plan.items).encode())
    for index in range(plan.items):
        try:
            digest.update(plan.fingerprint_of(index).encode())
        except errors.BraketError as exc:
            digest.update(f"<invalid {index}: {exc}>".encode())
    return digest.hexdigest()[:32]


def _now() -> datetime:
    return datetime.now(UTC)
