"""Response handling with scripted answers from aioresponses (the ``aioresponses-ng`` fork,
which works on the aiohttp aiobotocore needs): a Braket call through ``BraketSession`` parsed
into its model, error answers mapped to the exception tree, a throttled call retried by
botocore. Nothing listens on a socket here; what needs one (cut bodies, stalls, dropped
connections) stays on ``tests/_wire.py``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _common import SV1
from aioresponses import aioresponses
from botocore.config import Config

from braket_async import BraketSession, RateLimits, errors

ENDPOINT = "http://braket.mocked.invalid"
#: Every GetDevice, whatever the (percent-encoded) ARN in the path.
GET_DEVICE = re.compile(rf"^{re.escape(ENDPOINT)}/device/.+$")
CREATE_TASK = f"{ENDPOINT}/quantum-task"
DEVICE = {
    "deviceArn": SV1,
    "deviceName": "SV1",
    "providerName": "Amazon Braket",
    "deviceType": "SIMULATOR",
    "deviceStatus": "ONLINE",
    "deviceCapabilities": json.dumps({"action": {}}),
}


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def _session(attempts: int) -> BraketSession:
    return BraketSession(
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        rate_limits=RateLimits.off(),
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


@pytest.fixture
async def braket(mocked: aioresponses) -> AsyncIterator[BraketSession]:
    """One attempt per call: each scripted answer is seen as it is."""
    async with _session(1) as session:
        yield session


def _error(status: int, code: str, **body: Any) -> dict[str, Any]:
    return {"status": status, "payload": body, "headers": {"x-amzn-ErrorType": code}}


def _sent(mocked: aioresponses) -> list[Any]:
    """Every request the mock answered, in order (method, URL, keyword arguments)."""
    return [(key[0], str(key[1]), call.kwargs) for key, calls in mocked.requests.items()
            for call in calls]  # fmt: skip


async def test_a_mocked_get_device_is_parsed_into_its_model(
    mocked: aioresponses, braket: BraketSession
) -> None:
    mocked.get(GET_DEVICE, payload=DEVICE)
    device = await braket.get_device(SV1)
    assert (device.device_arn, device.device_status, device.capabilities) == (
        SV1,
        "ONLINE",
        {"action": {}},
    )
    ((method, url, _kwargs),) = _sent(mocked)
    assert method == "GET" and url.endswith("/device/arn%3Aaws%3Abraket%3A%3A%3Adevice"
                                            "%2Fquantum-simulator%2Famazon%2Fsv1")  # fmt: skip


async def test_a_mocked_404_is_resource_not_found(
    mocked: aioresponses, braket: BraketSession
) -> None:
    mocked.get(GET_DEVICE, **_error(404, "ResourceNotFoundException", message="no such device"))
    with pytest.raises(errors.ResourceNotFoundException) as info:
        await braket.get_device(SV1)
    assert (info.value.status_code, info.value.message, info.value.operation) == (
        404,
        "no such device",
        "GetDevice",
    )


async def test_a_mocked_429_is_retried_by_botocore(mocked: aioresponses) -> None:
    mocked.get(GET_DEVICE, **_error(429, "ThrottlingException", message="slow down"))
    mocked.get(GET_DEVICE, payload=DEVICE)
    async with _session(2) as braket:
        assert (await braket.get_device(SV1)).device_status == "ONLINE"
    assert len(_sent(mocked)) == 2


async def test_a_429_on_every_attempt_is_a_throttling_error(mocked: aioresponses) -> None:
    for _ in range(2):
        mocked.get(GET_DEVICE, **_error(429, "ThrottlingException", message="slow down"))
    async with _session(2) as braket:
        with pytest.raises(errors.ThrottlingException):
            await braket.get_device(SV1)
    assert len(_sent(mocked)) == 2


async def test_validation_exception_carries_its_members(
    mocked: aioresponses, braket: BraketSession
) -> None:
    failure = {"programIndex": 1, "inputsIndex": 0, "errors": ["qubit out of range"]}
    mocked.post(
        CREATE_TASK,
        **_error(
            400,
            "ValidationException",
            message="bad set",
            reason="ProgramSetValidationFailed",
            programSetValidationFailures=[failure],
        ),
    )
    with pytest.raises(errors.ValidationException) as info:
        await braket.create_quantum_task(
            device_arn=SV1,
            action="OPENQASM 3; qubit q; bit c; c = measure q;",
            shots=1,
            output_s3_bucket="bucket",
            output_s3_key_prefix="p",
            client_token="token-1",
        )
    assert info.value.reason == "ProgramSetValidationFailed"
    ((found,),) = [info.value.program_set_validation_failures]
    assert (found.program_index, found.inputs_index, found.errors) == (
        1,
        0,
        ("qubit out of range",),
    )
    ((_method, _url, kwargs),) = _sent(mocked)
    assert json.loads(kwargs["data"])["clientToken"] == "token-1"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_plain_text_error_page_is_a_response_error(
    mocked: aioresponses, braket: BraketSession, status: int
) -> None:
    # a proxy's page, not the service's answer: it says nothing of whether the call took effect
    mocked.get(GET_DEVICE, status=status, body="upstream went away", content_type="text/plain")
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_device(SV1)
    assert f"HTTP {status} with a 'text/plain' body" in str(info.value)
    assert "upstream went away" in str(info.value)
