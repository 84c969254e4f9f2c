"""The ledger: counters from Python and over HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
from botocore.exceptions import ClientError

from braket_async.local import Ledger, LocalBraket, Quotas

from .._helpers import RawClients, control_headers, task_request, wait_task


def test_counters_and_reset() -> None:
    ledger = Ledger()
    ledger.record_call("GetDevice")
    ledger.record_call("GetDevice")
    ledger.record_throttle("GetDevice")
    ledger.record_fault("GetJob", "drop_connection")
    ledger.record_error("GetJob", "ThrottlingException")
    ledger.tasks_created += 3
    snap = ledger.snapshot()
    assert snap["calls"] == {"GetDevice": 2} and snap["total_calls"] == 2
    assert snap["throttled"] == {"GetDevice": 1} and snap["total_throttled"] == 1
    assert snap["faults"] == {"GetJob": {"drop_connection": 1}}
    assert snap["errors"] == {"GetJob": {"ThrottlingException": 1}}
    assert snap["tasks_created"] == 3
    ledger.reset()
    assert ledger.snapshot()["total_calls"] == 0 and ledger.snapshot()["faults"] == {}


async def test_ledger_over_http_counts_calls_and_resets(
    make_local: Any, clients: RawClients
) -> None:
    local: LocalBraket = await make_local(
        quotas=Quotas.aws_defaults(overrides={"GetDevice": (0.001, 1.0)})
    )
    client = await clients.braket(local)
    arn = (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
    await wait_task(client, arn)
    await client.get_device(deviceArn=task_request(local)["deviceArn"])
    try:
        await client.get_device(deviceArn=task_request(local)["deviceArn"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ThrottlingException"
    async with aiohttp.ClientSession(headers=control_headers(local)) as http:
        async with http.get(f"{local.endpoint_url}/_local/ledger") as resp:
            snap = await resp.json()
        assert snap["calls"]["CreateQuantumTask"] == 1
        assert snap["calls"]["GetDevice"] == 2 and snap["throttled"] == {"GetDevice": 1}
        assert snap["errors"]["GetDevice"] == {"ThrottlingException": 1}
        assert snap["tasks_created"] == 1 and snap["tasks_completed"] == 1
        assert snap == {
            **local.ledger.snapshot(),
            "calls": snap["calls"],
            "total_calls": snap["total_calls"],
        }
        async with http.post(f"{local.endpoint_url}/_local/ledger/reset") as resp:
            assert (await resp.json())["total_calls"] == 0
    assert local.ledger.snapshot()["calls"] == {}
