"""RateLimiter on a virtual clock: pacing, FIFO, two stages, cancellation, adaptivity."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import attrs
import botocore.session
import pytest
from _common import SV1, raw_client

from braket_async.local.state._quotas import AWS_ACCOUNT_RATE as SERVER_ACCOUNT_RATE
from braket_async.local.state._quotas import AWS_DEFAULT_RATES as SERVER_RATES
from braket_async.local.state._quotas import TokenBucket
from braket_async.ratelimit import (
    AWS_ACCOUNT_RATE,
    AWS_DEFAULT_RATES,
    BRAKET_OPERATIONS,
    Adaptive,
    Rate,
    RateLimiter,
    RateLimits,
    observe_throttles,
    pace_retries,
)

T = TypeVar("T")


class VirtualTime:
    """A fake clock whose ``sleep`` parks the caller until the driver advances time to it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self.sleeping = 0
        self.max_sleeping = 0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._heap, (self.now + max(delay, 0.0), self._seq, fut))
        self.sleeps += 1
        self.sleeping += 1
        self.max_sleeping = max(self.max_sleeping, self.sleeping)
        try:
            await fut
        finally:
            self.sleeping -= 1

    async def _settle(self) -> None:
        for _ in range(10):
            await asyncio.sleep(0)

    async def advance_to(self, when: float) -> None:
        """Run every sleeper due up to ``when``, then set the clock to ``when``."""
        while True:
            await self._settle()
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap or self._heap[0][0] > when:
                break
            at, _, fut = heapq.heappop(self._heap)
            self.now = max(self.now, at)
            fut.set_result(None)
        self.now = max(self.now, when)
        await self._settle()

    async def run(self, aw: Awaitable[T]) -> T:
        """Drive virtual time until ``aw`` is done."""
        task = asyncio.ensure_future(aw)
        while True:
            await self._settle()
            if task.done():
                return task.result()
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap:
                task.cancel()
                raise AssertionError("deadlock: nothing sleeping and the work is not done")
            at, _, fut = heapq.heappop(self._heap)
            self.now = max(self.now, at)
            fut.set_result(None)


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


def limiter(vt: VirtualTime, limits: RateLimits) -> RateLimiter:
    return RateLimiter(limits, clock=vt.clock, sleep=vt.sleep)


async def grant_times(vt: VirtualTime, lim: RateLimiter, ops: list[str]) -> list[float]:
    """Acquire for each op concurrently (in list order); return the virtual grant times."""
    times = [0.0] * len(ops)

    async def one(i: int, op: str) -> None:
        await lim.acquire(op)
        times[i] = vt.now

    await vt.run(asyncio.gather(*(one(i, op) for i, op in enumerate(ops))))
    return times


# --- values ---------------------------------------------------------------------------------


def test_operations_are_the_service_models() -> None:
    model = botocore.session.get_session().get_service_model("braket")
    assert set(model.operation_names) == BRAKET_OPERATIONS


def test_aws_defaults_match_the_local_service_quotas() -> None:
    assert {op: (r.per_second, r.burst) for op, r in AWS_DEFAULT_RATES.items()} == dict(
        SERVER_RATES
    )
    assert (AWS_ACCOUNT_RATE.per_second, AWS_ACCOUNT_RATE.burst) == SERVER_ACCOUNT_RATE


def test_aws_defaults_scale_and_overrides() -> None:
    limits = RateLimits.aws_defaults()
    assert limits.enabled
    assert limits.account == Rate(140, 600)
    assert limits.operations["CreateQuantumTask"] == Rate(20, 40)
    assert limits.operations["SearchQuantumTasks"] == Rate(5, 50)

    half = RateLimits.aws_defaults(scale=0.5)
    assert half.operations["CreateQuantumTask"] == Rate(10, 20)
    assert half.account == Rate(70, 300)
    tiny = RateLimits.aws_defaults(scale=0.01)
    assert tiny.operations["CreateJob"].burst == 1  # never below one token

    raised = RateLimits.aws_defaults(
        scale=0.5, CreateQuantumTask=Rate(40, 80), account=Rate(280, 1200), GetDevice=None
    )
    assert raised.operations["CreateQuantumTask"] == Rate(40, 80)  # overrides are unscaled
    assert raised.account == Rate(280, 1200)
    assert "GetDevice" not in raised.operations


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Rate(0, 1), "Rate.per_second must be a finite number > 0"),
        (lambda: Rate(1, 0), "Rate.burst must be an int >= 1"),
        (lambda: Rate(1, 2.5), "Rate.burst must be an int >= 1"),  # type: ignore[arg-type]
        (lambda: Rate(1, 1).scaled(0), "scale must be > 0"),
        (lambda: RateLimits.aws_defaults(CreateQuantumTasks=Rate(1, 1)), "CreateQuantumTasks"),
        (lambda: RateLimits.aws_defaults(CreateQuantumTask=(1, 1)), "must be a Rate"),  # type: ignore[arg-type]
        (lambda: RateLimits(operations={"Nope": Rate(1, 1)}), "unknown Braket operation 'Nope'"),
        (lambda: Adaptive(decrease=0), "Adaptive.decrease must be in (0.0, 1.0]"),
        (lambda: Adaptive(floor=0), "Adaptive.floor must be in (0.0, 1.0]"),
        (lambda: RateLimits(rate_headroom=1.0), "RateLimits.rate_headroom must be in [0.0, 1.0)"),
    ],
)
def test_bad_values_name_the_field_and_rule(build: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        build()


# --- pacing ---------------------------------------------------------------------------------


async def test_off_never_waits(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits.off())
    assert not lim.enabled
    times = await grant_times(vt, lim, ["CreateQuantumTask"] * 1000)
    assert set(times) == {0.0}
    assert vt.sleeps == 0
    assert lim.current_rate("CreateQuantumTask") is None


def _exact(**options: Any) -> RateLimits:
    """Limits paced at exactly their rates and bursts (no headroom kept back)."""
    return RateLimits(rate_headroom=0.0, burst_headroom=0.0, **options)


async def test_burst_is_immediate_then_paced_at_the_rate(vt: VirtualTime) -> None:
    limits = RateLimits(
        operations={"CreateQuantumTask": Rate(20, 40)}, rate_headroom=0.0, burst_headroom=0.05
    )
    lim = limiter(vt, limits)
    times = await grant_times(vt, lim, ["CreateQuantumTask"] * 100)
    # 5% of the burst (2 tokens) is kept back; the rest goes at once, then one every 1/20 s.
    assert times[:38] == [0.0] * 38
    gaps = [b - a for a, b in itertools.pairwise(times[38:])]
    assert all(g == pytest.approx(1 / 20) for g in gaps)
    assert times[-1] == pytest.approx(62 / 20)


async def test_fifo_and_a_single_sleeper_per_bucket(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits(operations={"CreateQuantumTask": Rate(5, 2)}))
    order: list[int] = []

    async def one(i: int) -> None:
        await lim.acquire("CreateQuantumTask")
        order.append(i)

    await vt.run(asyncio.gather(*(one(i) for i in range(50))))
    assert order == list(range(50))
    assert vt.max_sleeping == 1  # nobody polls: only the head of the queue sleeps


def server_admits_all(arrivals: list[float], rate: float, burst: float) -> int:
    """Replay arrival times through the local service's own bucket; count refusals."""
    now = [0.0]
    bucket = TokenBucket(rate, burst, clock=lambda: now[0])
    refused = 0
    for t in sorted(arrivals):
        now[0] = t
        if bucket.available():
            bucket.take()
        else:
            refused += 1
    return refused


@pytest.mark.parametrize("scale", [1.0, 0.25])
async def test_paced_stream_with_network_jitter_is_never_throttled_by_the_service(
    vt: VirtualTime, scale: float
) -> None:
    limits = RateLimits.aws_defaults(scale=scale)
    lim = limiter(vt, limits)
    times = await grant_times(vt, lim, ["CreateQuantumTask"] * 400)
    rng = random.Random(5)
    # Requests reach the service 10-80 ms after they leave, in any order.
    arrivals = [t + rng.uniform(0.01, 0.08) for t in times]
    create = limits.operations["CreateQuantumTask"]
    assert server_admits_all(arrivals, create.per_second, create.burst) == 0
    # ... and the client does not dawdle: within 3% of the quota-bound ideal.
    ideal = (400 - create.burst) / create.per_second
    assert times[-1] <= ideal * 1.03 + 2 / create.per_second


async def test_account_bucket_limits_operations_without_their_own(vt: VirtualTime) -> None:
    limits = _exact(account=Rate(10, 5))
    lim = limiter(vt, limits)
    times = await grant_times(vt, lim, ["ListTagsForResource", "TagResource"] * 25)
    assert times[:5] == [0.0] * 5
    assert times[-1] == pytest.approx(45 / 10)


async def test_queued_creates_do_not_hold_up_other_operations(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits.aws_defaults())
    granted: dict[str, float] = {}

    async def create(i: int) -> None:
        await lim.acquire("CreateQuantumTask")
        granted[f"c{i}"] = vt.now

    async def get() -> None:
        await asyncio.sleep(0)  # arrive after every create is queued
        await lim.acquire("GetQuantumTask")
        granted["get"] = vt.now

    await vt.run(asyncio.gather(*(create(i) for i in range(300)), get()))
    assert granted["get"] == 0.0
    assert max(granted.values()) > 10  # the creates really were queued for seconds


async def test_both_buckets_apply(vt: VirtualTime) -> None:
    limits = _exact(account=Rate(4, 2), operations={"CreateQuantumTask": Rate(100, 100)})
    lim = limiter(vt, limits)
    times = await grant_times(vt, lim, ["CreateQuantumTask"] * 10)
    assert times[:2] == [0.0, 0.0]
    assert times[-1] == pytest.approx(8 / 4)  # the account bucket is the narrower one


# --- cancellation ---------------------------------------------------------------------------


async def test_cancelled_waiters_take_no_tokens(vt: VirtualTime) -> None:
    limits = _exact(operations={"CreateQuantumTask": Rate(1, 1)})
    lim = limiter(vt, limits)
    await lim.acquire("CreateQuantumTask")  # the only token
    tasks = [asyncio.ensure_future(lim.acquire("CreateQuantumTask")) for _ in range(100)]
    await vt.advance_to(0.0)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(t.cancelled() for t in tasks)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["waiting"] == 0
    # The next call gets the token refilled at t=1, not one after 100 phantom calls.
    times = await grant_times(vt, lim, ["CreateQuantumTask"])
    assert times == [pytest.approx(1.0)]


async def test_cancelled_head_hands_over_to_the_next(vt: VirtualTime) -> None:
    limits = _exact(operations={"CreateQuantumTask": Rate(1, 1)})
    lim = limiter(vt, limits)
    await lim.acquire("CreateQuantumTask")
    head = asyncio.ensure_future(lim.acquire("CreateQuantumTask"))
    second = asyncio.ensure_future(lim.acquire("CreateQuantumTask"))
    await vt.advance_to(0.5)
    head.cancel()
    await vt.run(second)
    assert vt.now == pytest.approx(1.0)
    assert head.cancelled()


async def test_cancel_while_waiting_for_the_account_returns_the_operation_token(
    vt: VirtualTime,
) -> None:
    limits = _exact(account=Rate(1, 1), operations={"CreateQuantumTask": Rate(1, 3)})
    lim = limiter(vt, limits)
    await lim.acquire("GetQuantumTask")  # empties the account bucket
    waiting = asyncio.ensure_future(lim.acquire("CreateQuantumTask"))
    await vt.advance_to(0.1)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["tokens"] == pytest.approx(2.1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["tokens"] == pytest.approx(3.0)


# --- adaptivity -----------------------------------------------------------------------------


def test_throttle_cuts_the_rate_once_per_episode_and_recovers(vt: VirtualTime) -> None:
    limits = RateLimits(
        operations={"CreateQuantumTask": Rate(20, 40)},
        adaptive=Adaptive(decrease=0.5, floor=0.2, recovery=0.1, cooldown=1.0),
        rate_headroom=0.0,
    )
    lim = limiter(vt, limits)
    assert lim.current_rate("CreateQuantumTask") == 20
    lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(10)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["tokens"] <= 0  # no burst after a 429
    lim.record_throttle("CreateQuantumTask")  # in flight before the cut: same episode
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(10)
    vt.now = 1.5  # recovering at +2/s (10% of 20 per second): 13, then halved
    lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(6.5)
    vt.now = 2.5
    lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(4.25)
    vt.now = 3.5
    lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(4)  # floor: 20% of 20
    vt.now = 4.5
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(6)
    vt.now = 20.0
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(20)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["throttles"] == 5


async def test_paced_after_a_throttle(vt: VirtualTime) -> None:
    limits = _exact(
        operations={"CreateQuantumTask": Rate(10, 10)},
        adaptive=Adaptive(decrease=0.5, recovery=0.001),
    )
    lim = limiter(vt, limits)
    lim.record_throttle("CreateQuantumTask")
    times = await grant_times(vt, lim, ["CreateQuantumTask"] * 5)
    assert times[-1] == pytest.approx(1.0, rel=0.01)  # 5 calls at ~5/s, no burst


def test_throttle_without_own_bucket_cuts_the_account(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits.aws_defaults())
    lim.record_throttle("TagResource")
    assert lim.stats()["buckets"]["account"]["throttles"] == 1
    assert lim.current_rate("TagResource") == pytest.approx(140 * 0.98 * 0.7)
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(20 * 0.98)


def test_fixed_rates_ignore_throttles(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits(operations={"GetJob": Rate(5, 25)}, adaptive=None))
    lim.record_throttle("GetJob")
    assert lim.current_rate("GetJob") == pytest.approx(5 * 0.98)
    RateLimiter(RateLimits.off()).record_throttle("GetJob")  # a no-op, not an error


def test_observe_throttles_reads_every_attempt(vt: VirtualTime) -> None:
    lim = limiter(vt, RateLimits.aws_defaults())
    handlers: list[Any] = []

    class Events:
        def register(self, name: str, handler: Any) -> None:
            assert name == "response-received.braket"
            handlers.append(handler)

    observe_throttles(Events(), lim)
    (handler,) = handlers
    event = "response-received.braket.CreateQuantumTask"
    handler(parsed_response={"quantumTaskArn": "x"}, event_name=event)
    handler(parsed_response=None, exception=OSError(), event_name=event)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["throttles"] == 0
    handler(parsed_response={"Error": {"Code": "ThrottlingException"}}, event_name=event)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["throttles"] == 1


async def test_observe_throttles_on_a_real_client(make_local: Any) -> None:
    from aiobotocore.config import AioConfig

    from braket_async.local import FaultConfig, FaultSpec

    local = await make_local(
        faults=FaultConfig(per_operation={"GetDevice": FaultSpec(throttle=1.0)})
    )
    lim = RateLimiter(attrs.evolve(RateLimits.aws_defaults(), adaptive=Adaptive(cooldown=0.0)))
    config = AioConfig(retries={"mode": "standard", "total_max_attempts": 3})
    async with raw_client("braket", local.endpoint_url, config=config) as client:
        observe_throttles(client.meta.events, lim)
        with pytest.raises(client.exceptions.ThrottlingException):
            await client.get_device(deviceArn=SV1)
    # botocore made three attempts; the limiter heard of each, not only the last.
    assert lim.stats()["buckets"]["GetDevice"]["throttles"] == 3
    assert local.ledger.snapshot()["calls"]["GetDevice"] == 3


# --- what adapts the rate, and by how much ---------------------------------------------------


def test_an_isolated_throttle_cuts_by_the_throttled_share(vt: VirtualTime) -> None:
    limits = _exact(
        operations={"CreateQuantumTask": Rate(20, 40)}, adaptive=Adaptive(decrease=0.5, window=2.0)
    )
    lim = limiter(vt, limits)
    for _ in range(19):  # 19 answers in the same instant, then one 429: 1 in 20
        lim.record_response("CreateQuantumTask", throttled=False)
    lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(20 * 0.95)
    # drained by the share, then the refused call's token given back
    assert lim.stats()["buckets"]["CreateQuantumTask"]["tokens"] == pytest.approx(40 * 0.95 + 1)


async def test_an_isolated_throttle_gives_the_refused_calls_tokens_back(vt: VirtualTime) -> None:
    """The service took no token for a call it answered 429: after 19 answers and one 429
    in a paced stream, the retry goes out at once instead of a token interval later."""
    limits = _exact(
        operations={"CreateQuantumTask": Rate(10, 2)}, account=Rate(100, 2), adaptive=Adaptive()
    )
    lim = limiter(vt, limits)
    await grant_times(vt, lim, ["CreateQuantumTask"] * 2)  # the burst and the account's
    for _ in range(19):
        lim.record_response("CreateQuantumTask", throttled=False)
    lim.record_throttle("CreateQuantumTask")
    buckets = lim.stats()["buckets"]
    assert buckets["CreateQuantumTask"]["refunded"] == buckets["account"]["refunded"] == 1
    assert buckets["CreateQuantumTask"]["acquired"] == 2  # still counted as sent
    assert await grant_times(vt, lim, ["CreateQuantumTask"]) == [0.0]


def test_persistent_throttling_gives_nothing_back(vt: VirtualTime) -> None:
    """Most recent answers 429: the service's bucket is empty, the refused calls' tokens
    stay spent (a retry per 429 at once would keep it empty)."""
    limits = _exact(operations={"CreateQuantumTask": Rate(20, 40)}, adaptive=Adaptive())
    lim = limiter(vt, limits)
    for _ in range(2):
        lim.record_response("CreateQuantumTask", throttled=False)
    for step in range(10):  # in and after the cooldown
        vt.now = step * 0.2
        lim.record_throttle("CreateQuantumTask")
    bucket = lim.stats()["buckets"]["CreateQuantumTask"]
    assert bucket["throttles"] == 10
    assert bucket["refunded"] == 0


def test_persistent_throttling_cuts_at_most_by_decrease_and_drains_the_bucket(
    vt: VirtualTime,
) -> None:
    limits = RateLimits(
        operations={"CreateQuantumTask": Rate(20, 40)},
        adaptive=Adaptive(decrease=0.7, floor=0.1, recovery=0.1, cooldown=0.5, window=2.0),
        rate_headroom=0.0,
    )
    lim = limiter(vt, limits)
    lim.record_throttle("CreateQuantumTask")  # the only answer so far: throttled
    assert lim.current_rate("CreateQuantumTask") == pytest.approx(14)
    assert lim.stats()["buckets"]["CreateQuantumTask"]["tokens"] <= 0
    for step in range(1, 20):  # every answer throttled, for 10 s
        vt.now = step * 0.5
        lim.record_throttle("CreateQuantumTask")
    assert lim.current_rate("CreateQuantumTask") < 2.5  # driven down towards the floor (2)


@pytest.mark.parametrize(
    "error", [{"Code": "InternalServiceException"}, {"Code": "500"}, {"Code": "502"},
              {"Code": "ServiceUnavailable"}, {"Code": "ValidationException"}]
)
def test_only_throttling_adapts_the_rate(vt: VirtualTime, error: dict[str, str]) -> None:
    lim = limiter(vt, RateLimits.aws_defaults())
    handlers: list[Any] = []

    class Events:
        def register(self, name: str, handler: Any) -> None:
            handlers.append(handler)

    observe_throttles(Events(), lim)
    (handler,) = handlers
    event = "response-received.braket.CreateQuantumTask"
    for _ in range(50):
        handler(parsed_response={"Error": error}, event_name=event)
        handler(parsed_response=None, exception=ConnectionError("reset"), event_name=event)
    bucket = lim.stats()["buckets"]["CreateQuantumTask"]
    assert bucket["throttles"] == 0
    assert bucket["rate"] == bucket["configured_rate"]


async def test_server_errors_and_dropped_connections_do_not_slow_the_limiter(
    make_local: Any,
) -> None:
    from botocore.config import Config

    from braket_async import BraketSession, errors
    from braket_async.local import FaultConfig, FaultSpec

    local = await make_local()
    async with BraketSession(
        endpoint_url=local.endpoint_url, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 3}),
    ) as braket:
        local.faults = FaultConfig(per_operation={"GetDevice": FaultSpec(internal_error=1.0)})
        with pytest.raises(errors.InternalServiceException):
            await braket.get_device(SV1)
        local.faults = FaultConfig(per_operation={"GetDevice": FaultSpec(drop_connection=1.0)})
        with pytest.raises(errors.ResponseError):
            await braket.get_device(SV1)
        bucket = braket.rate_limiter.stats()["buckets"]["GetDevice"]
        assert (bucket["throttles"], bucket["rate"]) == (0, bucket["configured_rate"])
        local.faults = FaultConfig(per_operation={"GetDevice": FaultSpec(throttle=1.0)})
        with pytest.raises(errors.ThrottlingException):
            await braket.get_device(SV1)
        bucket = braket.rate_limiter.stats()["buckets"]["GetDevice"]
        assert bucket["throttles"] == 3 and bucket["rate"] < bucket["configured_rate"]
    # (aiohttp may resend a GET whose reused connection was dropped: at least 3 per call)
    assert local.ledger.snapshot()["calls"]["GetDevice"] >= 9


async def test_botocore_retries_take_a_token_each(make_local: Any) -> None:
    from aiobotocore.config import AioConfig

    from braket_async.local import FaultConfig, FaultSpec

    local = await make_local(
        faults=FaultConfig(per_operation={"GetDevice": FaultSpec(internal_error=1.0)})
    )
    # 2 calls/s, no burst to speak of: three attempts cannot all go out at once.
    lim = RateLimiter(RateLimits(operations={"GetDevice": Rate(2, 1)}, adaptive=None))
    config = AioConfig(retries={"mode": "standard", "total_max_attempts": 3})
    async with raw_client("braket", local.endpoint_url, config=config) as client:
        pace_retries(client.meta.events, lim)
        await lim.acquire("GetDevice")  # the caller's token for the first attempt
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(client.exceptions.InternalServiceException):
            await client.get_device(deviceArn=SV1)
        took = loop.time() - started
    bucket = lim.stats()["buckets"]["GetDevice"]
    assert bucket["acquired"] == 3  # the first attempt and both retries
    # The last retry cannot go out before two more tokens came, at ~2/s (whatever
    # botocore's own backoff was).
    assert took >= 2 / (2 * 0.98) - 0.05
    assert local.ledger.snapshot()["calls"]["GetDevice"] == 3
