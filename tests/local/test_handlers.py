"""Every operation's semantics over loopback with a raw aiobotocore client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from typing import Any

import pytest
from _common import COMPLETED_JOB_EVENTS
from botocore import xform_name
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket, Quotas
from braket_async.local._handlers import Handlers
from braket_async.local._limits import MAX_ACTION_BYTES
from braket_async.local._model import service_model

from ._helpers import (
    BELL,
    DM1,
    OFFLINE_QPU,
    RETIRED_QPU,
    SV1,
    RawClients,
    job_request,
    openqasm,
    task_request,
    wait_job,
    wait_task,
)

MISSING_TASK = "arn:aws:braket:us-east-1:123456789012:quantum-task/does-not-exist"
MISSING_JOB = "arn:aws:braket:us-east-1:123456789012:job/does-not-exist"
MISSING_LIMIT = "arn:aws:braket:us-east-1:123456789012:spending-limit/does-not-exist"


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


async def _refused(call: Awaitable[Any]) -> str:
    """The error code of the ``ClientError`` that ``call`` must raise."""
    with pytest.raises(ClientError) as info:
        await call
    return _code(info)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# Quantum tasks -------------------------------------------------------------------------------


def test_every_operation_of_the_model_has_a_handler() -> None:
    # The handler table is built from the model by name: a missing method would leave an
    # operation of the installed botocore unanswered.
    missing = [
        op
        for op in service_model().operation_names
        if not callable(getattr(Handlers, xform_name(op), None))
    ]
    assert missing == []


async def test_create_get_quantum_task(local_braket: LocalBraket, raw: Any) -> None:
    arn = (await raw.create_quantum_task(**task_request(local_braket, tags={"k": "v"})))[
        "quantumTaskArn"
    ]
    assert arn.startswith("arn:aws:braket:us-east-1:123456789012:quantum-task/")
    task = await wait_task(raw, arn)
    assert task["status"] == "COMPLETED"
    assert task["shots"] == 100 and task["numSuccessfulShots"] == 100
    assert task["deviceArn"] == SV1
    assert task["outputS3Directory"] == f"tests/{arn.rsplit('/', 1)[1]}"
    assert task["tags"] == {"k": "v"}
    assert task["actionMetadata"] == {"actionType": "braket.ir.openqasm.program", "programCount": 1}
    assert task["endedAt"] >= task["createdAt"]


async def test_get_and_cancel_unknown_task_is_404(raw: Any) -> None:
    for call in (raw.get_quantum_task, raw.cancel_quantum_task):
        assert await _refused(call(quantumTaskArn=MISSING_TASK)) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("device", "code", "status"),
    [
        (OFFLINE_QPU, "DeviceOfflineException", 424),
        (RETIRED_QPU, "DeviceRetiredException", 410),
        ("arn:aws:braket:::device/quantum-simulator/amazon/nope", "ValidationException", 400),
    ],
)
async def test_create_on_unavailable_devices(
    local_braket: LocalBraket, raw: Any, device: str, code: str, status: int
) -> None:
    with pytest.raises(ClientError) as info:
        await raw.create_quantum_task(**task_request(local_braket, deviceArn=device))
    assert _code(info) == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert device in info.value.response["Error"]["Message"]


async def test_create_needs_an_existing_bucket(local_braket: LocalBraket, raw: Any) -> None:
    with pytest.raises(ClientError) as info:
        await raw.create_quantum_task(**task_request(local_braket, outputS3Bucket="no-such-bkt"))
    assert _code(info) == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        "Caller doesn't have access to no-such-bkt or it doesn't exist."
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"action": "not json"}, "valid JSON"),
        ({"action": "[1]"}, "JSON object"),
        ({"action": json.dumps({"source": "x"})}, "braketSchemaHeader"),
        (
            {
                "action": json.dumps(
                    {"braketSchemaHeader": {"name": "braket.ir.ahs.program", "version": "1"}}
                )
            },
            "does not support action braket.ir.ahs.program",
        ),
        ({"deviceParameters": "{"}, "deviceParameters"),
        ({"jobToken": "unknown-token"}, "job token"),
    ],
)
async def test_create_rejects_bad_actions_and_tokens(
    local_braket: LocalBraket, raw: Any, overrides: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ClientError) as info:
        await raw.create_quantum_task(**task_request(local_braket, **overrides))
    assert _code(info) == "ValidationException"
    assert fragment in info.value.response["Error"]["Message"]


async def test_client_token_makes_create_idempotent(local_braket: LocalBraket, raw: Any) -> None:
    token = _unique("token")
    before = local_braket.ledger.snapshot()
    first = await raw.create_quantum_task(**task_request(local_braket), clientToken=token)
    second = await raw.create_quantum_task(**task_request(local_braket), clientToken=token)
    after = local_braket.ledger.snapshot()
    assert first["quantumTaskArn"] == second["quantumTaskArn"]
    assert after["tasks_created"] - before["tasks_created"] == 1
    assert after["client_token_replays"] - before["client_token_replays"] == 1
    with pytest.raises(ClientError) as info:  # same token, other request
        await raw.create_quantum_task(**task_request(local_braket, shots=7), clientToken=token)
    assert _code(info) == "ConflictException"
    await wait_task(raw, first["quantumTaskArn"])


async def test_failed_program_ends_failed_with_reason(local_braket: LocalBraket, raw: Any) -> None:
    arn = (
        await raw.create_quantum_task(
            **task_request(local_braket, action=openqasm("OPENQASM 3; qubit[1] q; nonsense q[0];"))
        )
    )["quantumTaskArn"]
    task = await wait_task(raw, arn)
    assert task["status"] == "FAILED"
    assert task["failureReason"]
    assert task["actionMetadata"]["actionType"] == "braket.ir.openqasm.program"


async def test_cancel_completed_task_conflicts(local_braket: LocalBraket, raw: Any) -> None:
    arn = (await raw.create_quantum_task(**task_request(local_braket)))["quantumTaskArn"]
    await wait_task(raw, arn)
    assert await _refused(raw.cancel_quantum_task(quantumTaskArn=arn)) == "ConflictException"


# Devices -------------------------------------------------------------------------------------


async def test_get_device_and_search_devices(raw: Any) -> None:
    device = await raw.get_device(deviceArn=DM1)
    assert (device["deviceName"], device["deviceType"], device["deviceStatus"]) == (
        "DM1",
        "SIMULATOR",
        "ONLINE",
    )
    assert {q["queue"] for q in device["deviceQueueInfo"]} == {"QUANTUM_TASKS_QUEUE", "JOBS_QUEUE"}
    everything = await raw.search_devices(filters=[])
    statuses = {d["deviceArn"]: d["deviceStatus"] for d in everything["devices"]}
    assert statuses[OFFLINE_QPU] == "OFFLINE" and statuses[RETIRED_QPU] == "RETIRED"
    only = await raw.search_devices(filters=[{"name": "deviceArn", "values": [SV1, DM1]}])
    assert [d["deviceArn"] for d in only["devices"]] == [SV1, DM1]
    first = await raw.search_devices(filters=[], maxResults=2)
    rest = await raw.search_devices(filters=[], maxResults=100, nextToken=first["nextToken"])
    assert [d["deviceArn"] for d in first["devices"] + rest["devices"]] == list(statuses)
    with pytest.raises(ClientError) as info:
        await raw.get_device(deviceArn="arn:aws:braket:::device/quantum-simulator/amazon/zz")
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        await raw.search_devices(filters=[{"name": "providerName", "values": ["x"]}])
    assert _code(info) == "ValidationException"


# Jobs ----------------------------------------------------------------------------------------
# CreateJob's AWS quota is 1/s (burst 5): job tests use their own unthrottled service so the
# shared one keeps its quota for the rest of the suite.


@pytest.fixture
async def unthrottled(make_local: Any, clients: RawClients) -> tuple[LocalBraket, Any]:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    return local, await clients.braket(local)


async def test_create_get_search_cancel_job(unthrottled: tuple[LocalBraket, Any]) -> None:
    _, raw = unthrottled
    name = _unique("job")
    arn = (await raw.create_job(**job_request(name, tags={"team": "q"})))["jobArn"]
    assert arn == f"arn:aws:braket:us-east-1:123456789012:job/{name}"
    job = await wait_job(raw, arn)
    assert job["status"] == "COMPLETED"
    assert [e["eventType"] for e in job["events"]] == COMPLETED_JOB_EVENTS
    assert job["startedAt"] <= job["endedAt"]
    assert job["billableDuration"] >= 0
    assert job["tags"] == {"team": "q"}
    assert job["instanceConfig"]["instanceCount"] == 1
    found = await raw.search_jobs(
        filters=[{"name": "jobArn", "operator": "EQUAL", "values": [arn]}]
    )
    assert [j["jobName"] for j in found["jobs"]] == [name]
    assert await _refused(raw.cancel_job(jobArn=arn)) == "ConflictException"
    with pytest.raises(ClientError) as info:  # names are unique
        await raw.create_job(**job_request(name))
    assert _code(info) == "ConflictException"


async def test_job_errors(unthrottled: tuple[LocalBraket, Any]) -> None:
    _, raw = unthrottled
    for call in (raw.get_job, raw.cancel_job):
        assert await _refused(call(jobArn=MISSING_JOB)) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        await raw.create_job(**job_request(_unique("j"), deviceConfig={"device": OFFLINE_QPU}))
    assert _code(info) == "DeviceOfflineException"
    with pytest.raises(ClientError) as info:
        await raw.create_job(**job_request(_unique("j"), algorithmSpecification={}))
    assert _code(info) == "ValidationException"


async def test_job_with_script_and_image_is_accepted(unthrottled: tuple[LocalBraket, Any]) -> None:
    _, raw = unthrottled
    # The official SDK sends its default container image along with the script.
    spec = {
        "scriptModeConfig": {"entryPoint": "a:b", "s3Uri": "s3://amazon-braket-local/a.py"},
        "containerImage": {
            "uri": "292282985366.dkr.ecr.us-east-1.amazonaws.com/amazon-braket-base-jobs:latest"
        },
    }
    arn = (await raw.create_job(**job_request(_unique("both"), algorithmSpecification=spec)))[
        "jobArn"
    ]
    assert (await wait_job(raw, arn))["algorithmSpecification"] == spec


async def test_job_token_tags_tasks_with_the_job(unthrottled: tuple[LocalBraket, Any]) -> None:
    local_braket, raw = unthrottled
    arn = (await raw.create_job(**job_request(_unique("tok"))))["jobArn"]
    token = local_braket.store.job(arn).job_token
    task_arn = (await raw.create_quantum_task(**task_request(local_braket, jobToken=token)))[
        "quantumTaskArn"
    ]
    task = await raw.get_quantum_task(
        quantumTaskArn=task_arn, additionalAttributeNames=["QueueInfo"]
    )
    assert task["jobArn"] == arn
    assert task["queueInfo"]["queuePriority"] == "Priority"
    by_job = await raw.search_quantum_tasks(
        filters=[{"name": "jobArn", "operator": "EQUAL", "values": [arn]}]
    )
    assert [t["quantumTaskArn"] for t in by_job["quantumTasks"]] == [task_arn]
    await wait_task(raw, task_arn)
    await wait_job(raw, arn)


# Tags ----------------------------------------------------------------------------------------


async def test_tags_on_unknown_resources(raw: Any) -> None:
    for call in (
        raw.list_tags_for_resource(resourceArn=MISSING_TASK),
        raw.tag_resource(resourceArn=MISSING_JOB, tags={"a": "b"}),
        raw.untag_resource(resourceArn=MISSING_LIMIT, tagKeys=["a"]),
    ):
        assert await _refused(call) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        await raw.list_tags_for_resource(resourceArn="not-an-arn")
    assert _code(info) == "ValidationException"


# Spending limits go on a QPU no test runs tasks on (the limits are per device).
LIMITED_QPU = OFFLINE_QPU


# Spending limits -----------------------------------------------------------------------------


async def test_spending_limit_lifecycle(raw: Any) -> None:
    token = _unique("sl")
    arn = (
        await raw.create_spending_limit(
            deviceArn=LIMITED_QPU,
            spendingLimit="25.50",
            clientToken=token,
            timePeriod={"startAt": 1_900_000_000, "endAt": 1_900_086_400},
            tags={"a": "b"},
        )
    )["spendingLimitArn"]
    again = await raw.create_spending_limit(
        deviceArn=LIMITED_QPU, spendingLimit="25.50", clientToken=token
    )
    assert again["spendingLimitArn"] == arn
    found = await raw.search_spending_limits(
        filters=[{"name": "deviceArn", "operator": "EQUAL", "values": [LIMITED_QPU]}]
    )
    mine = [s for s in found["spendingLimits"] if s["spendingLimitArn"] == arn]
    assert len(mine) == 1
    assert mine[0]["spendingLimit"] == "25.50" and mine[0]["totalSpend"] == "0.00"
    assert int(mine[0]["timePeriod"]["startAt"].timestamp()) == 1_900_000_000
    assert mine[0]["tags"] == {"a": "b"}
    await raw.update_spending_limit(spendingLimitArn=arn, spendingLimit="30")
    found = await raw.search_spending_limits()
    assert any(
        s["spendingLimit"] == "30" for s in found["spendingLimits"] if s["spendingLimitArn"] == arn
    )
    assert (await raw.list_tags_for_resource(resourceArn=arn))["tags"] == {"a": "b"}
    await raw.delete_spending_limit(spendingLimitArn=arn)
    for call in (
        raw.delete_spending_limit(spendingLimitArn=arn),
        raw.update_spending_limit(spendingLimitArn=arn, spendingLimit="1"),
    ):
        assert await _refused(call) == "ResourceNotFoundException"


async def test_spending_limit_errors(raw: Any) -> None:
    with pytest.raises(ClientError) as info:
        await raw.create_spending_limit(deviceArn=RETIRED_QPU, spendingLimit="1")
    assert _code(info) == "DeviceRetiredException"
    with pytest.raises(ClientError) as info:
        await raw.create_spending_limit(deviceArn="arn:aws:braket:::device/x", spendingLimit="1")
    assert _code(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        await raw.create_spending_limit(
            deviceArn=LIMITED_QPU,
            spendingLimit="1",
            timePeriod={"startAt": 2_000_000, "endAt": 1_000_000},
        )
    assert _code(info) == "ValidationException"
    assert "endAt" in info.value.response["Error"]["Message"]


# aiohttp (the client here) warns about any body over 1 MiB; the test sends 4 MiB on purpose.
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_create_refuses_a_program_over_the_size_limit(
    local_braket: LocalBraket, raw: Any
) -> None:
    before = local_braket.ledger.snapshot()["tasks_created"]
    padding = "// " + "x" * MAX_ACTION_BYTES + "\n"
    with pytest.raises(ClientError) as info:
        await raw.create_quantum_task(**task_request(local_braket, action=openqasm(padding + BELL)))
    assert _code(info) == "ValidationException"
    message = info.value.response["Error"]["Message"]
    assert "'action'" in message and str(MAX_ACTION_BYTES) in message
    assert local_braket.ledger.snapshot()["tasks_created"] == before  # never accepted
    # Multi-byte characters count as bytes, as on the wire.
    wide = json.loads(openqasm(BELL))
    # (3-byte characters: botocore sends them as 6-byte escapes, still under the body limit)
    wide["source"] = "// " + "€" * (MAX_ACTION_BYTES // 3 + 1000) + "\n" + BELL
    action = json.dumps(wide, ensure_ascii=False)
    assert len(action) < MAX_ACTION_BYTES < len(action.encode())
    with pytest.raises(ClientError) as info:
        await raw.create_quantum_task(**task_request(local_braket, action=action))
    assert _code(info) == "ValidationException"
    # Just under the limit is accepted.
    fits = "// " + "x" * (MAX_ACTION_BYTES - 1000) + "\n"
    created = await raw.create_quantum_task(
        **task_request(local_braket, action=openqasm(fits + BELL))
    )
    arn = created["quantumTaskArn"]
    assert local_braket.ledger.snapshot()["tasks_created"] == before + 1
    await raw.cancel_quantum_task(quantumTaskArn=arn)  # no need to simulate 4 MiB of comment
    assert (await wait_task(raw, arn))["status"] in ("CANCELLED", "COMPLETED")
