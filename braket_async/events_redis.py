"""One event queue for every replica: Braket's events fanned out through a Redis stream.

An SQS message goes to one consumer, so replicas reading one queue each get part of the
events. With Redis (``pip install 'braket-async[redis]'``) they can share it anyway::

    from braket_async import BraketSession
    from braket_async.events_redis import RedisEventFanout

    events = RedisEventFanout(
        "https://sqs.us-east-1.amazonaws.com/123456789012/braket-async-events",
        redis_url="redis://redis.internal:6379/0",
        key="123456789012:us-east-1",
    )
    async with BraketSession(events=events) as braket:   # on every replica
        ...

Every replica reads the same queue (one rule, one queue per account and region: what
``braket-async events setup`` creates). The replica whose receive got an event:

1. hands it to its own subscribers at once;
2. claims its event id in Redis (``SET NX`` with a TTL): a duplicate that SQS or EventBridge
   delivered again, to this replica or another, stops here;
3. awaits the appliers (:meth:`RedisEventFanout.add_applier`, e.g. a batch store writing a
   terminal status): once per event id across the replicas;
4. appends it to the stream ``{prefix}:{{key}}:events`` (XADD, capped near ``maxlen``).

Every replica reads the stream (XREAD BLOCK from the last entry it read, so one briefly
disconnected catches up on what it missed, as far as ``maxlen`` reaches back) and hands each
event to its subscribers once, by event id. Waiters, trackers and batches take the fan-out as
any :class:`~braket_async.events.EventFeed`: it is one.

Why a stream and not pub/sub: a pub/sub message reaches only the connections subscribed at
that instant, so a replica reconnecting after a blip (or a Redis failover) loses what was
published meanwhile and its waiters fall back to their slow safety-net polls. A stream keeps
the last ``maxlen`` events; a reader resumes from its last entry id. See ``docs/events.md``.

Failures: if Redis cannot be reached, the receiving replica still hands the event to its own
subscribers (the others' waiters and trackers then find the change with their safety-net
polls) and the reader retries with backoff. Nothing from Redis raises into a waiter.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "braket_async.events_redis needs redis-py: pip install 'braket-async[redis]'"
    ) from exc

from . import errors
from ._base import AsyncContext, Sleep
from .events import BraketEvent, EventCallback, EventFeed, SqsEventSource, Unsubscribe
from .events._codec import event_from_json, event_to_json
from .events._parse import MalformedEvent
from .polling import PollPolicy, retry_target
from .ratelimit_redis import _check_key, _check_seconds, _check_url, _redact

if TYPE_CHECKING:
    from ._client import BraketClient

__all__ = ["EventApplier", "RedisEventFanout", "RedisEvents"]

_log = logging.getLogger("braket_async.events_redis")

EventApplier = Callable[[BraketEvent], Awaitable[None]]
"""Awaited once per event id across the replicas, by the replica that received the event."""
#: Backoff between failed stream reads: 0.2 s doubling to 5 s, with full jitter.
READ_BACKOFF = PollPolicy(initial=0.2, multiplier=2.0, maximum=5.0)
#: Entries one XREAD returns at most.
_READ_COUNT = 100
#: A fan-out idle for longer than this reads on from the newest entry when it starts again,
#: not from where it stopped (old events would only wake waiters for nothing).
CATCH_UP_SECONDS = 60.0
#: RedisEvents' fields by the name of the fan-out's parameter where they differ.
_PARAMETERS = {"url": "redis_url"}


def _check_count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be an int >= 1, got {value!r}"
        )


@attrs.frozen
class RedisEvents:
    """Where the fan-out lives in Redis (the validated settings of :class:`RedisEventFanout`).

    ``url``: ``redis://``, ``rediss://`` or ``unix://``. ``key``: names the account and region
    (replicas of one queue use one key). ``maxlen``: about how many events the stream keeps
    (a reader disconnected for longer than they span misses the oldest). ``claim_ttl``:
    seconds an event id is remembered against redeliveries. ``timeout``: seconds one Redis
    command may take. ``block``: seconds one XREAD waits for new entries.
    """

    url: str = attrs.field(validator=_check_url, repr=_redact)
    key: str = attrs.field(validator=_check_key)
    prefix: str = attrs.field(default="braket-async", validator=_check_key)
    maxlen: int = attrs.field(default=10_000, validator=_check_count)
    claim_ttl: float = attrs.field(default=3600.0, validator=_check_seconds)
    timeout: float = attrs.field(default=1.0, validator=_check_seconds)
    block: float = attrs.field(default=1.0, validator=_check_seconds)

    def stream_key(self) -> str:
        """The stream every replica reads."""
        return f"{self.prefix}:{{{self.key}}}:events"

    def claim_key(self, event_id: str) -> str:
        """The key that claims one event id (set by the first replica to receive it).

        Args:
            event_id: The event's id.

        Returns:
            The key.
        """
        return f"{self.prefix}:{{{self.key}}}:event:{event_id}"


class RedisEventFanout(AsyncContext):
    """An :class:`~braket_async.events.EventFeed` shared by every replica (see the module).

    ``source``: the feed this replica receives from, usually an
    :class:`~braket_async.events.SqsEventSource` on the shared queue; or the queue URL, and
    the session given ``events=`` builds that source with its own SQS client (and checks the
    queue) when it opens, and closes the fan-out when it closes. ``redis_url``, ``key``,
    ``prefix``, ``maxlen``, ``claim_ttl``, ``timeout``, ``block``: see :class:`RedisEvents`.
    ``remember``: event ids remembered per replica against repeats. ``linger``: seconds the
    receive and read loops go on after the last subscriber and applier left.

    It runs while it has subscribers or appliers: it subscribes to ``source`` then (the last
    one leaving unsubscribes it, so an SQS source hands back what it received unread).

    Args:
        source: The feed this replica receives from, or the SQS queue URL.
        redis_url: See :class:`RedisEvents`.
        key: See :class:`RedisEvents`.
        prefix: See :class:`RedisEvents`.
        maxlen: See :class:`RedisEvents`.
        claim_ttl: See :class:`RedisEvents`.
        timeout: See :class:`RedisEvents`.
        block: See :class:`RedisEvents`.
        remember: Event ids remembered per replica against repeats.
        linger: Seconds the loops go on after the last subscriber and applier left.
        read_backoff: The backoff between failed stream reads.
        sleep: The sleep of the loops.

    Raises:
        ParameterError: An argument breaks its rule.
    """

    def __init__(
        self,
        source: EventFeed | str,
        *,
        redis_url: str,
        key: str,
        prefix: str = "braket-async",
        maxlen: int = 10_000,
        claim_ttl: float = 3600.0,
        timeout: float = 1.0,
        block: float = 1.0,
        remember: int = 100_000,
        linger: float = 2.0,
        read_backoff: PollPolicy = READ_BACKOFF,
        sleep: Sleep | None = None,
    ) -> None:
        if isinstance(source, str):
            if not source.startswith(("https://", "http://")):
                raise errors.ParameterError(
                    "source", f"must be an EventFeed or an SQS queue URL, got {source!r}"
                )
        elif not callable(getattr(source, "subscribe", None)):
            raise errors.ParameterError(
                "source", f"must be an EventFeed or an SQS queue URL, got {source!r}"
            )
        try:
            self.redis = RedisEvents(
                redis_url, key, prefix, maxlen, claim_ttl, timeout=timeout, block=block
            )
        except ValueError as exc:  # "RedisEvents.<field> must ...": name the parameter
            field = str(exc).split(" ", 1)[0].removeprefix("RedisEvents.")
            raise errors.ParameterError(_PARAMETERS.get(field, field), str(exc)) from None
        if remember < 1:
            raise errors.ParameterError("remember", f"must be >= 1, got {remember}")
        if linger < 0:
            raise errors.ParameterError("linger", f"must be >= 0 seconds, got {linger}")
        self._queue_url = source if isinstance(source, str) else None
        self._source: EventFeed | None = None if isinstance(source, str) else source
        self._owned_source: SqsEventSource | None = None
        self._remember = remember
        self._linger = linger
        self._read_backoff = read_backoff
        self._sleep_arg = sleep
        self._ids = itertools.count()
        self._subscribers: dict[int, EventCallback] = {}
        self._appliers: dict[int, EventApplier] = {}
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._client: aioredis.Redis | None = None
        self._unsubscribe_source: Unsubscribe | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[BraketEvent] | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._last_id: str | None = None
        #: Bumped by every start and stop: a reader of an older generation reads no more
        #: (a cancellation can be lost inside redis-py's blocking read; this bounds it).
        self._generation = 0
        self._stopped_at: float | None = None
        self._redis_down = False
        self._closed = False
        #: Counts: received (from the source), claimed, redelivered (claimed before),
        #: applied, apply_failed, published, publish_failed, read (from the stream),
        #: delivered (to this replica's subscribers), duplicates, malformed, read_errors.
        self.stats: collections.Counter[str] = collections.Counter()

    # -- the EventFeed protocol --------------------------------------------------------------

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with every event any replica receives, once per event id.

        Args:
            callback: Called with each event.

        Returns:
            The function that removes the subscription.
        """
        return self._add(self._subscribers, callback)

    def add_applier(self, applier: EventApplier) -> Unsubscribe:
        """Await ``applier(event)`` for each event received on this replica that no replica
        claimed before (once per event id across the replicas, within ``claim_ttl``), before
        the event is published to the others; e.g. a batch store writing a terminal status.
        An applier that raises is logged; the event is published all the same. It should
        still apply by event id (idempotently): a Redis restarted without persistence forgets
        the claims. Keeps the fan-out receiving while registered.

        Args:
            applier: Awaited with each event this replica claims.

        Returns:
            The function that removes the applier.
        """
        return self._add(self._appliers, applier)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the fan-out is receiving from its source and reading the stream."""
        return self._reader is not None and not self._reader.done()

    @property
    def source(self) -> EventFeed | None:
        """The feed this replica receives from (None until a session built it)."""
        return self._source

    async def open_for(self, session: BraketClient) -> None:
        """Called by ``BraketSession(events=fanout)`` when it opens: builds the SQS source on
        the session's SQS client when the fan-out was given a queue URL, and checks it.

        Args:
            session: The session that opens.

        Raises:
            SessionStateError: The fan-out is closed.
            EventQueueNotFound: The queue does not exist.
        """
        if self._closed:
            raise errors.SessionStateError("this RedisEventFanout is closed")
        if self._queue_url is not None and self._source is None:
            source = SqsEventSource(self._queue_url, session=session)
            await source.check()  # a missing queue is an error now, naming it
            self._source = self._owned_source = source
            if self._sleep_arg is None:
                self._sleep_arg = session.sleep

    async def aclose(self) -> None:
        """Stop receiving and reading, publish what was received, close the connections and
        (when the fan-out built it) the SQS source. Idempotent."""
        self._closed = True
        self._subscribers.clear()
        self._appliers.clear()
        await self._stop()
        source, self._owned_source = self._owned_source, None
        if source is not None:
            await source.aclose()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _exit(self) -> None:
        await self.aclose()

    # -- internals: lifecycle ----------------------------------------------------------------

    def _add(self, registry: dict[int, Any], value: Any) -> Unsubscribe:
        if self._closed:
            raise errors.SessionStateError("this RedisEventFanout is closed")
        if self._source is None:
            raise errors.SessionStateError(
                "this RedisEventFanout has no source yet: give it to BraketSession(events=...) "
                "and open the session, or build it on an EventFeed"
            )
        key = next(self._ids)
        registry[key] = value
        self._start()

        def remove() -> None:
            if registry.pop(key, None) is not None and not self._subscribers and not self._appliers:
                self._idle()

        return remove

    def _start(self) -> None:
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self.running:
            return
        assert self._source is not None
        loop = asyncio.get_running_loop()
        if self._stopped_at is not None and loop.time() - self._stopped_at > CATCH_UP_SECONDS:
            self._last_id = None
        self._outbox = asyncio.Queue()
        self._publisher = loop.create_task(
            self._publish_loop(self._outbox), name="braket-async-fanout publish"
        )
        self._generation += 1
        self._reader = loop.create_task(
            self._read_loop(self._generation), name="braket-async-fanout read"
        )
        self._unsubscribe_source = self._source.subscribe(self._on_received)

    def _idle(self) -> None:
        if self._linger == 0:
            self._stop_if_idle()
            return
        self._stopper = asyncio.get_running_loop().call_later(self._linger, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._stopper = None
        if not self._subscribers and not self._appliers and self.running:
            self._stopping = asyncio.get_running_loop().create_task(self._stop())

    async def _stop(self) -> None:
        stopping = self._stopping
        if stopping is not None and stopping is not asyncio.current_task():
            await stopping  # an idle stop in progress finishes first
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        unsubscribe, self._unsubscribe_source = self._unsubscribe_source, None
        if unsubscribe is not None:
            unsubscribe()  # an SQS source hands back what it has not delivered yet
        reader, self._reader = self._reader, None
        publisher, self._publisher = self._publisher, None
        outbox, self._outbox = self._outbox, None
        self._generation += 1
        self._stopped_at = asyncio.get_running_loop().time()
        if reader is not None:
            reader.cancel()
            # at most one blocking read more: it then sees it is stale and returns
            await asyncio.wait({reader}, timeout=self.redis.block + self.redis.timeout + 1.0)
        if publisher is not None and outbox is not None:
            # What was received is deleted from SQS already: publish it before stopping.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.redis.timeout * (outbox.qsize() + 1) * 3):
                    await outbox.join()
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher

    # -- internals: receive, claim, apply, publish -------------------------------------------

    def _on_received(self, event: BraketEvent) -> None:
        self.stats["received"] += 1
        self._deliver(event)  # this replica's own subscribers first: no round trip
        if self._outbox is not None:
            self._outbox.put_nowait(event)

    async def _publish_loop(self, outbox: asyncio.Queue[BraketEvent]) -> None:
        while True:
            event = await outbox.get()
            try:
                await self._relay(event)
            finally:
                outbox.task_done()

    async def _relay(self, event: BraketEvent) -> None:
        redis = self.redis
        try:
            client = self._redis()
            if event.event_id is not None:
                async with asyncio.timeout(redis.timeout):
                    claimed = await client.set(
                        redis.claim_key(event.event_id),
                        "1",
                        nx=True,
                        px=int(redis.claim_ttl * 1000),
                    )
                if not claimed:
                    self.stats["redelivered"] += 1  # another receive already relayed it
                    return
                self.stats["claimed"] += 1
        except Exception as exc:  # Redis out: this replica has it; the others poll
            self._redis_failed("claim", exc)
            self.stats["publish_failed"] += 1
            return
        for applier in list(self._appliers.values()):
            try:
                await applier(event)
                self.stats["applied"] += 1
            except Exception:
                self.stats["apply_failed"] += 1
                _log.exception("an event applier failed on %r", event)
        try:
            async with asyncio.timeout(redis.timeout):
                await client.xadd(
                    redis.stream_key(),
                    {"event": event_to_json(event)},
                    maxlen=redis.maxlen,
                    approximate=True,
                )
        except Exception as exc:
            self._redis_failed("publish", exc)
            self.stats["publish_failed"] += 1
            return
        self.stats["published"] += 1
        self._redis_back()

    # -- internals: read the stream, deliver -------------------------------------------------

    async def _read_loop(self, generation: int) -> None:
        # Failed reads are retried for as long as the reader runs (a Redis outage ends).
        budget = self._read_backoff.unlimited_budget().start(time.monotonic)

        async def read() -> Any:
            if generation != self._generation:
                return None  # stopped during the backoff
            return await self._read_once()

        while generation == self._generation:
            reply = await retry_target(
                read,
                budget,
                sleep=self._sleep_arg or asyncio.sleep,
                predicate=_any_failure,
                on_error=self._read_failed,
            )
            if generation != self._generation:
                return  # stopped meanwhile: the next reader reads on from _last_id
            self._redis_back()
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    self._last_id = str(entry_id)
                    self._read_entry(str(entry_id), fields)

    async def _read_once(self) -> Any:
        """One XREAD of the stream from ``_last_id`` (the first starts after the newest)."""
        redis = self.redis
        client = self._redis()
        if self._last_id is None:
            # Start after the newest entry: what came before is not this replica's.
            async with asyncio.timeout(redis.timeout):
                newest: Any = await client.xrevrange(redis.stream_key(), count=1)
            self._last_id = str(newest[0][0]) if newest else "0-0"
        async with asyncio.timeout(redis.block + redis.timeout):
            return await client.xread(
                {redis.stream_key(): self._last_id},
                count=_READ_COUNT,
                block=int(redis.block * 1000),
            )

    def _read_failed(self, exc: BaseException, delay: float) -> None:
        self.stats["read_errors"] += 1
        self._redis_failed("read", exc)

    def _read_entry(self, entry_id: str, fields: Any) -> None:
        self.stats["read"] += 1
        try:
            text = fields.get("event") if isinstance(fields, dict) else None
            event = event_from_json(text if isinstance(text, str) else "")
        except MalformedEvent as exc:
            self.stats["malformed"] += 1
            _log.warning("skipping stream entry %s: %s", entry_id, exc)
            return
        self._deliver(event)

    def _deliver(self, event: BraketEvent) -> None:
        """Hand ``event`` to this replica's subscribers, once per event id."""
        event_id = event.event_id
        if event_id is not None:
            if event_id in self._seen:
                self.stats["duplicates"] += 1
                return
            self._seen[event_id] = None
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        self.stats["delivered"] += 1
        for key, callback in list(self._subscribers.items()):
            if key not in self._subscribers:
                continue  # unsubscribed by an earlier callback of this event
            try:
                callback(event)
            except Exception:  # one consumer's bug must not starve the others
                _log.exception("an event subscriber failed on %r", event)

    # -- internals: Redis --------------------------------------------------------------------

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(
                self.redis.url,
                decode_responses=True,
                socket_connect_timeout=self.redis.timeout,
                # one quick retry heals a connection Redis dropped (a restart)
                retry=Retry(NoBackoff(), 1),
            )
        return self._client

    def _redis_failed(self, what: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._redis_down:
            _log.debug("event fan-out: Redis still unavailable (%s: %s)", what, reason)
            return
        self._redis_down = True
        _log.warning(
            "event fan-out: Redis at %s is unavailable (%s: %s); events received here reach "
            "only this replica until it is back (the others' waiters poll meanwhile)",
            _redact(self.redis.url), what, reason,
        )  # fmt: skip

    def _redis_back(self) -> None:
        if self._redis_down:
            self._redis_down = False
            _log.info("event fan-out: Redis at %s is back", _redact(self.redis.url))


def _any_failure(exc: BaseException) -> bool:
    # Any failure of a read (Redis down, a timeout, a reply cut short) is retried: nothing
    # from Redis raises into a waiter, and the reader resumes from its last entry id.
    return True
