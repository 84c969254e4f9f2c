"""Braket quotas shared by every worker process and host of one account and region, in Redis.

Braket's quotas are per account and region, not per process: four workers that each pace
themselves at the full quota send four times too much. With a shared store the buckets live
in Redis and every process draws from the same ones::

    from braket_async import BraketSession, RateLimits
    from braket_async.ratelimit_redis import RedisQuota

    limits = RateLimits.aws_defaults(
        shared=RedisQuota("redis://redis.internal:6379/0", key="123456789012:us-east-1")
    )
    async with BraketSession(rate_limits=limits) as braket:
        ...

Needs the ``redis`` extra (``pip install 'braket-async[redis]'``, redis-py's asyncio client)
and Redis >= 5.

* **Atomic, one clock**: one Lua script (sent once, then run by SHA) updates the buckets; it
  reads the Redis server's ``TIME``, so the hosts' clocks never matter.
* **One key per account, region and operation**, plus the account-wide bucket:
  ``{prefix}:{{key}}:{operation}`` (the braces keep a key's buckets in one Redis Cluster slot).
  Every process sharing a ``key`` should use the same :class:`~braket_async.RateLimits`.
* **Shared adaptation**: a 429 seen by any process cuts the shared rate for all of them, and
  the recovery (linear in server time) is shared too.
* **Fair turns**: when a bucket is empty a process reserves the next token and sleeps until it
  is due; each process keeps at most one reservation per bucket (its other callers queue
  locally, FIFO), so under contention turns go round the processes and none is starved.
* **Failures never stop a call, nor double the rate**: when Redis cannot be reached or does
  not answer within ``timeout`` seconds, the limiter paces with the process's own buckets at
  its share of the quota (one over the processes seen sharing the key within ``peer_ttl``
  seconds, kept in Redis while it answers, or ``expected_processes`` if that is more), logs
  one warning for the outage, and tries Redis again in the background every
  ``retry_interval`` seconds (on the session's clock). Back on Redis, it keeps to its share
  for a moment more (the others may not have noticed yet) and the shared buckets hold no
  more than the service regained since. Nothing from here ever raises into a Braket call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from importlib import resources
from typing import Any

import attrs

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "braket_async.ratelimit_redis needs redis-py: pip install 'braket-async[redis]'"
    ) from exc

from ._base import Clock, Sleep
from .ratelimit import Adaptive, BucketParams, SharedBuckets

__all__ = ["RedisQuota"]

logger = logging.getLogger(__name__)

#: The bucket name of the account-wide quota (the others are operation names).
ACCOUNT = "account"
_SCHEMES = ("redis", "rediss", "unix")
#: The script's answer: a count (buckets done, or 1 if cut), seconds to wait, bucket rates.
_Reply = tuple[int, float, list[float]]
_SCRIPT = resources.files(__package__).joinpath("_redis_script.lua").read_text(encoding="utf-8")


def _check_url(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or urllib.parse.urlsplit(value).scheme not in _SCHEMES:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a redis://, rediss:// or "
            f"unix:// URL, got {_redact(value)!r}"
        )


def _check_key(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    name = f"{type(instance).__name__}.{attribute.name}"
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError(f"{name} must be a non-empty string of at most 200 characters")
    if any(c in value for c in "{} \t\r\n"):
        raise ValueError(f"{name} must not contain braces or whitespace, got {value!r}")


def _check_seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        name = f"{type(instance).__name__}.{attribute.name}"
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_processes(
    instance: RedisQuota, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(
            f"RedisQuota.expected_processes must be None or an int >= 1, got {value!r}"
        )


def _redact(url: object) -> str:
    """``url`` without its password, for messages and logs."""
    text = str(url)
    try:
        parts = urllib.parse.urlsplit(text)
        if parts.password is None:
            return text
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparsable URL>"


@attrs.frozen
class RedisQuota:
    """Where shared buckets live: ``RateLimits(shared=RedisQuota(url, key=...))``.

    ``url``: ``redis://[[user]:password@]host:port/db``, ``rediss://`` (TLS) or ``unix://``.
    ``key``: names the account and region, e.g. ``"123456789012:us-east-1"`` (processes of
    other accounts or regions must use another key). ``prefix`` starts every Redis key.
    ``timeout``: seconds one Redis round trip may take before the limiter falls back to the
    process's own buckets. ``retry_interval``: seconds between attempts while Redis is out.
    While it is out each process paces at 1/N of the quota, N being the processes seen
    sharing ``key`` within the last ``peer_ttl`` seconds (each process refreshes its entry
    about every second while Redis answers) or ``expected_processes``, whichever is larger
    (set it when processes may start while Redis is already out: they have seen no one).
    """

    url: str = attrs.field(validator=_check_url, repr=_redact)
    key: str = attrs.field(validator=_check_key)
    prefix: str = attrs.field(default="braket-async", validator=_check_key)
    timeout: float = attrs.field(default=0.5, validator=_check_seconds)
    retry_interval: float = attrs.field(default=1.0, validator=_check_seconds)
    expected_processes: int | None = attrs.field(default=None, validator=_check_processes)
    peer_ttl: float = attrs.field(default=30.0, validator=_check_seconds)

    def bucket_key(self, bucket: str) -> str:
        """The Redis key of one bucket (an operation name or ``"account"``).

        Args:
            bucket: An operation name or ``"account"``.

        Returns:
            The key.
        """
        return f"{self.prefix}:{{{self.key}}}:{bucket}"

    def processes_key(self) -> str:
        """The Redis key of the processes seen sharing the buckets (a sorted set)."""
        return f"{self.prefix}:{{{self.key}}}:processes"

    def connect(
        self,
        buckets: Mapping[str, BucketParams],
        adaptive: Adaptive | None,
        *,
        clock: Clock,
        sleep: Sleep,
    ) -> SharedBuckets:
        """The live side for one :class:`~braket_async.RateLimiter` (no I/O until used).

        Args:
            buckets: Each bucket's effective parameters, by operation name and ``"account"``.
            adaptive: How rates adapt to throttling (``None``: fixed rates).
            clock: The limiter's monotonic clock.
            sleep: The limiter's sleep.

        Returns:
            The limiter's :class:`RedisBuckets`.
        """
        return RedisBuckets(self, buckets, adaptive, clock=clock, sleep=sleep)


def _ttl_ms(params: BucketParams) -> int:
    # Idle long enough to be full again at the floor rate and fully recovered, a bucket is the
    # same as a new one: let Redis drop it then (plus a minute of margin).
    seconds = 60.0 + params.burst / params.min_rate
    if params.recovery > 0:
        seconds += (params.base_rate - params.min_rate) / params.recovery
    return math.ceil(seconds * 1000)


class RedisBuckets:
    """One limiter's connection to the shared buckets (made by :meth:`RedisQuota.connect`)."""

    def __init__(
        self,
        quota: RedisQuota,
        buckets: Mapping[str, BucketParams],
        adaptive: Adaptive | None,
        *,
        clock: Clock,
        sleep: Sleep,
    ) -> None:
        self.quota = quota
        self._clock = clock
        self._sleep = sleep
        self._keys = {name: quota.bucket_key(name) for name in buckets}
        self._args = {
            name: (repr(p.base_rate), repr(p.burst), repr(p.min_rate), repr(p.recovery),
                   str(_ttl_ms(p)))
            for name, p in buckets.items()
        }  # fmt: skip
        self._adaptive_args = (
            (repr(adaptive.decrease), repr(adaptive.cooldown)) if adaptive else ("1", "0")
        )
        # one reservation per bucket per process: the head of each local queue holds the lock
        self._locks = {name: asyncio.Lock() for name in buckets}
        # the most tokens a bucket can hold: min(burst, base_rate * seconds since local pacing)
        self._burst = {name: p.burst for name, p in buckets.items()}
        self._base_rate = {name: p.base_rate for name, p in buckets.items()}
        self._client: aioredis.Redis | None = None
        self._script: Any = None
        self._down = False
        self._retry_at = -math.inf
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._rates: dict[str, float] = {}
        self._counts = dict.fromkeys(
            ("acquired", "delayed", "fallbacks", "failures", "outages", "throttles"), 0
        )
        # Who shares the buckets: this process's entry in the processes set, the count last
        # seen there (None: never answered), and when to refresh it.
        self._member = uuid.uuid4().hex
        self._peers: int | None = None
        self._next_join = -math.inf
        self._probing = False
        # The last call this process paced with its own buckets (an outage or a rejoin),
        # and until when, back on Redis, it keeps to its share (the others may still be out).
        self._local_at = -math.inf
        self._rejoin_until = -math.inf
        # How many processes shared the key when the outage began: the share until the
        # rejoin is over (a Redis restarted empty counts only those already back).
        self._outage_processes = 1

    # -- SharedBuckets -------------------------------------------------------------------------

    async def acquire(self, operation: str) -> bool:
        names = self._names(operation)
        if not self._usable():
            return self._fallback()
        now = self._clock()
        if self._peers is None:
            await self._join()  # once: who shares the key, before the first call
            if not self._usable():
                return self._fallback()
        elif now >= self._next_join:
            self._next_join = now + self._join_interval()
            self._spawn(self._join)
        if not names:
            return True
        taken: list[str] = []  # buckets holding a token of this call, given back if cancelled
        try:
            done = 0
            while done < len(names):
                pending = names[done:]
                async with self._locks[pending[0]]:
                    step = await self._call("acquire", pending) if self._usable() else None
                    if step is None:
                        return self._fallback()
                    count, wait, _ = step
                    count = max(1, count)  # the first bucket always answers
                    taken += pending[:count]
                    done += count
                    if wait > 0:
                        self._counts["delayed"] += 1
                        await self._sleep(wait)
        except BaseException:
            if taken:
                self._spawn(self._call, "give", taken)
            raise
        self._counts["acquired"] += 1
        if self._clock() < self._rejoin_until:
            self._local_at = self._clock()
        return True

    def local_share(self) -> float | None:
        if self._usable() and self._clock() >= self._rejoin_until:
            return None
        return 1.0 / max(self._outage_processes, self._processes())

    def record_throttle(self, operation: str) -> None:
        names = self._names(operation)
        if names and self._usable():
            self._counts["throttles"] += 1
            self._spawn(self._call, "cut", names[:1])

    def current_rate(self, operation: str) -> float | None:
        if self._down:
            return None
        rates = [self._rates[n] for n in self._names(operation) if n in self._rates]
        return min(rates) if rates else None

    def stats(self) -> dict[str, Any]:
        return {
            "store": "redis",
            "url": _redact(self.quota.url),
            "key": self.quota.key,
            "available": not self._down,
            "rates": dict(self._rates),
            "processes": self._peers,
            "local_share": self.local_share(),
            **self._counts,
        }

    async def aclose(self) -> None:
        self._closed = True
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.quota.timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        client, self._client, self._script = self._client, None, None
        if client is not None:
            if not self._down and self._peers is not None:
                # leave the processes set at once: the others' shares grow back now
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.quota.timeout):
                        await client.zrem(self.quota.processes_key(), self._member)
            await client.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _names(self, operation: str) -> list[str]:
        """The shared buckets a call to ``operation`` draws from, in order."""
        names = [operation] if operation != ACCOUNT and operation in self._keys else []
        if ACCOUNT in self._keys:
            names.append(ACCOUNT)
        return names

    def _usable(self) -> bool:
        return not self._closed and not self._down

    def _fallback(self) -> bool:
        """The call is paced by this process's own buckets (at :meth:`local_share`); while
        Redis is out, one background probe every ``retry_interval`` seconds."""
        self._counts["fallbacks"] += 1
        now = self._local_at = self._clock()
        if self._down and not self._closed and not self._probing and now >= self._retry_at:
            self._probing = True
            self._retry_at = now + self.quota.retry_interval
            self._spawn(self._probe)
        return False

    async def _probe(self) -> None:
        try:
            await self._join()
        finally:
            self._probing = False

    def _processes(self) -> int:
        """How many processes share the quota, as far as this one knows (at least 1)."""
        return max(self._peers or 1, self.quota.expected_processes or 1)

    def _join_interval(self) -> float:
        return min(1.0, self.quota.peer_ttl / 3)

    async def _join(self) -> None:
        """Say this process shares the buckets; learn how many do (also the outage probe)."""
        ttl_ms = str(math.ceil(self.quota.peer_ttl * 1000))
        keys = [self.quota.processes_key()]
        reply = await self._run(keys, ["join", *self._adaptive_args, self._member, ttl_ms])
        if reply is not None:
            self._peers = max(1, int(reply[0]))
            self._next_join = self._clock() + self._join_interval()

    def _caps(self, names: Sequence[str]) -> list[str]:
        idle = max(0.0, self._clock() - self._local_at)
        return [repr(min(self._burst[n], self._base_rate[n] * idle)) for n in names]

    async def _call(self, command: str, names: Sequence[str]) -> _Reply | None:
        """Run the script on ``names``' buckets; ``None`` (and fallback) on any failure."""
        keys = [self._keys[n] for n in names]
        caps = self._caps(names)
        per_bucket = (
            arg for n, cap in zip(names, caps, strict=True) for arg in (*self._args[n], cap)
        )
        reply = await self._run(keys, [command, *self._adaptive_args, *per_bucket])
        if reply is None:
            return None
        self._rates.update(zip(names, reply[2], strict=False))
        return reply

    async def _run(self, keys: list[str], args: list[str]) -> _Reply | None:
        try:
            async with asyncio.timeout(self.quota.timeout):
                raw = await self._connect()(keys=keys, args=args)
            count, wait = int(raw[0]), float(raw[1])
            rates = [float(r) for r in raw[2:]]
        except Exception as exc:  # whatever Redis does, the call goes on with local limits
            self._failed(exc)
            return None
        self._recovered()
        return count, wait, rates

    def _connect(self) -> Any:
        if self._script is None:
            timeout = self.quota.timeout
            self._client = aioredis.Redis.from_url(
                self.quota.url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # one quick retry heals a connection Redis dropped (a restart); no backoff sleeps
                retry=Retry(NoBackoff(), 1),
            )
            self._script = self._client.register_script(_SCRIPT)
        return self._script

    def _failed(self, exc: Exception) -> None:
        if self._closed:
            return  # a call cut short by aclose: not an outage
        self._counts["failures"] += 1
        self._retry_at = self._clock() + self.quota.retry_interval
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._down:
            logger.debug("shared rate limits: Redis still unavailable (%s)", reason)
            return
        self._down = True
        self._outage_processes = self._processes()
        self._counts["outages"] += 1
        logger.warning(
            "shared rate limits: Redis at %s is unavailable (%s); pacing with this process's "
            "own limits at 1/%d of the quota and trying Redis again every %gs",
            _redact(self.quota.url), reason, self._processes(), self.quota.retry_interval,
        )  # fmt: skip

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            # Every other process probes within retry_interval (plus a timeout): until then
            # some may still pace themselves, so this one keeps to its share as well.
            self._rejoin_until = self._clock() + self.quota.retry_interval + 2 * self.quota.timeout
            logger.info("shared rate limits: Redis at %s is back", _redact(self.quota.url))

    def _spawn(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        """Run ``func(*args)`` in the background (tracked, finished by :meth:`aclose`)."""
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a throttle reported from elsewhere): the local limiter adapts

        async def run() -> None:
            await func(*args)

        task = loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
