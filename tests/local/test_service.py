"""LocalBraket: construction checks, lifecycle, settings, endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from braket_async.local import DEFAULT_BUCKET, LocalBraket, Quotas


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 70000}, "port must be in 0..65535"),
        ({"queue_delay": -1}, "queue_delay and run_delay must be >= 0"),
        ({"account_id": "12"}, "account_id must be 12 digits"),
        (
            {"job_runner": object(), "job_runner_factory": lambda _: object()},
            "job_runner or job_runner_factory, not both",
        ),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalBraket(**kwargs)


def test_endpoints_need_a_started_service() -> None:
    local = LocalBraket()
    with pytest.raises(RuntimeError, match="not started"):
        _ = local.endpoint_url


async def test_started_service_exposes_endpoints_and_bucket(
    local_braket: LocalBraket,
) -> None:
    assert local_braket.endpoint_url.startswith("http://127.0.0.1:")
    assert local_braket.s3_endpoint_url.startswith("http://127.0.0.1:")
    assert local_braket.default_bucket == DEFAULT_BUCKET
    assert await local_braket.objects.bucket_exists(DEFAULT_BUCKET)
    assert local_braket.quotas.rates["CreateQuantumTask"] == (20, 40)


async def test_close_is_idempotent_and_frees_the_port(make_local: Any) -> None:
    local: LocalBraket = await make_local(default_bucket="amazon-braket-second")
    assert await local.objects.bucket_exists("amazon-braket-second")
    url = local.endpoint_url
    await local.close()
    await local.close()
    with pytest.raises(RuntimeError, match="not started"):
        _ = local.endpoint_url
    import aiohttp

    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{url}/_local/health")


async def test_quotas_are_replaceable_at_runtime(make_local: Any) -> None:
    local: LocalBraket = await make_local()
    local.quotas = Quotas.off()
    assert not local.quotas.enabled
    assert local.jobs.concurrency is None
