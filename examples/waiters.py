"""Waiting the asyncio way: a waiter that raises, a boto3-style waiter, and a tracker.

python examples/waiters.py
"""

from __future__ import annotations

import asyncio

from braket_async import BraketSession, QuantumTaskFailed, WaiterTimeout
from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
GOOD = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
BAD = "OPENQASM 3; qubit[2] q; no_such_gate q[0];"


async def main() -> None:
    """Wait for tasks three ways: a raising waiter, a boto3-style waiter, a tracker."""
    # queue_delay keeps tasks QUEUED for a moment, so there is something to wait for.
    async with (
        LocalBraket(queue_delay=1.0) as local,
        BraketSession(
            endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as braket,
    ):

        async def create(program: str) -> str:
            return await braket.create_quantum_task(
                device_arn=SV1,
                action=program,
                shots=100,
                output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="waiters",
            )

        # 1. A waiter returns the COMPLETED task, or raises: never None.
        good, bad = await create(GOOD), await create(BAD)
        print("completed:", (await braket.wait_for_quantum_task(good)).status)
        try:
            await braket.wait_for_quantum_task(bad)
        except QuantumTaskFailed as exc:
            print("failed as expected:", exc.failure_reason)
        try:
            await braket.wait_for_quantum_task(await create(GOOD), timeout=0.2)
        except WaiterTimeout as exc:
            print("timed out as expected:", exc)

        # 2. The boto3-style waiter, on aiobotocore's waiter machinery.
        waiter = braket.get_waiter("quantum_task_completed")
        task = await waiter.wait(
            quantumTaskArn=await create(GOOD), WaiterConfig={"Delay": 0.5, "MaxAttempts": 20}
        )
        print("waiter:", task.status)

        # 3. Many tasks: one tracker, few status calls.
        arns = [await create(GOOD) for _ in range(20)]
        async with braket.track(arns) as tracker:
            async for done in tracker.as_completed():
                print("finished", done.quantum_task_arn.rsplit("/", 1)[-1], done.status)
        print("status calls:", tracker.stats)


if __name__ == "__main__":
    asyncio.run(main())
