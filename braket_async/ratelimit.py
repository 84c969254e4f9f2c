"""Client-side rate limiting shared by every call of one session.

Amazon Braket meters requests with token buckets: one per operation (CreateQuantumTask 20/s,
burst 40, ...) and one account-wide (140/s, burst 600) that every call draws from. A
:class:`RateLimiter` mirrors those buckets on the client so that a session running at full
speed is paced just under the quota instead of being answered ``429 ThrottlingException``.

Design (why not ``aiolimiter``): a call needs two buckets (its operation's, then the
account's), the limiter must adapt when the service throttles anyway, and tests inject the
clock and the sleep; ``aiolimiter`` has one bucket, reads ``loop.time()`` and wakes its waiters
periodically. This module is about 200 lines instead.

* **Cheap when a token is there**: ``acquire`` refills arithmetically (no timer, no task) and
  returns without suspending.
* **FIFO, no thundering herd**: when a bucket is empty, callers queue. Only the head of the
  queue sleeps, for exactly the time until the next token, takes it and hands the head
  position to the next caller. Nobody polls, and a cancelled waiter gives nothing away.
* **Two stages**: a call first waits in its operation's queue, then in the account queue.
  The account token is taken only when the call is ready to go, so 2000 queued
  CreateQuantumTask calls never hold up a GetQuantumTask behind them.
* **Headroom**: the client keeps a little of each rate and burst unused
  (:attr:`RateLimits.rate_headroom`, :attr:`RateLimits.burst_headroom`), so network jitter
  (a later request overtaking an earlier one) does not turn into 429s at the edge.
* **Adaptive (AIMD)**: only ``ThrottlingException`` is a throttle signal (a 5xx or a dropped
  connection says nothing about the rate). :meth:`RateLimiter.record_throttle` drains the
  bucket and cuts its rate by the share of recent responses that were throttled
  (:meth:`RateLimiter.record_response` counts them; the cut is at most
  :attr:`Adaptive.decrease`): an isolated 429 (jitter, a noisy neighbour) costs a few percent,
  while persistent throttling empties the bucket and cuts deeply every cooldown; the rate
  then recovers linearly with time up to the configured one (:class:`Adaptive`). Throttles
  within a cooldown of the last cut are the same episode and cut nothing more.
* **A refused call takes no token**: the service's buckets take nothing from a call they
  answer 429, so an isolated 429 (at most a quarter of the recent responses throttled) gives
  the call's tokens back; its retry is not paced as a second call. While throttling persists
  nothing is given back: the service's bucket is empty and the cut drains the client's.
* **Every attempt is paced**: :func:`pace_retries` makes botocore's own retries (attempt 2 and
  later of one call) take a token too, so retries never burst past the service's quota.
* **Shared** (optional): ``RateLimits(shared=...)`` (e.g. ``RedisQuota`` from
  :mod:`braket_async.ratelimit_redis`) paces calls with buckets that every process of the
  account and region shares; the buckets here stay as the fallback while the store is out of
  reach. While the store is out each process paces itself at its share of the quota (the
  store says which share: one over the processes seen sharing it). The seam is
  :class:`SharedQuota` / :class:`SharedBuckets`.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from ._base import Clock, Sleep
from ._service_model import SERVICE_MODEL

__all__ = [
    "AWS_ACCOUNT_RATE",
    "AWS_DEFAULT_RATES",
    "BRAKET_OPERATIONS",
    "THROTTLE_CODES",
    "Adaptive",
    "BucketParams",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "SharedBuckets",
    "SharedQuota",
    "observe_throttles",
    "pace_retries",
]

BRAKET_OPERATIONS: frozenset[str] = frozenset(SERVICE_MODEL.operation_names)
"""Every operation of Braket's service model, as botocore ships it."""


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0 or math.isinf(value):
        name = f"{type(instance).__name__}.{attribute.name}"
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        name = f"{type(instance).__name__}.{attribute.name}"
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _interval(low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> Any:
    """An attrs validator: ``value`` within the interval (bounds open or closed)."""

    def check(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
        above = value > low if open_low else value >= low
        below = value < high if open_high else value <= high
        if not (above and below):
            interval = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
            name = f"{type(instance).__name__}.{attribute.name}"
            raise ValueError(f"{name} must be in {interval}, got {value!r}")

    return check


@attrs.frozen
class Rate:
    """A token bucket: ``per_second`` refill, ``burst`` capacity (both > 0)."""

    per_second: float = attrs.field(validator=_positive)
    burst: int = attrs.field(validator=_at_least_one)

    def scaled(self, factor: float) -> Rate:
        """This rate and burst multiplied by ``factor`` (burst rounded down, at least 1).

        Matches the local service's ``Quotas.aws_defaults(scale=...)``.

        Args:
            factor: The multiplier (> 0).

        Returns:
            The scaled rate.

        Raises:
            ValueError: ``factor`` is not > 0.
        """
        if not factor > 0:
            raise ValueError(f"scale must be > 0, got {factor!r}")
        return Rate(self.per_second * factor, max(1, math.floor(self.burst * factor + 1e-9)))


AWS_DEFAULT_RATES: Mapping[str, Rate] = {
    "CreateQuantumTask": Rate(20, 40),
    "GetQuantumTask": Rate(100, 500),
    "SearchQuantumTasks": Rate(5, 50),
    "CancelQuantumTask": Rate(2, 20),
    "GetDevice": Rate(5, 50),
    "SearchDevices": Rate(5, 50),
    "CreateJob": Rate(1, 5),
    "GetJob": Rate(5, 25),
    "SearchJobs": Rate(5, 50),
    "CancelJob": Rate(2, 5),
}
"""AWS default per-operation quotas (docs/quotas.md)."""
AWS_ACCOUNT_RATE = Rate(140, 600)
"""AWS default account-wide quota (all calls)."""
THROTTLE_CODES: frozenset[str] = frozenset({"ThrottlingException"})
"""Error codes that say "slow down" (Braket's 429). Everything else, a 500
``InternalServiceException`` included, is not a throttle signal."""


@attrs.frozen
class Adaptive:
    """How a bucket reacts to ``ThrottlingException`` (additive increase, multiplicative decrease).

    ``decrease``: the smallest factor a throttle applies to the current rate (the deepest
    cut); a cut is ``max(decrease, 1 - share)`` where ``share`` is the fraction of the
    responses of about the last ``window`` seconds that were throttled. ``floor``: the rate
    never drops below this fraction of the configured one. ``recovery``: fraction of the
    configured rate regained per second after a cut. ``cooldown``: seconds after a cut during
    which further throttles (requests that were already in flight) cut nothing more.
    """

    decrease: float = attrs.field(default=0.7, validator=_interval(0.0, 1.0, open_low=True))
    floor: float = attrs.field(default=0.05, validator=_interval(0.0, 1.0, open_low=True))
    recovery: float = attrs.field(default=0.2, validator=_positive)
    cooldown: float = attrs.field(default=0.5, validator=_interval(0.0, math.inf, open_high=True))
    window: float = attrs.field(default=2.0, validator=_positive)


class BucketParams(Protocol):
    """A bucket's effective parameters (headroom applied), as a shared store must mirror them."""

    @property
    def base_rate(self) -> float: ...
    @property
    def burst(self) -> float: ...
    @property
    def min_rate(self) -> float: ...
    @property
    def recovery(self) -> float: ...


class SharedBuckets(Protocol):
    """One limiter's live connection to buckets shared with other processes."""

    async def acquire(self, operation: str) -> bool:
        """Wait for ``operation``'s turn in the shared buckets. ``False`` (at once, never an
        exception) when the store is unavailable: the caller paces with its local buckets.

        Args:
            operation: The operation about to be sent.

        Returns:
            True when the shared buckets paced the call, False when the store is unavailable.
        """
        ...

    def local_share(self) -> float | None:
        """The fraction of the quota this process paces itself at with its own buckets, or
        ``None`` when the shared buckets alone pace it. Asked after every :meth:`acquire`:
        a float after ``False`` (store out: 1 over the processes that share it), and also
        after ``True`` while the store is being rejoined (the others may still pace
        themselves; the call then waits for both)."""
        ...

    def record_throttle(self, operation: str) -> None:
        """Report a 429 to every process sharing the buckets (in the background).

        Args:
            operation: The operation that was throttled.
        """

    def current_rate(self, operation: str) -> float | None:
        """The shared rate last seen for ``operation``; ``None`` if unknown or unavailable.

        Args:
            operation: The operation's name.

        Returns:
            The rate in requests per second, or ``None``.
        """

    def stats(self) -> dict[str, Any]:
        """A JSON-ready view of the shared side."""
        ...

    async def aclose(self) -> None:
        """Finish background work and close connections."""


class SharedQuota(Protocol):
    """Configuration of a shared bucket store (``RateLimits(shared=...)``), e.g. ``RedisQuota``."""

    def connect(
        self,
        buckets: Mapping[str, BucketParams],
        adaptive: Adaptive | None,
        *,
        clock: Clock,
        sleep: Sleep,
    ) -> SharedBuckets:
        """The live side for one limiter: ``buckets`` by operation name and ``"account"``.
        Must not do I/O (it runs in ``RateLimiter.__init__``, maybe outside an event loop).

        Args:
            buckets: Each bucket's effective parameters, by operation name and ``"account"``.
            adaptive: How rates adapt to throttling (``None``: fixed rates).
            clock: The limiter's monotonic clock.
            sleep: The limiter's sleep.

        Returns:
            The limiter's connection to the shared buckets.
        """
        ...


@attrs.frozen
class RateLimits:
    """Per-operation and account-wide rates; ``None`` account means no account-wide bucket.

    ``enabled=False`` turns client-side limiting off. ``adaptive=None`` keeps the rates fixed.
    ``rate_headroom`` / ``burst_headroom`` are the fractions of each rate / burst the client
    leaves unused (at least one token of a burst above 1), to absorb network jitter.
    ``shared`` puts the buckets in a store shared by every process of the account and region
    (e.g. :class:`~braket_async.ratelimit_redis.RedisQuota`); the local ones are the fallback.
    """

    account: Rate | None = None
    operations: Mapping[str, Rate] = attrs.field(factory=dict)
    enabled: bool = True
    adaptive: Adaptive | None = attrs.field(factory=Adaptive)
    rate_headroom: float = attrs.field(default=0.02, validator=_interval(0.0, 1.0, open_high=True))
    burst_headroom: float = attrs.field(default=0.05, validator=_interval(0.0, 1.0, open_high=True))
    shared: SharedQuota | None = None

    @operations.validator
    def _check_operations(self, attribute: attrs.Attribute[Any], value: Mapping[str, Rate]) -> None:
        for name, rate in value.items():
            _check_operation_name(name)
            if not isinstance(rate, Rate):
                raise TypeError(f"RateLimits.operations[{name!r}] must be a Rate, got {rate!r}")

    @classmethod
    def aws_defaults(
        cls, scale: float = 1.0, *, shared: SharedQuota | None = None, **overrides: Rate | None
    ) -> RateLimits:
        """The AWS default quotas, rates and bursts multiplied by ``scale``.

        ``overrides`` (unscaled) replace a quota, e.g. a raised one:
        ``RateLimits.aws_defaults(CreateQuantumTask=Rate(40, 80), account=Rate(280, 1200))``;
        ``None`` removes a bucket. ``shared``: see :class:`RateLimits`.

        Args:
            scale: The factor applied to every default rate and burst (> 0).
            shared: A shared bucket store (see :class:`RateLimits`).
            **overrides: Unscaled rates by operation name (or ``account``); ``None`` removes a
                bucket.

        Returns:
            The limits.

        Raises:
            TypeError: An override is neither a ``Rate`` nor ``None``.
        """
        operations: dict[str, Rate] = {op: r.scaled(scale) for op, r in AWS_DEFAULT_RATES.items()}
        account: Rate | None = AWS_ACCOUNT_RATE.scaled(scale)
        for name, rate in overrides.items():
            if rate is not None and not isinstance(rate, Rate):
                raise TypeError(f"override {name}= must be a Rate or None, got {rate!r}")
            if name == "account":
                account = rate
                continue
            _check_operation_name(name)
            if rate is None:
                operations.pop(name, None)
            else:
                operations[name] = rate
        return cls(account=account, operations=operations, shared=shared)

    @classmethod
    def off(cls) -> RateLimits:
        """No client-side rate limiting."""
        return cls(enabled=False)


def _check_operation_name(name: str) -> None:
    if name not in BRAKET_OPERATIONS:
        raise ValueError(
            f"unknown Braket operation {name!r} in rate limits: expected one of "
            f"{sorted(BRAKET_OPERATIONS)} (or 'account')"
        )


#: Float refills land a hair under a whole token; waiting 1e-17 s for the rest would spin.
_ALMOST_ONE = 1.0 - 1e-9
#: A 429 gives its call's tokens back while at most this share of the recent responses
#: were throttled (an isolated refusal); above it the service's bucket is taken as empty.
_REFUND_SHARE = 0.25


class _Bucket:
    """One token bucket plus its FIFO queue of waiters (futures; only the head sleeps)."""

    __slots__ = (
        "acquired",
        "base_rate",
        "burst",
        "cut_at",
        "cut_rate",
        "delayed",
        "min_rate",
        "name",
        "rate",
        "recovery",
        "refunded",
        "seen",
        "seen_at",
        "seen_throttled",
        "share",
        "stamp",
        "throttles",
        "tokens",
        "waiters",
    )

    def __init__(self, name: str, rate: Rate, limits: RateLimits, now: float) -> None:
        self.name = name
        self.base_rate = rate.per_second * (1.0 - limits.rate_headroom)
        spare = math.ceil(rate.burst * limits.burst_headroom) if rate.burst > 1 else 0
        self.burst = float(max(1, rate.burst - spare))
        self.rate = self.base_rate
        adaptive = limits.adaptive
        self.min_rate = self.base_rate * adaptive.floor if adaptive else self.base_rate
        self.recovery = self.base_rate * adaptive.recovery if adaptive else 0.0
        self.tokens = self.burst  # the service's buckets start full too
        self.stamp = now
        #: The fraction of the rate and burst this process may use (1 unless the quota is
        #: shared with other processes and the store that shares it is out of reach).
        self.share = 1.0
        self.cut_at = -math.inf
        self.cut_rate = self.base_rate
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.acquired = 0
        self.refunded = 0
        self.delayed = 0
        self.throttles = 0
        # Responses and throttled responses, decayed with time (exp(-t / window)).
        self.seen = 0.0
        self.seen_throttled = 0.0
        self.seen_at = now

    def observe(self, now: float, throttled: bool, window: float) -> None:
        """Count one response of the service (throttled or not) in the recent share."""
        decay = math.exp(-max(0.0, now - self.seen_at) / window)
        self.seen = self.seen * decay + 1.0
        self.seen_throttled = self.seen_throttled * decay + (1.0 if throttled else 0.0)
        self.seen_at = now

    def _refill(self, now: float) -> None:
        elapsed = now - self.stamp
        if elapsed <= 0:
            return
        rate = self.rate
        if rate < self.base_rate:
            # Linear recovery since the last cut: refill with the mean rate over the interval.
            new_rate = min(self.base_rate, self.cut_rate + self.recovery * (now - self.cut_at))
            rate = (rate + new_rate) / 2
            self.rate = new_rate
        tokens = self.tokens + elapsed * rate * self.share
        cap = self.capacity
        self.tokens = tokens if tokens < cap else cap
        self.stamp = now

    @property
    def capacity(self) -> float:
        """The burst this process may use: its share of the bucket, at least one token."""
        return self.burst if self.share >= 1.0 else max(1.0, self.burst * self.share)

    def set_share(self, share: float, now: float, *, idle_since: float | None) -> None:
        """Pace at ``share`` of the quota from now on. Coming from the shared buckets
        (``idle_since``: when the last call they paced was sent), the service's bucket holds
        only what it regained since, and only this share of it is this process's: the
        local bucket starts from that, never from a full burst."""
        self._refill(now)
        if idle_since is not None:
            regained = self.base_rate * share * max(0.0, now - idle_since)
            self.tokens = min(self.tokens, regained)
        self.share = share
        self.tokens = min(self.tokens, self.capacity)

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self._refill(now)
        if self.tokens >= _ALMOST_ONE:
            self.tokens -= 1.0
            self.acquired += 1
            return 0.0
        return (1.0 - self.tokens) / (self.rate * self.share)

    def give_back(self, now: float) -> None:
        """Return a token taken for a call that was then never sent."""
        self._refill(now)
        self.tokens = min(self.burst, self.tokens + 1.0)
        self.acquired -= 1

    def refund(self, now: float) -> bool:
        """Give back the token of a call the service refused (429), unless recent throttling
        says the service's bucket is empty. True when it was given back."""
        if self.seen_throttled > _REFUND_SHARE * self.seen:
            return False
        self.give_token(now)
        return True

    def give_token(self, now: float) -> None:
        """One token back, up to the capacity (the call is not un-counted in ``acquired``)."""
        self._refill(now)
        self.tokens = min(self.capacity, self.tokens + 1.0)
        self.refunded += 1

    def cut(self, now: float, adaptive: Adaptive) -> bool:
        """React to a throttle: lower the rate by the recent throttled share (at most to
        ``decrease`` times it) and drain the bucket by that share (all of it when every
        recent response was throttled: the service's bucket is empty). False if in
        cooldown."""
        self.throttles += 1
        self.observe(now, True, adaptive.window)
        if now - self.cut_at < adaptive.cooldown:
            return False
        self._refill(now)
        share = self.seen_throttled / self.seen
        self.rate = max(self.min_rate, self.rate * max(adaptive.decrease, 1.0 - share))
        self.cut_rate = self.rate
        self.cut_at = now
        # (a token debt stays as it is)
        self.tokens = min(self.tokens, self.tokens * (1.0 - share))
        return True

    def snapshot(self) -> dict[str, Any]:
        return {
            "rate": self.rate * self.share,
            "configured_rate": self.base_rate,
            "share": self.share,
            "burst": self.burst,
            "tokens": self.tokens,
            "waiting": len(self.waiters),
            "acquired": self.acquired,
            "refunded": self.refunded,
            "delayed": self.delayed,
            "throttles": self.throttles,
        }


class RateLimiter:
    """The token buckets of one session: ``await acquire(op)`` before every call.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock. Safe to share by any
    number of coroutines of one event loop.

    Args:
        limits: The rates to enforce.
        clock: The monotonic clock of the buckets.
        sleep: The sleep of a call that waits for its turn.
    """

    def __init__(
        self, limits: RateLimits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._enabled = limits.enabled
        now = clock()
        self._buckets: dict[str, _Bucket] = {
            op: _Bucket(op, rate, limits, now) for op, rate in limits.operations.items()
        }
        self._account = _Bucket("account", limits.account, limits, now) if limits.account else None
        self._adaptive = limits.adaptive
        self._shared: SharedBuckets | None = None
        #: The share of the quota the local buckets pace at (None: the shared ones pace),
        #: and when a call was last paced by the shared buckets alone.
        self._local_share: float | None = None
        self._shared_sent_at = -math.inf
        if self._enabled and limits.shared is not None:
            params: dict[str, BucketParams] = dict(self._buckets)
            if self._account is not None:
                params["account"] = self._account
            self._shared = limits.shared.connect(params, limits.adaptive, clock=clock, sleep=sleep)

    @property
    def enabled(self) -> bool:
        """Whether any limiting happens."""
        return self._enabled

    async def acquire(self, operation: str) -> None:
        """Wait until ``operation`` may be sent (FIFO among callers of the same bucket).

        Args:
            operation: The operation about to be sent (its bucket, and the account's).
        """
        if not self._enabled:
            return
        shared = self._shared
        if shared is not None:
            paced = await shared.acquire(operation)
            share = shared.local_share()
            if share is None and paced:
                if self._local_share is not None:
                    self._pace_locally(None)
                self._shared_sent_at = self._clock()
                return
            # The store is out (or being rejoined): this process's share of the quota.
            self._pace_locally(1.0 if share is None else share)
        bucket = self._buckets.get(operation)
        if bucket is not None and (bucket.waiters or bucket.take(self._clock()) > 0.0):
            await self._wait_turn(bucket)
        account = self._account
        if account is not None and (account.waiters or account.take(self._clock()) > 0.0):
            try:
                await self._wait_turn(account)
            except BaseException:
                # Cancelled while queued for the account: the call is never sent.
                if bucket is not None:
                    bucket.give_back(self._clock())
                raise

    def _pace_locally(self, share: float | None) -> None:
        """Switch the local buckets to ``share`` of the quota (None: back to the shared
        buckets; the local ones then rest at their full size until the next outage)."""
        if share == self._local_share:
            return
        now = self._clock()
        # entering local pacing: start from what the service regained since the shared
        # buckets last let a call out
        idle_since = self._shared_sent_at if self._local_share is None else None
        for bucket in self._all_buckets():
            bucket.set_share(1.0 if share is None else share, now, idle_since=idle_since)
        self._local_share = share

    def _all_buckets(self) -> list[_Bucket]:
        buckets = list(self._buckets.values())
        if self._account is not None:
            buckets.append(self._account)
        return buckets

    async def _wait_turn(self, bucket: _Bucket) -> None:
        bucket.delayed += 1
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = bucket.waiters
        waiters.append(waiter)
        try:
            if len(waiters) > 1:
                await waiter  # the caller ahead hands over the head position
            while True:
                delay = bucket.take(self._clock())
                if delay <= 0.0:
                    return
                await self._sleep(delay)
        finally:
            if waiters and waiters[0] is waiter:
                waiters.popleft()
                if waiters:
                    head = waiters[0]
                    if not head.done():
                        head.set_result(None)
            else:
                waiters.remove(waiter)  # cancelled while queued: rare, O(queue)

    def record_throttle(self, operation: str) -> None:
        """The service answered 429 ``ThrottlingException`` to ``operation``: slow its bucket
        down (the deeper, the larger the recent share of throttled responses).

        The operation's own bucket is cut when it has one (the likely culprit); otherwise
        the account-wide bucket.

        Args:
            operation: The operation that was throttled.
        """
        self.record_response(operation, throttled=True)

    def record_response(self, operation: str, *, throttled: bool) -> None:
        """The service answered ``operation`` (any status). Only ``throttled`` answers (429
        ``ThrottlingException``) cut the rate; the others (2xx, 4xx, 5xx) count in the share
        of recent responses that sets the size of a cut. A dropped connection is no answer:
        do not report it. An isolated throttled answer gives back the tokens its call took
        (the service took none); persistent throttling gives nothing back.

        Args:
            operation: The operation answered.
            throttled: Whether the answer was a 429 ``ThrottlingException``.
        """
        adaptive = self._adaptive
        if not self._enabled or adaptive is None:
            return
        if self._shared is not None and throttled:
            self._shared.record_throttle(operation)
        bucket = self._buckets.get(operation) or self._account
        if bucket is None:
            return
        if not throttled:
            bucket.observe(self._clock(), False, adaptive.window)
            return
        now = self._clock()
        bucket.cut(now, adaptive)
        if self._shared is not None and self._local_share is None:
            return  # the shared buckets paced the call: the local ones took nothing
        account = self._account
        if bucket.refund(now) and account is not None and account is not bucket:
            account.give_token(now)  # the service's account bucket took nothing either

    def current_rate(self, operation: str) -> float | None:
        """The rate (requests/s) the client currently allows ``operation``; None if unlimited.

        Args:
            operation: The operation's name.

        Returns:
            The rate in requests per second, or ``None``.
        """
        if not self._enabled:
            return None
        shared = self._shared.current_rate(operation) if self._shared is not None else None
        if shared is not None and self._local_share is None:
            return shared
        bucket = self._buckets.get(operation)
        account = self._account
        now = self._clock()
        rates = [] if shared is None else [shared]
        for b in (bucket, account):
            if b is not None:
                b._refill(now)
                rates.append(b.rate * b.share)
        return min(rates) if rates else None

    def stats(self) -> dict[str, Any]:
        """A JSON-ready view: per bucket (operations and ``"account"``) the current rate,
        tokens, queue length, calls acquired, calls that had to wait and throttles seen."""
        out: dict[str, Any] = {"enabled": self._enabled, "buckets": {}}
        now = self._clock()
        for b in self._all_buckets():
            b._refill(now)
            out["buckets"][b.name] = b.snapshot()
        if self._shared is not None:
            out["shared"] = self._shared.stats()
        return out

    async def aclose(self) -> None:
        """Release what a shared store holds (connections, background reports); idempotent.
        ``BraketSession.close`` calls it."""
        if self._shared is not None:
            await self._shared.aclose()


def observe_throttles(events: Any, limiter: RateLimiter, service: str = "braket") -> None:
    """Tell ``limiter`` about every throttled attempt, including those botocore retries itself.

    botocore retries a 429 inside one client call, so the caller only sees the last attempt.
    Registering this on an (aio)botocore client's ``meta.events`` lets the limiter adapt on
    the first one. Pass ``client.meta.events``.

    Args:
        events: The client's ``meta.events``.
        limiter: The limiter to tell.
        service: The botocore service name whose responses to watch.
    """

    def on_response(
        parsed_response: Mapping[str, Any] | None = None, context: Any = None, **kwargs: Any
    ) -> None:
        if parsed_response is None:
            return  # no answer (a dropped connection, a timeout): no signal about the rate
        error = parsed_response.get("Error")
        operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        throttled = isinstance(error, Mapping) and error.get("Code") in THROTTLE_CODES
        limiter.record_response(operation, throttled=throttled)

    events.register(f"response-received.{service}", on_response)


_ATTEMPT = re.compile(r"(?:^|;)\s*attempt=(\d+)")


def pace_retries(events: Any, limiter: RateLimiter, service: str = "braket") -> None:
    """Make botocore's own retries of a call take a token of ``limiter`` too.

    The caller acquires once per call; botocore may then send the call up to
    ``max_attempts`` times (after a 5xx, a 429 or a dropped connection). Without this those
    retries bypass the buckets and, at full speed, push the client past the service's quota
    (and into real 429s). The attempt number is read from botocore's ``amz-sdk-request``
    header (``attempt=N; max=M``). Pass an aiobotocore client's ``meta.events``.

    Args:
        events: The client's ``meta.events``.
        limiter: The limiter the retries take their tokens from.
        service: The botocore service name whose requests to pace.
    """

    async def before_send(request: Any = None, **kwargs: Any) -> None:
        if request is None:
            return
        header = request.headers.get("amz-sdk-request")
        if isinstance(header, bytes):
            header = header.decode("ascii", "replace")
        match = _ATTEMPT.search(header) if isinstance(header, str) else None
        if match is None or int(match.group(1)) < 2:
            return  # the first attempt took its token in the caller
        operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        await limiter.acquire(operation)

    events.register(f"before-send.{service}", before_send)
