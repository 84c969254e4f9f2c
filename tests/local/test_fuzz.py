"""Property: no correctly signed request, however mutated, gets a 5xx from the local service.

Hypothesis draws cases over all 17 operations (``_fuzz``); a few hundred run here, thousands in
``benchmarks/fuzz_local.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings

from braket_async.local import LocalBraket, Quotas

from ._fuzz import OPERATIONS, Case, FuzzTargets, cases, prepare_targets, send_case
from ._helpers import SignedHttp

LocalFactory = Callable[..., Awaitable[LocalBraket]]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def fuzzed(
    make_local: LocalFactory,
) -> AsyncIterator[tuple[LocalBraket, FuzzTargets, aiohttp.ClientSession]]:
    """A service of its own (the session's workers and S3) with no rate quotas: 429s would
    keep the cases from the handlers."""
    local = await make_local(quotas=Quotas.off(), events=False)
    async with aiohttp.ClientSession() as session:
        targets = await prepare_targets(session, local.endpoint_url, local.default_bucket)
        yield local, targets, session


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == 17


async def test_no_mutated_request_gets_a_5xx(
    fuzzed: tuple[LocalBraket, FuzzTargets, aiohttp.ClientSession],
) -> None:
    local, targets, session = fuzzed
    http = SignedHttp(session)
    loop = asyncio.get_running_loop()
    seen: Counter[tuple[str, int]] = Counter()
    server_errors: list[tuple[Case, int, str]] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(case=cases(targets))
    def one(case: Case) -> None:
        # Hypothesis drives a plain function: it runs in a thread and sends on the test's loop.
        sent = asyncio.run_coroutine_threadsafe(send_case(http, local.endpoint_url, case), loop)
        status, code = sent.result(timeout=60)
        seen[case.operation, status // 100] += 1
        if status >= 500:
            server_errors.append((case, status, code))
        assert status < 500, (case, status, code)

    await asyncio.to_thread(one)
    assert not server_errors
    # the cases reached every operation, and some got through to a 2xx
    assert {op for op, _ in seen} == set(OPERATIONS)
    assert any(kind == 2 for _, kind in seen)
