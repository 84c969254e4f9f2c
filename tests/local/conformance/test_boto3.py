"""boto3's Braket client, unmodified, against the local service: every operation.

The client is configured only by environment (AWS_ENDPOINT_URL_BRAKET and friends, from the
``local_env`` fixture) and runs in a thread, since boto3 blocks.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
# Spending limits go on a QPU no test runs tasks on (the limits are per device).
OFFLINE_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
LIMITED_QPU = OFFLINE_QPU
RETIRED_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
BELL = json.dumps(
    {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
        "source": "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;",
        "inputs": {},
    }
)


def _client() -> Any:
    # Retries on, as users run it; adaptive mode keeps it within the service's quotas.
    return boto3.client("braket", config=Config(retries={"mode": "adaptive", "max_attempts": 8}))


def _wait(fetch: Any, done: Any) -> dict[str, Any]:
    for _ in range(500):
        result: dict[str, Any] = fetch()
        if done(result):
            return result
        time.sleep(0.05)
    raise AssertionError("not reached")


def _every_operation(bucket: str) -> dict[str, Any]:
    c = _client()
    seen: dict[str, Any] = {}
    seen["GetDevice"] = c.get_device(deviceArn=SV1)
    seen["SearchDevices"] = c.search_devices(filters=[])
    arn = c.create_quantum_task(
        deviceArn=SV1,
        action=BELL,
        shots=10,
        outputS3Bucket=bucket,
        outputS3KeyPrefix="boto3",
        tags={"via": "boto3"},
    )["quantumTaskArn"]
    seen["CreateQuantumTask"] = arn
    seen["GetQuantumTask"] = _wait(
        lambda: c.get_quantum_task(quantumTaskArn=arn), lambda r: r["status"] == "COMPLETED"
    )
    seen["SearchQuantumTasks"] = c.search_quantum_tasks(
        filters=[{"name": "quantumTaskArn", "operator": "EQUAL", "values": [arn]}]
    )
    seen["first_page"] = [
        t["quantumTaskArn"]
        for t in c.search_quantum_tasks(filters=[], maxResults=5)["quantumTasks"]
    ]
    paginator = c.get_paginator("search_quantum_tasks")
    seen["paginated"] = [
        t["quantumTaskArn"]
        for page in paginator.paginate(filters=[], PaginationConfig={"PageSize": 1, "MaxItems": 5})
        for t in page["quantumTasks"]
    ]
    try:
        c.cancel_quantum_task(quantumTaskArn=arn)
    except c.exceptions.ConflictException as exc:
        seen["CancelQuantumTask"] = exc.response["Error"]["Code"]
    c.tag_resource(resourceArn=arn, tags={"extra": "1"})
    c.untag_resource(resourceArn=arn, tagKeys=["via"])
    seen["ListTagsForResource"] = c.list_tags_for_resource(resourceArn=arn)["tags"]
    name = f"boto3-{uuid.uuid4().hex[:8]}"
    job_arn = c.create_job(
        jobName=name,
        roleArn="arn:aws:iam::123456789012:role/x",
        algorithmSpecification={
            "scriptModeConfig": {"entryPoint": "a:b", "s3Uri": f"s3://{bucket}/a.py"}
        },
        outputDataConfig={"s3Path": f"s3://{bucket}/jobs"},
        instanceConfig={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        deviceConfig={"device": SV1},
    )["jobArn"]
    seen["CreateJob"] = job_arn
    seen["CancelJob"] = c.cancel_job(jobArn=job_arn)["cancellationStatus"]
    seen["GetJob"] = _wait(lambda: c.get_job(jobArn=job_arn), lambda r: r["status"] == "CANCELLED")
    seen["SearchJobs"] = c.search_jobs(
        filters=[{"name": "jobArn", "operator": "EQUAL", "values": [job_arn]}]
    )
    limit = c.create_spending_limit(deviceArn=LIMITED_QPU, spendingLimit="12.34")[
        "spendingLimitArn"
    ]
    c.update_spending_limit(spendingLimitArn=limit, spendingLimit="20")
    seen["SearchSpendingLimits"] = c.search_spending_limits(
        filters=[{"name": "deviceArn", "operator": "EQUAL", "values": [LIMITED_QPU]}]
    )
    c.delete_spending_limit(spendingLimitArn=limit)
    seen["UpdateSpendingLimit"] = seen["DeleteSpendingLimit"] = limit
    seen["after_delete"] = c.search_spending_limits()["spendingLimits"]
    return seen


def _errors() -> dict[str, str]:
    c = boto3.client("braket", config=Config(retries={"total_max_attempts": 1}))
    codes: dict[str, str] = {}

    def create(device: str, bucket: str = "amazon-braket-local") -> Callable[[], Any]:
        return lambda: c.create_quantum_task(
            deviceArn=device, action=BELL, shots=1, outputS3Bucket=bucket, outputS3KeyPrefix="x"
        )

    calls: dict[str, Callable[[], Any]] = {
        "offline": create(OFFLINE_QPU),
        "retired": create(RETIRED_QPU),
        "missing": lambda: c.get_quantum_task(
            quantumTaskArn="arn:aws:braket:us-east-1:123456789012:quantum-task/nope"
        ),
        "bucket": create(SV1, bucket="no-such-bucket-here"),
    }
    for key, call in calls.items():
        try:
            call()
        except c.exceptions.ClientError as exc:
            codes[key] = type(exc).__name__
    return codes


async def test_boto3_every_operation(local_braket: LocalBraket, local_env: dict[str, str]) -> None:
    seen = await asyncio.to_thread(_every_operation, local_braket.default_bucket)
    arn = seen["CreateQuantumTask"]
    assert seen["GetDevice"]["deviceName"] == "SV1"
    assert any(d["deviceArn"] == SV1 for d in seen["SearchDevices"]["devices"])
    task = seen["GetQuantumTask"]
    assert task["status"] == "COMPLETED" and task["createdAt"].tzinfo is not None
    assert [t["quantumTaskArn"] for t in seen["SearchQuantumTasks"]["quantumTasks"]] == [arn]
    assert seen["paginated"] == seen["first_page"] and seen["paginated"][0] == arn
    assert seen["CancelQuantumTask"] == "ConflictException"
    assert seen["ListTagsForResource"] == {"extra": "1"}
    assert seen["CancelJob"] in ("CANCELLING", "CANCELLED")
    assert seen["GetJob"]["status"] == "CANCELLED"
    assert [j["jobArn"] for j in seen["SearchJobs"]["jobs"]] == [seen["CreateJob"]]
    limits = seen["SearchSpendingLimits"]["spendingLimits"]
    assert [
        s["spendingLimit"] for s in limits if s["spendingLimitArn"] == seen["UpdateSpendingLimit"]
    ] == ["20"]
    assert all(s["spendingLimitArn"] != seen["DeleteSpendingLimit"] for s in seen["after_delete"])


async def test_boto3_maps_service_errors_to_its_exceptions(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    codes = await asyncio.to_thread(_errors)
    assert codes == {
        "offline": "DeviceOfflineException",
        "retired": "DeviceRetiredException",
        "missing": "ResourceNotFoundException",
        "bucket": "ValidationException",
    }


@pytest.mark.parametrize(
    "operation", ["search_quantum_tasks", "search_jobs", "search_devices", "search_spending_limits"]
)
async def test_boto3_paginators_exist_for_searches(
    local_braket: LocalBraket, local_env: dict[str, str], operation: str
) -> None:
    def run() -> list[Any]:
        paginator = _client().get_paginator(operation)
        kwargs: dict[str, Any] = {} if operation == "search_spending_limits" else {"filters": []}
        return list(paginator.paginate(**kwargs))

    pages = await asyncio.to_thread(run)
    assert pages and all(p["ResponseMetadata"]["HTTPStatusCode"] == 200 for p in pages)
