"""The wire protocol over real loopback HTTP: routes, status codes, errors, headers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket

from .._helpers import SV1, RawClients, SignedHttp, control_headers, task_request, wait_task


async def test_create_answers_201_with_request_id(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    body = {**task_request(local_braket), "clientToken": "wire-201"}
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=body) as resp:
        assert resp.status == 201
        assert resp.headers["x-amzn-RequestId"]
        doc = await resp.json()
    arn = doc["quantumTaskArn"]
    async with http.get(f"{local_braket.endpoint_url}/quantum-task/{quote(arn, safe='')}") as r:
        assert r.status == 200
        task = await r.json()
    # rest-json timestamps: ISO 8601 strings (SyntheticTimestamp_date_time)
    assert task["createdAt"].endswith("Z") and "T" in task["createdAt"]
    assert task["quantumTaskArn"] == arn


async def test_errors_carry_type_header_and_message(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/missing"
    async with http.get(f"{local_braket.endpoint_url}/quantum-task/{quote(arn, safe='')}") as r:
        assert r.status == 404
        assert r.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
        assert r.headers["x-amzn-RequestId"]
        assert arn in (await r.json())["message"]


async def test_unknown_route_and_bad_json(local_braket: LocalBraket, http: SignedHttp) -> None:
    async with http.get(f"{local_braket.endpoint_url}/no-such-thing") as r:
        assert r.status == 404
        assert r.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", data=b"{not json") as r:
        assert r.status == 400
        assert r.headers["x-amzn-ErrorType"] == "SerializationException"
    async with http.post(f"{local_braket.endpoint_url}/devices", data=b"[1]") as r:
        assert r.status == 400


async def test_service_side_validation_names_member_and_rule(
    local_braket: LocalBraket, http: SignedHttp
) -> None:
    body = {**task_request(local_braket, shots=-5), "clientToken": "v-1"}
    del body["deviceArn"]
    async with http.post(f"{local_braket.endpoint_url}/quantum-task", json_body=body) as r:
        assert r.status == 400
        assert r.headers["x-amzn-ErrorType"] == "ValidationException"
        message = (await r.json())["message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value null at 'deviceArn' failed to satisfy constraint: Member must not be null" in (
        message
    )
    assert "Value '-5' at 'shots' failed to satisfy constraint" in message


async def test_botocore_parses_errors_into_codes(
    local_braket: LocalBraket, clients: RawClients
) -> None:
    # Client-side validation off, so the service's own validation answers.
    client = await clients.braket(
        local_braket,
        AioConfig(retries={"total_max_attempts": 1}, parameter_validation=False),
    )
    with pytest.raises(ClientError) as info:
        await client.create_quantum_task(**task_request(local_braket, outputS3Bucket="ab"))
    err = info.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert "at 'outputS3Bucket'" in err["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["ResponseMetadata"]["RequestId"]


async def test_query_list_members_are_read(local_braket: LocalBraket, raw: Any) -> None:
    arn = (await raw.create_quantum_task(**task_request(local_braket)))["quantumTaskArn"]
    await raw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2", "c": "3"})
    await raw.untag_resource(resourceArn=arn, tagKeys=["a", "c"])  # ?tagKeys=a&tagKeys=c
    assert (await raw.list_tags_for_resource(resourceArn=arn))["tags"] == {"b": "2"}
    task = await raw.get_quantum_task(quantumTaskArn=arn, additionalAttributeNames=["QueueInfo"])
    assert task["queueInfo"]["queue"] == "QUANTUM_TASKS_QUEUE"
    await wait_task(raw, arn)


async def test_local_routes_are_outside_braket(local_braket: LocalBraket, http: SignedHttp) -> None:
    async with http.get(f"{local_braket.endpoint_url}/_local/health", sign=False) as r:
        health = await r.json()
    assert health["status"] == "ok"
    assert health["endpoint_url"] == local_braket.endpoint_url
    headers = control_headers(local_braket)
    async with http.get(
        f"{local_braket.endpoint_url}/_local/ledger", headers=headers, sign=False
    ) as r:
        ledger = await r.json()
    assert set(ledger) >= {"calls", "throttled", "faults", "tasks_created"}
    assert "_local" not in json.dumps(ledger["calls"])


async def test_device_arn_in_path_is_percent_decoded(raw: Any) -> None:
    device = await raw.get_device(deviceArn=SV1)
    assert device["deviceArn"] == SV1
    assert json.loads(device["deviceCapabilities"])["paradigm"]["qubitCount"] == 34


async def test_injected_throttles_and_drops_take_no_quota_token(
    make_local: Any, clients: RawClients
) -> None:
    """A request an injected 429 or dropped connection refuses was never admitted: the
    CreateQuantumTask bucket (burst 3, no refill to speak of) is intact after 12 of them,
    while injected 500s, which reach the service, spend it."""
    from braket_async.local.state._faults import FaultConfig, FaultSpec
    from braket_async.local.state._quotas import Quotas

    quotas = Quotas.aws_defaults(overrides={"CreateQuantumTask": (0.001, 3)})
    refused = FaultSpec(throttle=0.5, drop_connection=0.5)
    local = await make_local(
        quotas=quotas, faults=FaultConfig(per_operation={"CreateQuantumTask": refused}, seed=5)
    )
    client = await clients.braket(local)

    async def create() -> str:
        try:
            await client.create_quantum_task(**task_request(local, shots=1))
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        except Exception as exc:  # the dropped connection: no answer at all
            return type(exc).__name__
        return "created"

    outcomes = [await create() for _ in range(12)]
    faults = local.ledger.snapshot()["faults"]["CreateQuantumTask"]
    assert faults["throttle"] > 0 and faults["drop_connection"] > 0
    assert outcomes.count("ThrottlingException") == faults["throttle"]
    local.faults = FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(internal_error=1.0)})
    assert [await create() for _ in range(3)] == ["InternalServiceException"] * 3
    local.faults = None
    assert await create() == "ThrottlingException"  # the 500s spent the 3 tokens
    ledger = local.ledger.snapshot()
    assert ledger["throttled"] == {"CreateQuantumTask": 1}  # the quota refused only that one
    assert ledger["tasks_created"] == 0
