"""Each region has its own devices: QPUs where their ARN says, simulators where Braket offers
them; requests signed for another region do not see them (boto3-compatible aiobotocore)."""

from __future__ import annotations

from typing import Any

import pytest
from _common import SV1, raw_client
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket

from ._helpers import NO_RETRIES, openqasm, task_request

GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
CEPHEUS = "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q"
TN1 = "arn:aws:braket:::device/quantum-simulator/amazon/tn1"


async def _devices(local: LocalBraket, region: str) -> set[str]:
    async with raw_client("braket", local.endpoint_url, region=region, config=NO_RETRIES) as c:
        answer = await c.search_devices(filters=[])
    return {d["deviceArn"] for d in answer["devices"]}


@pytest.mark.parametrize(
    ("region", "present", "absent"),
    [
        ("us-east-1", {SV1, TN1, FORTE}, {GARNET, CEPHEUS}),
        ("eu-north-1", {SV1, GARNET}, {FORTE, TN1, CEPHEUS}),
        ("us-west-1", {SV1, CEPHEUS}, {FORTE, GARNET, TN1}),
        ("us-west-2", {SV1, TN1}, {FORTE, GARNET, CEPHEUS}),
    ],
)
async def test_search_devices_lists_the_devices_of_the_signing_region(
    local_braket: LocalBraket, region: str, present: set[str], absent: set[str]
) -> None:
    listed = await _devices(local_braket, region)
    assert present <= listed
    assert not absent & listed
    # Every QPU listed lives in this region.
    assert all(arn.split(":")[3] in ("", region) for arn in listed)


async def test_a_qpu_is_unknown_outside_its_region(local_braket: LocalBraket) -> None:
    endpoint = local_braket.endpoint_url
    async with raw_client("braket", endpoint, region="eu-north-1", config=NO_RETRIES) as c:
        assert (await c.get_device(deviceArn=GARNET))["deviceStatus"] == "ONLINE"
    async with raw_client("braket", endpoint, region="us-east-1", config=NO_RETRIES) as c:
        with pytest.raises(ClientError) as info:
            await c.get_device(deviceArn=GARNET)
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as info:
            await c.create_quantum_task(**task_request(local_braket, deviceArn=GARNET))
        error: Any = info.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert (
            error["Message"] == f"Device {GARNET} does not exist or is not available in us-east-1"
        )


async def test_a_task_arn_carries_the_region_it_was_created_in(local_braket: LocalBraket) -> None:
    async with raw_client(
        "braket", local_braket.endpoint_url, region="eu-north-1", config=NO_RETRIES
    ) as client:
        created = await client.create_quantum_task(
            **task_request(local_braket, action=openqasm(), shots=10)
        )
        arn = created["quantumTaskArn"]
        assert arn.startswith("arn:aws:braket:eu-north-1:123456789012:quantum-task/")
        await client.cancel_quantum_task(quantumTaskArn=arn)
