"""Helpers for the local-service tests: requests, raw aiobotocore clients, polling."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

import aiohttp
import yarl
from _common import BELL as BELL
from _common import SV1 as SV1
from _common import raw_client
from aiobotocore.config import AioConfig
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket

DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
OFFLINE_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
RETIRED_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
ROLE = "arn:aws:iam::123456789012:role/braket-local"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


def openqasm(source: str = BELL, inputs: dict[str, Any] | None = None) -> str:
    """An OpenQASM action JSON string."""
    return json.dumps(
        {
            "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
            "source": source,
            "inputs": inputs or {},
        }
    )


def task_request(local: LocalBraket, **overrides: Any) -> dict[str, Any]:
    """A valid CreateQuantumTask request on SV1 (override any member)."""
    request: dict[str, Any] = {
        "deviceArn": SV1,
        "action": openqasm(),
        "shots": 100,
        "outputS3Bucket": local.default_bucket,
        "outputS3KeyPrefix": "tests",
    }
    request.update(overrides)
    return request


def job_request(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid CreateJob request."""
    request: dict[str, Any] = {
        "jobName": name,
        "roleArn": ROLE,
        "algorithmSpecification": {
            "scriptModeConfig": {
                "entryPoint": "algo:main",
                "s3Uri": "s3://amazon-braket-local/scripts/algo.py",
                "compressionType": "NONE",
            }
        },
        "outputDataConfig": {"s3Path": "s3://amazon-braket-local/jobs/out"},
        "instanceConfig": {"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
        "deviceConfig": {"device": SV1},
    }
    request.update(overrides)
    return request


NO_RETRIES = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})


class RawClients:
    """Opens raw aiobotocore clients on a local service; all closed with the fixture."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def braket(self, local: LocalBraket, config: AioConfig = NO_RETRIES) -> Any:
        return await self._stack.enter_async_context(
            raw_client("braket", local.endpoint_url, config=config)
        )

    async def s3(self, local: LocalBraket) -> Any:
        return await self._stack.enter_async_context(
            raw_client(
                "s3", local.s3_endpoint_url, config=AioConfig(s3={"addressing_style": "path"})
            )
        )


async def wait_until(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    *,
    attempts: int = 600,
    interval: float = 0.02,
) -> Any:
    """Poll ``await probe()`` every ``interval`` s until ``done(result)``; fail after
    ``attempts``. A 429 from the service's quotas backs off instead of failing."""
    result: Any = None
    for _ in range(attempts):
        try:
            result = await probe()
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ThrottlingException":
                raise
            await asyncio.sleep(0.25)
            continue
        if done(result):
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not reached after {attempts} polls; last: {result!r}")


async def wait_task(client: Any, arn: str) -> dict[str, Any]:
    """GetQuantumTask until the task is terminal."""
    result: dict[str, Any] = await wait_until(
        lambda: client.get_quantum_task(quantumTaskArn=arn),
        lambda r: r["status"] in TERMINAL,
    )
    return result


async def wait_job(client: Any, arn: str) -> dict[str, Any]:
    """GetJob until the job is terminal."""
    result: dict[str, Any] = await wait_until(
        lambda: client.get_job(jobArn=arn),
        lambda r: r["status"] in TERMINAL,
        interval=0.2,  # GetJob's quota is 5/s
    )
    return result


class GatedSleep:
    """An injectable ``sleep`` that returns only when the test releases it.

    Every call records its delay and waits for one permit, so a test steps a service's
    lifecycle deterministically (no wall-clock timing).
    """

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._permits = asyncio.Semaphore(0)
        self._waiting = 0

    async def __call__(self, delay: float) -> None:
        self.calls.append(delay)
        self._waiting += 1
        try:
            await self._permits.acquire()
        finally:
            self._waiting -= 1

    @property
    def waiting(self) -> int:
        """Calls blocked right now."""
        return self._waiting

    def release(self, count: int = 1) -> None:
        """Let ``count`` blocked (or future) calls return."""
        for _ in range(count):
            self._permits.release()


class _SignerAt(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer with a fixed clock (for stale / future dates)."""

    def __init__(self, credentials: Credentials, service: str, region: str, when: datetime):
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._when.strftime("%Y%m%dT%H%M%SZ")
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def sigv4_headers(
    method: str,
    url: str,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    credentials: tuple[str, str] = ("testing", "testing"),
    region: str = "us-east-1",
    service: str = "braket",
    when: datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus the SigV4 headers botocore's signer adds for this request."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    creds = Credentials(*credentials)
    signer = (
        SigV4Auth(creds, service, region)
        if when is None
        else _SignerAt(creds, service, region, when)
    )
    signer.add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def control_headers(local: LocalBraket) -> dict[str, str]:
    """The bearer header of the ``/_local/*`` control routes."""
    return {"Authorization": f"Bearer {local.control_token}"}


class SignedHttp:
    """Raw HTTP to the local service, SigV4-signed like botocore signs (``sign=False``: not)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        sign: bool = True,
        **sign_options: Any,
    ) -> Any:
        if json_body is not None:
            data = json.dumps(json_body).encode()
        all_headers = {"Content-Type": content_type} if data else {}
        all_headers.update(headers or {})
        if sign:
            all_headers = sigv4_headers(method, url, data, headers=all_headers, **sign_options)
        # encoded=True: send the path exactly as signed (no re-quoting of %3A and the like);
        # a large body goes as a stream (aiohttp warns about large raw bytes)
        payload: Any = io.BytesIO(data) if len(data) > 1024 * 1024 else data
        return self.session.request(
            method, yarl.URL(url, encoded=True), data=payload, headers=all_headers
        )

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)
