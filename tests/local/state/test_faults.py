"""Fault injection: configuration, seeded draws, and each fault over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from braket_async.local import FaultConfig, FaultSpec, LocalBraket, Quotas

from .._helpers import GatedSleep, RawClients, task_request, wait_task

DROPPED = (ConnectionClosedError, EndpointConnectionError)


def test_spec_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="internal_error must be a probability"):
        FaultSpec(internal_error=1.5)
    with pytest.raises(ValueError, match=r"latency must be in \[0, 600\] seconds, got -1"):
        FaultSpec(latency=-1)
    with pytest.raises(ValueError, match=r"latency must be in \[0, 600\] seconds, got 1e\+300"):
        FaultSpec(latency=1e300)
    assert FaultSpec(latency=600).latency == 600
    with pytest.raises(ValueError, match="sum to at most 1"):
        FaultSpec(throttle=0.6, drop_connection=0.6)


def test_seeded_draws_replay_and_follow_probabilities() -> None:
    spec = FaultSpec(internal_error=0.25, throttle=0.25)
    first = FaultConfig(default=spec, seed=7)
    second = FaultConfig(default=spec, seed=7)
    draws = [first.draw("GetDevice") for _ in range(2000)]
    assert draws == [second.draw("GetDevice") for _ in range(2000)]
    assert set(draws) == {"internal_error", "throttle", None}
    assert 300 < draws.count("internal_error") < 700  # ~500 expected, seed fixed
    quiet = FaultConfig(per_operation={"GetJob": FaultSpec(throttle=1.0)})
    assert quiet.draw("GetDevice") is None and quiet.draw("GetJob") == "throttle"
    assert not FaultSpec().active and FaultSpec(latency=0.1).active


async def test_internal_error_and_throttle_faults(
    local_braket: LocalBraket, make_local: Any, clients: RawClients
) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    client = await clients.braket(local)
    local.faults = FaultConfig(
        per_operation={
            "GetDevice": FaultSpec(internal_error=1.0),
            "SearchDevices": FaultSpec(throttle=1.0),
        }
    )
    with pytest.raises(ClientError) as info:
        await client.get_device(deviceArn=task_request(local)["deviceArn"])
    assert info.value.response["Error"]["Code"] == "InternalServiceException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    with pytest.raises(ClientError) as info:
        await client.search_devices(filters=[])
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    ledger = local.ledger.snapshot()
    assert ledger["faults"] == {
        "GetDevice": {"internal_error": 1},
        "SearchDevices": {"throttle": 1},
    }
    local.faults = None  # settable at runtime
    assert (await client.search_devices(filters=[]))["devices"]


async def _always_on_create(
    make_local: Any, clients: RawClients, fault: str
) -> tuple[LocalBraket, Any]:
    """A local service whose every CreateQuantumTask meets ``fault``, and a raw client."""
    spec = FaultSpec(**{fault: 1.0})
    local: LocalBraket = await make_local(
        faults=FaultConfig(per_operation={"CreateQuantumTask": spec})
    )
    return local, await clients.braket(local)


async def test_drop_connection_before_effect_creates_nothing(
    make_local: Any, clients: RawClients
) -> None:
    local, client = await _always_on_create(make_local, clients, "drop_connection")
    with pytest.raises(DROPPED):
        await client.create_quantum_task(**task_request(local))
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == 0
    assert ledger["faults"]["CreateQuantumTask"] == {"drop_connection": 1}
    assert local.store.task_list == []


async def test_drop_after_effect_then_retry_with_token_returns_the_same_task(
    make_local: Any, clients: RawClients
) -> None:
    local, client = await _always_on_create(make_local, clients, "drop_after_effect")
    request = task_request(local, clientToken="drop-after-effect-1")
    with pytest.raises(DROPPED):
        await client.create_quantum_task(**request)
    assert local.ledger.tasks_created == 1
    local.faults = None
    arn = (await client.create_quantum_task(**request))["quantumTaskArn"]
    assert [t.arn for t in local.store.task_list] == [arn]
    assert local.ledger.snapshot()["client_token_replays"] == 1
    assert (await wait_task(client, arn))["status"] == "COMPLETED"


async def test_latency_uses_the_injected_sleep(make_local: Any, clients: RawClients) -> None:
    gate = GatedSleep()
    gate.release()
    local: LocalBraket = await make_local(
        sleep=gate, faults=FaultConfig(default=FaultSpec(latency=2.5, latency_probability=1.0))
    )
    client = await clients.braket(local)
    await client.search_devices(filters=[])
    assert gate.calls == [2.5]
    assert local.ledger.snapshot()["faults"] == {"SearchDevices": {"latency": 1}}


async def test_close_cuts_injected_latency_short(make_local: Any, clients: RawClients) -> None:
    # A sleep that never returns on its own: a request held by a (600 s) latency.
    gate = GatedSleep()
    local: LocalBraket = await make_local(
        sleep=gate, faults=FaultConfig(default=FaultSpec(latency=600))
    )
    client = await clients.braket(local)
    held = asyncio.ensure_future(client.get_device(deviceArn="arn:aws:braket:::device/x"))
    while gate.waiting == 0:
        assert not held.done(), held
        await asyncio.sleep(0.01)
    # Without the cancellation aiohttp waits up to 60 s for the handler; 5 s is far from both.
    await asyncio.wait_for(local.close(), timeout=5)
    with pytest.raises(DROPPED):
        await held
    assert gate.calls == [600]


def test_faults_round_trip_through_json() -> None:
    config = FaultConfig(
        default=FaultSpec(latency=0.25, latency_probability=0.5, internal_error=0.1),
        per_operation={"CreateQuantumTask": FaultSpec(drop_after_effect=0.3)},
        seed=11,
    )
    again = FaultConfig.from_json(config.to_json())
    assert again.to_json() == config.to_json()
    assert [again.draw("CreateQuantumTask") for _ in range(50)] == [
        config.draw("CreateQuantumTask") for _ in range(50)
    ]
