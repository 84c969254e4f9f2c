"""Quotas shared through a real Redis (braket_async.ratelimit_redis): each test's own
``redis-server`` on a free port, several limiters standing for several processes."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from _common import FakeClock
from _redis import RedisServer, free_port, redis_server_binary, running_redis

from braket_async import BraketSession, Rate, RateLimiter, RateLimits
from braket_async.local import Quotas
from braket_async.ratelimit import Adaptive
from braket_async.ratelimit_redis import RedisQuota

LOGGER = "braket_async.ratelimit_redis"
OP = "CreateQuantumTask"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server of the test's own, which it may stop, freeze and restart."""
    with running_redis() as server:
        yield server


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def key() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll ``check`` until it holds (background work lands in Redis), at most ``within`` s."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within}s")
        await asyncio.sleep(0.01)


async def close_all(limiters: list[RateLimiter]) -> None:
    for limiter in limiters:
        await limiter.aclose()


async def hammer(
    limiters: list[RateLimiter], concurrency: list[int], seconds: float
) -> tuple[list[int], float]:
    """Each limiter ("process") runs ``concurrency[i]`` callers acquiring ``OP`` for
    ``seconds``; returns the acquisitions completed by then, per limiter, and the time taken."""
    counts = [0] * len(limiters)
    start = time.monotonic()
    deadline = start + seconds

    async def caller(i: int) -> None:
        while True:
            await limiters[i].acquire(OP)
            if time.monotonic() > deadline:
                return
            counts[i] += 1

    async with asyncio.timeout(seconds + 30):
        await asyncio.gather(*(caller(i) for i, n in enumerate(concurrency) for _ in range(n)))
    return counts, time.monotonic() - start


# -- configuration ---------------------------------------------------------------------------


def test_redis_quota_checks_its_fields_and_hides_the_password() -> None:
    with pytest.raises(ValueError, match=r"RedisQuota\.url must be a redis://"):
        RedisQuota("http://localhost:6379", key="k")
    with pytest.raises(ValueError, match=r"RedisQuota\.key must be a non-empty string"):
        RedisQuota("redis://localhost", key="")
    with pytest.raises(ValueError, match=r"RedisQuota\.key must not contain braces"):
        RedisQuota("redis://localhost", key="a{b}")
    with pytest.raises(ValueError, match=r"RedisQuota\.timeout must be a finite number > 0"):
        RedisQuota("redis://localhost", key="k", timeout=0)
    with pytest.raises(ValueError, match=r"RedisQuota\.retry_interval must be a finite"):
        RedisQuota("redis://localhost", key="k", retry_interval=float("inf"))
    quota = RedisQuota("redis://user:s3cret@redis.internal:6379/0", key="1234:us-east-1")
    assert "s3cret" not in repr(RateLimits.aws_defaults(shared=quota))
    assert quota.bucket_key(OP) == "braket-async:{1234:us-east-1}:CreateQuantumTask"


def test_aws_defaults_take_the_shared_store() -> None:
    quota = RedisQuota("redis://localhost", key="k")
    limits = RateLimits.aws_defaults(scale=2, shared=quota, CreateJob=Rate(3, 6))
    assert limits.shared is quota
    assert limits.operations["CreateJob"] == Rate(3, 6)
    assert RateLimits.aws_defaults().shared is None


# -- sharing ---------------------------------------------------------------------------------


async def test_limiters_sharing_a_key_stay_within_one_quota_together(
    redis_server: RedisServer, key: str, redis_client: aioredis.Redis
) -> None:
    limits = RateLimits(
        operations={OP: Rate(40, 4)}, account=Rate(1000, 1000),
        shared=RedisQuota(redis_server.url, key=key),
    )  # fmt: skip
    limiters = [RateLimiter(limits) for _ in range(3)]
    try:
        counts, elapsed = await hammer(limiters, [4, 4, 4], seconds=1.0)
    finally:
        await close_all(limiters)
    # one bucket for the three (headroom: 39.2/s, burst 3); three separate ones would let
    # about three times as many through
    assert sum(counts) <= 3 + 39.2 * elapsed + 1, counts
    assert all(limiter.stats()["shared"]["fallbacks"] == 0 for limiter in limiters)
    # one key per operation and the account-wide bucket, both in Redis
    assert await redis_client.exists(f"braket-async:{{{key}}}:{OP}") == 1
    assert await redis_client.exists(f"braket-async:{{{key}}}:account") == 1
    assert await redis_client.pttl(f"braket-async:{{{key}}}:{OP}") > 0


async def test_no_process_is_starved_whatever_its_concurrency(
    redis_server: RedisServer, key: str
) -> None:
    limits = RateLimits(operations={OP: Rate(40, 2)}, shared=RedisQuota(redis_server.url, key=key))
    limiters = [RateLimiter(limits) for _ in range(4)]
    try:
        counts, _ = await hammer(limiters, [1, 4, 16, 32], seconds=2.0)
    finally:
        await close_all(limiters)
    equal = sum(counts) / len(counts)
    shares = [c / equal for c in counts]
    assert all(0.5 <= s <= 2.0 for s in shares), (counts, shares)


async def test_a_throttle_seen_by_one_limiter_slows_all_and_all_recover(
    redis_server: RedisServer, key: str, redis_client: aioredis.Redis
) -> None:
    adaptive = Adaptive(decrease=0.5, recovery=1.0, cooldown=5.0)
    limits = RateLimits(
        operations={OP: Rate(100, 100)}, adaptive=adaptive,
        shared=RedisQuota(redis_server.url, key=key),
    )  # fmt: skip
    a, b, c = (RateLimiter(limits) for _ in range(3))
    try:
        await b.acquire(OP)
        assert b.current_rate(OP) == pytest.approx(98.0)
        a.record_throttle(OP)
        c.record_throttle(OP)  # within the cooldown: the same episode, no second cut

        async def b_slowed() -> bool:  # the cut reaches Redis in the background
            await b.acquire(OP)
            return (b.current_rate(OP) or 98.0) < 90.0

        await until(b_slowed)
        assert 49.0 <= (b.current_rate(OP) or 0.0) < 60.0  # halved once, then recovering
        assert await redis_client.hget(f"braket-async:{{{key}}}:{OP}", "n") == "2"

        async def all_recovered() -> bool:  # recovery runs on Redis's clock, shared too
            await c.acquire(OP)
            await b.acquire(OP)
            return b.current_rate(OP) == c.current_rate(OP) == pytest.approx(98.0)

        await until(all_recovered)
    finally:
        await close_all([a, b, c])


async def test_only_throttled_answers_cut_the_shared_rate(
    redis_server: RedisServer, key: str, redis_client: aioredis.Redis
) -> None:
    limits = RateLimits(
        operations={OP: Rate(100, 100)}, adaptive=Adaptive(decrease=0.5, cooldown=5.0),
        shared=RedisQuota(redis_server.url, key=key),
    )  # fmt: skip
    limiter = RateLimiter(limits)
    try:
        await limiter.acquire(OP)
        for _ in range(20):  # answers that were not throttled: nothing to tell the others
            limiter.record_response(OP, throttled=False)
        assert limiter.stats()["shared"]["throttles"] == 0
        limiter.record_response(OP, throttled=True)
        assert limiter.stats()["shared"]["throttles"] == 1

        async def cut_landed() -> bool:
            return await redis_client.hget(f"braket-async:{{{key}}}:{OP}", "n") is not None

        await until(cut_landed)
        assert await redis_client.hget(f"braket-async:{{{key}}}:{OP}", "n") == "1"
    finally:
        await limiter.aclose()


async def test_a_cancelled_caller_gives_its_reserved_token_back(
    redis_server: RedisServer, key: str, redis_client: aioredis.Redis
) -> None:
    limits = RateLimits(operations={OP: Rate(0.5, 1)}, shared=RedisQuota(redis_server.url, key=key))
    limiter = RateLimiter(limits)
    bucket = f"braket-async:{{{key}}}:{OP}"
    try:
        await limiter.acquire(OP)  # the one token
        waiter = asyncio.create_task(limiter.acquire(OP))  # reserves the next (2 s away)

        async def tokens() -> float:
            return float(await redis_client.hget(bucket, "t") or 0.0)

        async def reserved() -> bool:
            return await tokens() < -0.5

        async def given_back() -> bool:
            return await tokens() > -0.5

        await until(reserved)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await until(given_back)
    finally:
        await limiter.aclose()


async def test_sessions_sharing_redis_are_not_throttled_by_the_service(
    make_local: Callable[..., Awaitable[Any]], redis_server: RedisServer, key: str
) -> None:
    """Two sessions ("processes") against one service with a small GetDevice quota (10/s,
    burst 5): shared client limits (8/s, burst 3: margin for a loaded machine's jitter) keep
    both inside it; each session's own limits alone do not."""
    local = await make_local(quotas=Quotas.aws_defaults(overrides={"GetDevice": (10, 5)}))
    device = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"

    async def run(shared: RedisQuota | None) -> int:
        local.ledger.reset()
        limits = RateLimits.aws_defaults(GetDevice=Rate(8, 3), shared=shared)
        sessions = [
            BraketSession(
                endpoint_url=local.endpoint_url, region_name="us-east-1", rate_limits=limits,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
            for _ in range(2)
        ]  # fmt: skip
        for session in sessions:
            await session.open()
        try:
            await asyncio.gather(
                *(s.get_device(device) for s in sessions for _ in range(12))
            )
        finally:
            for session in sessions:
                await session.close()
        throttled: int = local.ledger.snapshot()["throttled"].get("GetDevice", 0)
        return throttled

    assert await run(RedisQuota(redis_server.url, key=key)) == 0
    assert await run(None) > 0


# -- failures --------------------------------------------------------------------------------


async def test_redis_down_falls_back_to_local_limits_warns_once_and_comes_back(
    own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    time_ = ClockSleep(1000.0)  # its sleep moves the clock: local pacing waits a little
    clock = time_.clock
    quota = RedisQuota(own_redis.url, key=key, timeout=1.0, retry_interval=30.0)
    limiter = RateLimiter(RateLimits.aws_defaults(shared=quota), clock=clock, sleep=time_.sleep)
    op = "GetQuantumTask"
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    def shared() -> dict[str, Any]:
        stats: dict[str, Any] = limiter.stats()["shared"]
        return stats

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]

    try:
        await limiter.acquire(op)
        assert shared()["acquired"] == 1 and shared()["available"]

        await asyncio.to_thread(own_redis.stop)
        async with asyncio.timeout(10):  # never hangs, never raises
            for _ in range(5):
                await limiter.acquire(op)
        assert not shared()["available"]
        assert shared()["fallbacks"] == 5 and shared()["failures"] == 1
        assert limiter.stats()["buckets"][op]["acquired"] == 5  # paced locally meanwhile
        assert len(warnings()) == 1
        assert "unavailable" in warnings()[0].getMessage()

        clock.now += 31.0  # retry due: a probe in the background, still down, no warning
        await limiter.acquire(op)
        await until(lambda: asyncio.sleep(0, shared()["failures"] == 2))
        assert len(warnings()) == 1

        await asyncio.to_thread(own_redis.start)
        await limiter.acquire(op)  # the retry is not due yet: still local
        await asyncio.sleep(0.2)
        assert shared()["acquired"] == 1 and shared()["failures"] == 2
        clock.now += 31.0
        await limiter.acquire(op)  # paced locally; the probe finds Redis back
        await until(lambda: asyncio.sleep(0, shared()["available"]))
        await limiter.acquire(op)
        assert shared()["acquired"] == 2
        assert limiter.current_rate(op) == pytest.approx(98.0)
        assert any("is back" in r.getMessage() for r in caplog.records if r.name == LOGGER)
        assert len(warnings()) == 1
    finally:
        await limiter.aclose()


async def test_a_redis_that_does_not_answer_costs_at_most_the_timeout(
    own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    quota = RedisQuota(own_redis.url, key=key, timeout=0.3)
    limiter = RateLimiter(RateLimits.aws_defaults(shared=quota))
    try:
        await limiter.acquire(OP)  # connected
        own_redis.freeze()
        try:
            async with asyncio.timeout(10):
                started = time.monotonic()
                await limiter.acquire(OP)
                first = time.monotonic() - started
                started = time.monotonic()
                await limiter.acquire(OP)  # down now: straight to the local buckets
                second = time.monotonic() - started
        finally:
            own_redis.thaw()
        assert first < 5.0 and second < first
        assert limiter.stats()["shared"]["failures"] == 1
        assert sum(r.levelno == logging.WARNING for r in caplog.records if r.name == LOGGER) == 1
    finally:
        await limiter.aclose()


class ClockSleep:
    """An injected clock and a sleep that advances it (the seconds slept are kept)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.clock = FakeClock(start)
        self.slept = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.clock.now += seconds
        await asyncio.sleep(0)


async def test_while_redis_is_out_each_process_paces_at_its_share_from_an_empty_bucket(
    own_redis: RedisServer, key: str
) -> None:
    time_ = ClockSleep()
    quota = RedisQuota(own_redis.url, key=key, timeout=1.0)
    limits = RateLimits(operations={OP: Rate(20, 40)}, account=None, shared=quota)
    limiters = [RateLimiter(limits, clock=time_.clock, sleep=time_.sleep) for _ in range(3)]
    try:
        for limiter in limiters:
            await limiter.acquire(OP)  # each says it shares the key, and learns who does
        assert [lim.stats()["shared"]["processes"] for lim in limiters] == [1, 2, 3]

        await asyncio.to_thread(own_redis.stop)
        last = limiters[2]
        await last.acquire(OP)  # the outage starts
        assert last.stats()["shared"]["local_share"] == pytest.approx(1 / 3)
        assert last.current_rate(OP) == pytest.approx(19.6 / 3)
        # No full burst of its own: the service's bucket was being drained by all three,
        # so 20 calls take 20 tokens at a third of the rate.
        time_.slept = 0.0
        for _ in range(20):
            await last.acquire(OP)
        assert time_.slept == pytest.approx(20 / (19.6 / 3), rel=0.05)
    finally:
        await close_all(limiters)


async def test_back_on_a_restarted_redis_a_process_keeps_to_its_share_and_bursts_nothing(
    own_redis: RedisServer, key: str
) -> None:
    time_ = ClockSleep()
    quota = RedisQuota(own_redis.url, key=key, timeout=0.5, retry_interval=1.0)
    limits = RateLimits(operations={OP: Rate(20, 40)}, account=None, shared=quota)
    a, b = (RateLimiter(limits, clock=time_.clock, sleep=time_.sleep) for _ in range(2))
    client = aioredis.Redis.from_url(own_redis.url, decode_responses=True)

    def shared() -> dict[str, Any]:
        stats: dict[str, Any] = b.stats()["shared"]
        return stats

    try:
        await a.acquire(OP)
        await b.acquire(OP)
        assert shared()["processes"] == 2
        await asyncio.to_thread(own_redis.stop)
        await b.acquire(OP)
        assert shared()["local_share"] == 0.5
        await asyncio.to_thread(own_redis.start)  # empty: no buckets, no processes
        time_.clock.now += 1.5
        await b.acquire(OP)  # the probe is due: it runs in the background
        await until(lambda: asyncio.sleep(0, shared()["available"]))
        # Redis knows only b now, but a may still pace itself: b keeps to half the quota
        # for retry_interval + 2 timeouts, drawing on both its own and the shared buckets.
        assert shared()["processes"] == 1 and shared()["local_share"] == 0.5
        acquired = shared()["acquired"]
        await b.acquire(OP)
        assert shared()["acquired"] == acquired + 1
        # The new shared bucket holds what the service regained since b last paced itself,
        # not a fresh burst of 38.
        tokens = float(await client.hget(quota.bucket_key(OP), "t") or "nan")
        assert tokens < 1.0
        time_.clock.now += 2.5
        await b.acquire(OP)
        assert shared()["local_share"] is None  # the shared buckets alone again
    finally:
        await client.aclose()
        await close_all([a, b])


async def test_expected_processes_sets_the_share_of_a_process_that_never_reached_redis(
    key: str,
) -> None:
    time_ = ClockSleep()
    nowhere = RedisQuota(
        f"redis://127.0.0.1:{free_port()}/0", key=key, timeout=0.5, expected_processes=4
    )
    limiter = RateLimiter(
        RateLimits(operations={OP: Rate(20, 40)}, account=None, shared=nowhere),
        clock=time_.clock,
        sleep=time_.sleep,
    )
    try:
        async with asyncio.timeout(10):
            for _ in range(20):  # the burst it may use is its share of it: 38 / 4
                await limiter.acquire(OP)
        assert limiter.stats()["shared"]["local_share"] == pytest.approx(0.25)
        assert limiter.current_rate(OP) == pytest.approx(19.6 / 4)
        assert time_.slept == pytest.approx((20 - 38 / 4) / (19.6 / 4), rel=0.05)
    finally:
        await limiter.aclose()
    with pytest.raises(ValueError, match=r"RedisQuota\.expected_processes must be None or an int"):
        RedisQuota("redis://localhost", key="k", expected_processes=0)


async def test_a_frozen_redis_is_detected_within_the_timeout_and_paced_at_the_share(
    own_redis: RedisServer, key: str
) -> None:
    quota = RedisQuota(own_redis.url, key=key, timeout=0.3)
    limits = RateLimits(operations={OP: Rate(20, 40)}, account=None, shared=quota)
    a, b = RateLimiter(limits), RateLimiter(limits)
    try:
        await a.acquire(OP)
        await b.acquire(OP)
        assert b.stats()["shared"]["processes"] == 2
        own_redis.freeze()
        try:
            async with asyncio.timeout(10):
                started = time.monotonic()
                await b.acquire(OP)
                detected = time.monotonic() - started
        finally:
            own_redis.thaw()
        assert detected < 3.0  # one timeout (0.3 s), with room for a loaded machine
        assert b.stats()["shared"]["local_share"] == pytest.approx(0.5)
        assert b.current_rate(OP) == pytest.approx(9.8)
    finally:
        await close_all([a, b])


async def test_sessions_stay_inside_the_quota_while_redis_is_stopped_and_restarted(
    make_local: Callable[..., Awaitable[Any]], own_redis: RedisServer, key: str
) -> None:
    """Two sessions ("processes") call GetDevice as fast as their limits allow against a
    service allowing 10/s (burst 5); their shared client limits are 7/s (burst 2: margin for
    a loaded machine). Redis is stopped for 2.5 s in the middle, then started again: each
    session paces at half the quota meanwhile (alone each would send 7/s, 14/s together),
    and both go back to the shared buckets once it answers."""
    local = await make_local(quotas=Quotas.aws_defaults(overrides={"GetDevice": (10, 5)}))
    device = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
    quota = RedisQuota(own_redis.url, key=key, timeout=0.3, retry_interval=0.5)
    limits = RateLimits.aws_defaults(GetDevice=Rate(7, 2), shared=quota)
    sessions = [
        BraketSession(
            endpoint_url=local.endpoint_url, region_name="us-east-1", rate_limits=limits,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        for _ in range(2)
    ]  # fmt: skip
    stop = asyncio.Event()
    during: list[int] = [0]
    outage = asyncio.Event()

    async def caller(session: BraketSession) -> None:
        while not stop.is_set():
            await session.get_device(device)
            if outage.is_set():
                during[0] += 1

    def shared(session: BraketSession) -> dict[str, Any]:
        stats: dict[str, Any] = session.rate_limiter.stats()["shared"]
        return stats

    for session in sessions:
        await session.open()
    try:
        callers = [asyncio.create_task(caller(s)) for s in sessions for _ in range(3)]
        await asyncio.sleep(1.5)
        assert [shared(s)["processes"] for s in sessions] == [2, 2]
        await asyncio.to_thread(own_redis.stop)
        outage.set()
        await asyncio.sleep(2.5)
        outage.clear()
        assert [shared(s)["local_share"] for s in sessions] == [0.5, 0.5]
        await asyncio.to_thread(own_redis.start)
        before = [shared(s)["acquired"] for s in sessions]
        await asyncio.sleep(2.0)
        stop.set()
        async with asyncio.timeout(30):
            await asyncio.gather(*callers)
        assert all(shared(s)["available"] for s in sessions)
        # back on the shared buckets
        assert all(shared(s)["acquired"] > b for s, b in zip(sessions, before, strict=True))
    finally:
        for session in sessions:
            await session.close()
    ledger = local.ledger.snapshot()
    calls, throttled = ledger["calls"]["GetDevice"], ledger["throttled"].get("GetDevice", 0)
    assert during[0] >= 10  # paced through the outage, not stalled
    assert throttled <= 0.05 * calls, (throttled, calls)


async def test_whatever_redis_answers_the_limiter_does_not_raise(
    redis_server: RedisServer, key: str, redis_client: aioredis.Redis
) -> None:
    quota = RedisQuota(redis_server.url, key=key)
    await redis_client.set(quota.bucket_key(OP), "not a hash")  # WRONGTYPE for the script
    limiter = RateLimiter(RateLimits.aws_defaults(shared=quota))
    try:
        await limiter.acquire(OP)
        limiter.record_throttle(OP)
        assert limiter.stats()["shared"]["fallbacks"] == 1
        assert limiter.stats()["buckets"][OP]["acquired"] == 1
    finally:
        await limiter.aclose()


def test_without_redis_server_the_tests_skip_but_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        redis_server_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires it"):
        redis_server_binary()
