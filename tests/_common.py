"""Test helpers shared by several test modules: device ARN, a Bell program, a session on a
local service, a hand-moved clock, a test-only device that runs program sets."""

from __future__ import annotations

from typing import Any

from aiobotocore.session import get_session

from braket_async import BraketSession
from braket_async.local import LocalBraket
from braket_async.local._devices import LocalDevice, load_capabilities

__all__ = [
    "BELL",
    "COMPLETED_JOB_EVENTS",
    "PROGRAM_SET_DEVICE",
    "SV1",
    "FakeClock",
    "create_task",
    "program_set_device",
    "raw_client",
    "session_on",
]

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
#: A test-only device that runs program sets: SV1, DM1 and TN1 do not list the action
#: (docs/devices.md), and the QPUs that do queue and add noise. SV1's document plus the
#: program-set action, on the state-vector engine; only test services list it.
PROGRAM_SET_DEVICE = "arn:aws:braket:::device/quantum-simulator/amazon/sv1-program-sets"
#: The events of a hybrid job that ran to completion, in order (GetJob ``events``).
COMPLETED_JOB_EVENTS = [
    "STARTING_INSTANCE",
    "DOWNLOADING_DATA",
    "RUNNING",
    "UPLOADING_RESULTS",
    "COMPLETED",
]
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"


async def create_task(
    braket: BraketSession,
    local: LocalBraket,
    source: str = BELL,
    *,
    shots: int = 10,
    device_arn: str = SV1,
    prefix: str = "tests",
) -> str:
    """One CreateQuantumTask of ``source`` into the local service's default bucket."""
    return await braket.create_quantum_task(
        device_arn=device_arn,
        action=source,
        shots=shots,
        output_s3_bucket=local.default_bucket,
        output_s3_key_prefix=prefix,
    )


def session_on(local: LocalBraket, **kwargs: Any) -> BraketSession:
    """A session on ``local`` (Braket and S3) with test credentials; use it as
    ``async with session_on(local) as braket:``."""
    return BraketSession(
        endpoint_url=local.endpoint_url,
        s3_endpoint_url=local.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


#: One botocore session for every raw client: its loader caches the service models, which
#: makes each new client cost milliseconds instead of a model load.
_BOTOCORE = get_session()


def raw_client(
    service: str,
    endpoint_url: str,
    *,
    region: str = "us-east-1",
    credentials: tuple[str, str] = ("testing", "testing"),
    **options: Any,
) -> Any:
    """A raw aiobotocore ``service`` client on ``endpoint_url``, signed with ``credentials``
    (the local service's default pair); use it as ``async with raw_client(...) as client:``.
    ``options`` go to ``create_client`` (e.g. ``config``)."""
    return _BOTOCORE.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
        **options,
    )


class FakeClock:
    """A clock that moves only when a test sets or advances ``now``."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def program_set_device() -> LocalDevice:
    """The :data:`PROGRAM_SET_DEVICE` (``LocalBraket(devices=[*default_devices(), ...])``)."""
    capabilities = load_capabilities("sv1")
    capabilities["action"]["braket.ir.openqasm.program_set"] = {
        "version": ["1"],
        "actionType": "braket.ir.openqasm.program_set",
        "maximumExecutables": 100,
        "maximumTotalShots": 200000,
    }
    return LocalDevice(
        PROGRAM_SET_DEVICE,
        "SV1 with program sets (test only)",
        "Amazon Braket",
        "SIMULATOR",
        "ONLINE",
        capabilities,
        simulator="state_vector",
    )
