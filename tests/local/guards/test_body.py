"""Request size and JSON depth limits on the Braket routes: non-retryable 4xx, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _common import session_on

from braket_async import BatchOptions, BraketSession, RateLimits, errors
from braket_async.local import LocalBraket, Quotas
from braket_async.local.guards._body import MAX_BODY_BYTES, MAX_JSON_DEPTH
from braket_async.polling import RetryBudget

from .._helpers import SV1, SignedHttp, openqasm, sigv4_headers, task_request

#: An OpenQASM program whose action JSON is larger than the service accepts.
HUGE_SOURCE = "OPENQASM 3;\nqubit[1] q;\n" + "x q[0];\n" * (MAX_BODY_BYTES // 8 + 10)


async def test_oversized_body_is_413_with_a_json_error(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    body = b'{"pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    before = local_braket.ledger.snapshot()["tasks_created"]
    async with http.request("POST", f"{local_braket.endpoint_url}/quantum-task", data=body) as resp:
        assert resp.status == 413
        assert resp.headers["x-amzn-ErrorType"] == "RequestTooLargeException"
        assert resp.headers["x-amzn-RequestId"]
        assert (await resp.json())["message"] == "HTTP content length exceeded 10485760 bytes."
    assert local_braket.ledger.snapshot()["tasks_created"] == before


async def test_oversized_chunked_body_without_length_is_413(
    local_braket: LocalBraket,
) -> None:
    chunk = b"x" * (1024 * 1024)
    url = f"{local_braket.endpoint_url}/quantum-task"
    headers = sigv4_headers("POST", url, chunk * 12, headers={"Content-Type": "application/json"})

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield chunk

    # no Content-Length: only the read itself can notice the size
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=chunks(), headers=headers) as resp,
    ):
        assert resp.status == 413
        assert resp.headers["x-amzn-ErrorType"] == "RequestTooLargeException"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
async def test_overnested_json_is_400_serialization(
    local_braket: LocalBraket, http: SignedHttp, depth: int
) -> None:
    body = b'{"filters": ' + b"[" * depth + b"]" * depth + b"}"
    async with http.request("POST", f"{local_braket.endpoint_url}/devices", data=body) as resp:
        assert resp.status == 400
        assert resp.headers["x-amzn-ErrorType"] == "SerializationException"
        assert "nested too deeply" in (await resp.json())["message"]


async def test_nesting_within_the_limit_reaches_validation(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    body = b'{"filters": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    async with http.request("POST", f"{local_braket.endpoint_url}/devices", data=body) as resp:
        assert resp.status == 400
        assert resp.headers["x-amzn-ErrorType"] == "ValidationException"


async def _session(local: LocalBraket) -> BraketSession:
    return session_on(local, rate_limits=RateLimits.off())


# aiobotocore hands aiohttp the body as bytes; aiohttp warns above 1 MiB (not our code path).
LARGE_BODY_WARNING = "ignore:Sending a large body directly:ResourceWarning"


@pytest.mark.filterwarnings(LARGE_BODY_WARNING)
async def test_a_plain_call_with_a_too_large_body_is_not_retried(make_local: Any) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    async with await _session(local) as braket:
        with pytest.raises(errors.ServiceError) as info:
            await braket.create_quantum_task(
                device_arn=SV1,
                action=openqasm(HUGE_SOURCE),
                shots=10,
                output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="too-large",
            )
    assert info.value.code == "RequestTooLargeException"
    assert info.value.status_code == 413
    assert not isinstance(info.value, errors.InternalServiceException)
    ledger = local.ledger.snapshot()
    assert ledger["calls"] == {"CreateQuantumTask": 1}
    assert ledger["errors"] == {"CreateQuantumTask": {"RequestTooLargeException": 1}}
    assert ledger["tasks_created"] == 0


@pytest.mark.filterwarnings(LARGE_BODY_WARNING)
async def test_submit_batch_does_not_retry_a_too_large_item(make_local: Any) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    async with await _session(local) as braket:
        batch = braket.submit_batch(
            [openqasm(HUGE_SOURCE), task_request(local)["action"]],
            device_arn=SV1,
            shots=10,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="too-large-batch",
            track=False,
            options=BatchOptions(
                retry=RetryBudget(max_consecutive=30, max_seconds=60.0, initial=0.01, maximum=0.05)
            ),
        )
        async with batch:
            outcomes = sorted(await batch.wait(), key=lambda o: o.index)
    assert isinstance(outcomes[0].error, errors.ServiceError)
    assert outcomes[0].error.status_code == 413
    assert outcomes[0].attempts == 1
    assert outcomes[1].ok and outcomes[1].task_arn
    ledger = local.ledger.snapshot()
    assert ledger["calls"]["CreateQuantumTask"] == 2  # one each: no retry of the 413
    assert ledger["errors"]["CreateQuantumTask"] == {"RequestTooLargeException": 1}


def test_depth_check_is_iterative_and_exact() -> None:
    from braket_async.local._errors import Serialization
    from braket_async.local.guards._body import parse_json

    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json(at_limit) is not None
    with pytest.raises(Serialization, match="nested too deeply"):
        parse_json(b"[" + at_limit + b"]")
    with pytest.raises(Serialization, match="not valid JSON"):
        parse_json(b"{")
