"""Token buckets and quota configuration (unit level; the HTTP path is in test_server)."""

from __future__ import annotations

from typing import Any

import pytest
from _common import FakeClock

from braket_async.local.state._quotas import AWS_DEFAULT_RATES, Quotas, TokenBucket


def test_token_bucket_bursts_then_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 3.0, clock)
    taken = 0
    while bucket.available():
        bucket.take()
        taken += 1
    assert taken == 3
    clock.now = 0.5  # one token at 2/s
    assert bucket.available()
    bucket.take()
    assert not bucket.available()
    clock.now = 100.0  # refills only up to the burst
    taken = 0
    while bucket.available():
        bucket.take()
        taken += 1
    assert taken == 3


def test_aws_defaults_refuse_beyond_the_burst_and_refused_calls_take_nothing() -> None:
    clock = FakeClock()
    quotas = Quotas.aws_defaults(clock=clock)
    admitted = sum(quotas.try_acquire("CreateQuantumTask") for _ in range(100))
    assert admitted == AWS_DEFAULT_RATES["CreateQuantumTask"][1] == 40
    clock.now = 1.0
    admitted = sum(quotas.try_acquire("CreateQuantumTask") for _ in range(100))
    assert admitted == 20  # one second at 20/s
    # GetDevice has its own bucket; the account bucket (600 burst) still had room.
    assert quotas.try_acquire("GetDevice")


def test_account_bucket_limits_every_operation() -> None:
    clock = FakeClock()
    quotas = Quotas.aws_defaults(overrides={"Account": (1.0, 3.0)}, clock=clock)
    results = [
        quotas.try_acquire(op)
        for op in ("TagResource", "GetJob", "GetQuantumTask", "ListTagsForResource")
    ]
    assert results == [True, True, True, False]


def test_scale_and_overrides() -> None:
    clock = FakeClock()
    quotas = Quotas.aws_defaults(scale=0.5, overrides={"GetJob": (1.0, 2.0)}, clock=clock)
    assert quotas.rates["CreateQuantumTask"] == (10.0, 20.0)
    assert quotas.rates["GetJob"] == (1.0, 2.0)
    assert sum(quotas.try_acquire("GetJob") for _ in range(10)) == 2


def test_off_admits_everything() -> None:
    quotas = Quotas.off()
    assert not quotas.enabled
    assert all(quotas.try_acquire("CreateQuantumTask") for _ in range(10_000))
    assert quotas.concurrent_tasks is None and quotas.concurrent_jobs is None


@pytest.mark.parametrize(
    "kwargs",
    [{"scale": 0}, {"overrides": {"CreateQuantumTask": (0.0, 5.0)}}],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        Quotas.aws_defaults(**kwargs)  # type: ignore[arg-type]


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrent_jobs must be >= 1"):
        Quotas(concurrent_jobs=0)


async def test_burst_above_create_quota_is_throttled_and_counted(
    make_local: Any, clients: Any
) -> None:
    """The AWS default CreateQuantumTask quota (20/s, burst 40) answers a burst with 429s."""
    import asyncio

    from botocore.exceptions import ClientError

    from .._helpers import task_request

    local = await make_local(quotas=Quotas.aws_defaults())
    client = await clients.braket(local)
    burst = 120

    async def create() -> str:
        try:
            await client.create_quantum_task(**task_request(local, shots=1))
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert exc.response["Error"]["Message"] == "Rate exceeded"
            return str(exc.response["Error"]["Code"])
        return "created"

    outcomes = await asyncio.gather(*(create() for _ in range(burst)))
    created = outcomes.count("created")
    throttled = outcomes.count("ThrottlingException")
    assert created + throttled == burst
    assert created >= 40 and throttled > 0
    ledger = local.ledger.snapshot()
    assert ledger["throttled"]["CreateQuantumTask"] == throttled
    assert ledger["calls"]["CreateQuantumTask"] == burst
    assert ledger["tasks_created"] == created


def test_account_override_and_hand_built_quotas_describe_themselves() -> None:
    quotas = Quotas(concurrent_tasks=7).with_rates_from_json({"overrides": {"Account": [2, 3]}})
    assert quotas.account == (2.0, 3.0)
    assert quotas.concurrent_tasks == 7
    assert quotas.describe()["overrides"] == {"Account": [2.0, 3.0]}
    hand_built = Quotas({"GetJob": (1.0, 1.0)})
    assert hand_built.describe()["scale"] is None and hand_built.describe()["off"] is False
    with pytest.raises(ValueError, match="quota for Account must have rate > 0"):
        Quotas.aws_defaults(overrides={"Account": (0.0, 5.0)})
