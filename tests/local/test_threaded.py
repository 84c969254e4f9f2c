"""``ThreadedLocalBraket``: the service on its own thread and loop, driven by synchronous code
(boto3) and by async code on the test's loop, never blocking the caller's loop."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import boto3
import pytest
from _common import BELL, SV1, session_on
from botocore.config import Config
from botocore.exceptions import ClientError

from braket_async.local import (
    FaultConfig,
    FaultSpec,
    LocalBraket,
    NoScriptJobRunner,
    Quotas,
    SyntheticExecutor,
    ThreadedLocalBraket,
)


def _threaded(shared: LocalBraket, **kwargs: Any) -> ThreadedLocalBraket:
    """A threaded service on the session's moto (S3), tasks completed by SyntheticExecutor
    (it starts in milliseconds)."""
    kwargs.setdefault("executor", SyntheticExecutor())
    kwargs.setdefault("job_runner", NoScriptJobRunner(step_delay=0.0))
    return ThreadedLocalBraket(s3_endpoint_url=shared.s3_endpoint_url, **kwargs)


def _boto3_braket(local: ThreadedLocalBraket) -> Any:
    return boto3.client(
        "braket",
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id=local.credentials[0],
        aws_secret_access_key=local.credentials[1],
        config=Config(retries={"total_max_attempts": 1}),
    )


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def _until(probe: Any, done: Any) -> Any:
    for _ in range(500):
        value = probe()
        if done(value):
            return value
        time.sleep(0.02)
    raise AssertionError(f"never reached: last {value!r}")


def test_sync_code_drives_it_and_reset_gives_a_clean_slate(local_braket: LocalBraket) -> None:
    quotas = Quotas.aws_defaults(overrides={"GetDevice": (0.001, 1.0)})
    with _threaded(local_braket, quotas=quotas) as local:
        braket = _boto3_braket(local)
        arn = braket.create_quantum_task(
            deviceArn=SV1,
            action=json.dumps(
                {
                    "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                    "source": BELL,
                }
            ),
            shots=10,
            outputS3Bucket=local.default_bucket,
            outputS3KeyPrefix="threaded",
        )["quantumTaskArn"]
        task = _until(lambda: braket.get_quantum_task(quantumTaskArn=arn), _completed)
        assert task["status"] == "COMPLETED"
        assert [_code(lambda: braket.get_device(deviceArn=SV1)) for _ in range(2)] == [
            "ok",
            "ThrottlingException",  # the bucket of 1 is empty
        ]
        local.faults = FaultConfig(per_operation={"SearchDevices": FaultSpec(internal_error=1)})
        assert _code(lambda: braket.search_devices(filters=[])) == "InternalServiceException"
        assert local.ledger.calls["CreateQuantumTask"] == 1

        local.reset()

        assert local.ledger.snapshot()["total_calls"] == 0
        assert local.faults is None
        assert _code(lambda: braket.search_devices(filters=[])) == "ok"
        assert _code(lambda: braket.get_device(deviceArn=SV1)) == "ok"  # a full bucket again
        assert _code(lambda: braket.get_quantum_task(quantumTaskArn=arn)) == (
            "ResourceNotFoundException"
        )
        assert braket.search_quantum_tasks(filters=[])["quantumTasks"] == []
        assert local.call(lambda service: len(service.store.task_list)) == 0


def _completed(task: dict[str, Any]) -> bool:
    return task["status"] in ("COMPLETED", "FAILED", "CANCELLED")


async def test_async_start_leaves_the_callers_loop_running(local_braket: LocalBraket) -> None:
    loop_ran = threading.Event()

    def runner_factory(_local: LocalBraket) -> NoScriptJobRunner:
        # called on the service's thread while it starts: the caller's loop must run meanwhile
        assert loop_ran.wait(30), "the caller's event loop was blocked while the service started"
        return NoScriptJobRunner()

    async def on_the_callers_loop() -> None:
        loop_ran.set()

    marker = asyncio.create_task(on_the_callers_loop())
    service = _threaded(local_braket, job_runner=None, job_runner_factory=runner_factory)
    async with service as local:
        await marker
        assert local.thread.loop is not asyncio.get_running_loop()
        async with session_on(local) as braket:  # type: ignore[arg-type]
            assert (await braket.get_device(SV1)).device_status == "ONLINE"
            await local.reset_async()
            assert local.ledger.snapshot()["total_calls"] == 0
    assert not local.thread.running


def test_waiting_for_the_service_on_its_own_thread_is_refused(local_braket: LocalBraket) -> None:
    with _threaded(local_braket) as local:
        with pytest.raises(RuntimeError, match="would deadlock"):
            local.call(lambda _service: local.reset())
        assert local.call(lambda service: service.endpoint_url) == local.endpoint_url


def test_a_failed_start_raises_in_the_caller_and_stops_the_thread(
    local_braket: LocalBraket,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = _threaded(local_braket, port=taken.getsockname()[1])
        with pytest.raises(OSError):
            service.start()
    assert not service.thread.running
    with pytest.raises(RuntimeError, match="not started"):
        _ = service.endpoint_url


def test_bad_arguments_fail_in_the_callers_thread() -> None:
    with pytest.raises(ValueError, match="account_id must be 12 digits"):
        ThreadedLocalBraket(account_id="1")


def test_the_suites_threaded_env_serves_the_braket_sdk_in_a_sync_test(
    threaded_env: dict[str, str], threaded_local: ThreadedLocalBraket
) -> None:
    from braket.aws import AwsDevice, AwsSession

    assert threaded_env["AWS_ENDPOINT_URL_BRAKET"] == threaded_local.endpoint_url
    assert AwsDevice(SV1).status == "ONLINE"
    # the SDK's default jobs role and bucket, made by the session's service in the shared moto
    session = AwsSession()
    assert session.get_default_jobs_role().endswith("/AmazonBraketJobsExecutionRole")
    assert threaded_local.ledger.calls["GetDevice"] >= 1
