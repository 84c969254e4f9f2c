"""Spending limits enforced at CreateQuantumTask as the Braket developer guide describes them:
a task whose estimated cost exceeds what is left is refused; spend is counted queued, then
total; periods and simulators (boto3-compatible client, real device ARNs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _common import SV1, raw_client
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket, QpuQueue

from ._helpers import NO_RETRIES, openqasm, task_request, wait_task

FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
BELL = openqasm("OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];")
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _limit(answer: dict[str, Any], arn: str) -> dict[str, Any]:
    (limit,) = [s for s in answer["spendingLimits"] if s["spendingLimitArn"] == arn]
    return limit


async def test_a_task_over_the_remaining_limit_is_refused(make_local: Any) -> None:
    # Tasks stay QUEUED behind half an hour of backlog (half a real second).
    model = QpuQueue(time_scale=3600, backlog=1800, task_seconds=60, simulated_start=TUESDAY_NOON)
    local: LocalBraket = await make_local(qpu_queue=model)
    async with raw_client("braket", local.endpoint_url, config=NO_RETRIES) as client:
        arn = (await client.create_spending_limit(deviceArn=FORTE, spendingLimit="20"))[
            "spendingLimitArn"
        ]

        async def create() -> str:
            request = task_request(local, deviceArn=FORTE, action=BELL, shots=100)
            return str((await client.create_quantum_task(**request))["quantumTaskArn"])

        # Forte-1: $0.30 per task + $0.08 per shot = $8.30 for 100 shots.
        first, second = await create(), await create()
        limit = _limit(await client.search_spending_limits(), arn)
        assert (limit["queuedSpend"], limit["totalSpend"]) == ("16.60", "0.00")
        with pytest.raises(ClientError) as info:
            await create()
        error = info.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert error["Message"] == (
            f"The estimated cost of this quantum task, $8.30, exceeds the remaining $3.40 of "
            f"spending limit {arn} for device {FORTE}."
        )
        # A cancelled task is not charged: its cost is released.
        await client.cancel_quantum_task(quantumTaskArn=second)
        assert (await wait_task(client, second))["status"] == "CANCELLED"
        third = await create()
        for task in (first, third):
            assert (await wait_task(client, task))["status"] == "COMPLETED"
        limit = _limit(await client.search_spending_limits(), arn)
        assert (limit["queuedSpend"], limit["totalSpend"]) == ("0.00", "16.60")
        # Raising the limit takes effect at once.
        await client.update_spending_limit(spendingLimitArn=arn, spendingLimit="30")
        await create()


async def test_periods_simulators_and_other_devices(make_local: Any) -> None:
    local: LocalBraket = await make_local()
    async with raw_client("braket", local.endpoint_url, config=NO_RETRIES) as client:
        later = datetime.now(UTC) + timedelta(days=1)
        arn = (
            await client.create_spending_limit(
                deviceArn=FORTE,
                spendingLimit="100",
                timePeriod={"startAt": later, "endAt": later + timedelta(days=1)},
            )
        )["spendingLimitArn"]
        with pytest.raises(ClientError) as info:
            await client.create_quantum_task(**task_request(local, deviceArn=FORTE, action=BELL))
        message = info.value.response["Error"]["Message"]
        assert message.startswith(f"The spending limit {arn} for device {FORTE} allows quantum")
        # No limit on SV1 and none possible: "Simulators do not support spending limits".
        await client.create_quantum_task(**task_request(local, action=BELL))
        with pytest.raises(ClientError) as info:
            await client.create_spending_limit(deviceArn=SV1, spendingLimit="1")
        assert info.value.response["Error"]["Code"] == "ValidationException"
        assert (
            "Simulators do not support spending limits" in info.value.response["Error"]["Message"]
        )
        # Deleting the limit lifts it.
        await client.delete_spending_limit(spendingLimitArn=arn)
        created = await client.create_quantum_task(
            **task_request(local, deviceArn=FORTE, action=BELL)
        )
        assert (await wait_task(client, created["quantumTaskArn"]))["status"] == "COMPLETED"
