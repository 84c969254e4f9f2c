"""Quickstart: one quantum task, start to finish, on a local Braket service.

    python examples/quickstart.py

On AWS, drop the LocalBraket block and open ``BraketSession(region_name=...)`` with your own
credentials and output bucket.
"""

from __future__ import annotations

import asyncio

from braket_async import BraketSession
from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = """
OPENQASM 3;
qubit[2] q;
bit[2] c;
h q[0];
cnot q[0], q[1];
c = measure q;
"""


async def main() -> None:
    """Create one Bell-pair task on SV1, wait for it and print its counts."""
    async with (
        LocalBraket() as local,
        BraketSession(
            endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as braket,
    ):
        device = await braket.get_device(SV1)
        print(f"{device.device_name}: {device.device_status}")
        arn = await braket.create_quantum_task(
            device_arn=SV1,
            action=BELL,
            shots=1000,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="quickstart",
        )
        print("created", arn)
        task = await braket.wait_for_quantum_task(arn, timeout=60)  # raises unless COMPLETED
        print("status", task.status, "ended", task.ended_at)
        result = await braket.get_quantum_task_result(task)
        print("counts", dict(result.gate_model().counts))  # about half '00', half '11'


if __name__ == "__main__":
    asyncio.run(main())
