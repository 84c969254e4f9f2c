"""amazon-braket-sdk, unmodified, against the local service (env-var endpoints only)."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
T = TypeVar("T")


async def sdk_call(fn: Callable[[], T]) -> T:
    """Run blocking SDK code in a thread, then close the event loops the SDK leaves behind.

    ``AwsQuantumTask.result()`` creates an event loop per calling thread (its batch does so in
    each pool thread) and never closes it; closed here explicitly so no ResourceWarning fires.
    """
    ours = asyncio.get_running_loop()
    try:
        return await asyncio.to_thread(fn)
    finally:
        for obj in gc.get_objects():
            # type(), not isinstance(): a dead weakref.proxy raises on __class__
            if (
                issubclass(type(obj), asyncio.AbstractEventLoop)
                and obj is not ours
                and not obj.is_running()
                and not obj.is_closed()
            ):
                obj.close()


def _bell() -> Any:
    from braket.circuits import Circuit

    return Circuit().h(0).cnot(0, 1)


def _run_bell() -> tuple[Counter[str], str, str]:
    from braket.aws import AwsDevice

    device = AwsDevice(SV1)
    task = device.run(_bell(), shots=1000, poll_interval_seconds=0.05)
    result = task.result()
    return Counter(result.measurement_counts), task.state(), device.status


def _run_batch() -> tuple[list[Counter[str]], list[str]]:
    from braket.aws import AwsDevice

    device = AwsDevice(SV1)
    batch = device.run_batch([_bell()] * 4, shots=200, max_parallel=4, poll_interval_seconds=0.05)
    results = batch.results(fail_unsuccessful=True)
    return [Counter(r.measurement_counts) for r in results], [t.id for t in batch.tasks]


async def test_aws_device_run_bell_circuit(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    counts, state, status = await sdk_call(_run_bell)
    assert state == "COMPLETED" and status == "ONLINE"
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == 1000
    assert 400 < counts["00"] < 600  # 50/50 within > 6 sigma


async def test_aws_device_run_batch(local_braket: LocalBraket, local_env: dict[str, str]) -> None:
    counts, arns = await sdk_call(_run_batch)
    assert len(counts) == 4 and len(set(arns)) == 4
    for c in counts:
        assert set(c) <= {"00", "11"} and sum(c.values()) == 200
    assert all(arn in local_braket.store.tasks for arn in arns)
