"""The batch-wide breaker: it opens when most recent creates were answered with 5xx, pauses
every create, doubles its pause while failures go on, and a success closes it."""

from __future__ import annotations

import asyncio

from _common import FakeClock

from braket_async import errors
from braket_async._batch_breaker import ServerErrorBreaker


def _500() -> errors.InternalServiceException:
    return errors.InternalServiceException(message="please try again", status_code=500)


def _429() -> errors.ThrottlingException:
    return errors.ThrottlingException(message="Rate exceeded", status_code=429)


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def test_opens_when_most_recent_answers_are_server_errors() -> None:
    clock = FakeClock()
    breaker = ServerErrorBreaker(clock=clock, window=10, min_answers=6, pause=1.0)
    for _ in range(3):
        breaker.record(None)
        breaker.record(_500())
    assert not breaker.is_open  # half of them: not most
    breaker.record(_500())
    assert breaker.is_open and breaker.trips == 1
    clock.now = 1.01
    assert not breaker.is_open


def test_throttles_and_dropped_connections_are_no_signal() -> None:
    breaker = ServerErrorBreaker(clock=FakeClock(), window=10, min_answers=4)
    for _ in range(20):
        breaker.record(_429())
        breaker.record(errors.ResponseError("connection dropped"))
    assert not breaker.is_open and breaker.trips == 0


async def test_pause_doubles_while_failures_go_on_and_a_success_resets_it() -> None:
    clock = FakeClock()
    breaker = ServerErrorBreaker(clock=clock, window=4, min_answers=2, pause=1.0, max_pause=3.0)
    sleep, stop = RecordingSleep(), asyncio.Event()
    pauses = []
    for _ in range(4):
        breaker.record(_500())
        breaker.record(_500())  # opens
        assert await breaker.wait(sleep, stop)
        pauses.append(sleep.delays[-1])
        clock.now += pauses[-1]
    assert pauses == [1.0, 2.0, 3.0, 3.0]
    breaker.record(None)  # the service answers again
    assert not breaker.is_open
    breaker.record(_500())
    breaker.record(_500())
    assert await breaker.wait(sleep, stop)
    assert sleep.delays[-1] == 1.0


async def test_a_closed_breaker_never_sleeps_and_a_stop_ends_the_wait() -> None:
    breaker = ServerErrorBreaker(clock=FakeClock(), window=4, min_answers=2, pause=60.0)
    sleep, stop = RecordingSleep(), asyncio.Event()
    assert await breaker.wait(sleep, stop)
    assert sleep.delays == []
    breaker.record(_500())
    breaker.record(_500())
    stop.set()
    assert not await breaker.wait(asyncio.sleep, stop)  # returns at once, not after 60 s
