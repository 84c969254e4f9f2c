"""Submit a batch of circuits at the quota's pace and get every result, on a local service.

    python examples/batch.py [N]

The batch is idempotent (one client token per item) and writes a manifest: interrupt it with
Ctrl-C and run ``resume()`` with the same manifest to continue without creating any task twice.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

from braket_async import BraketSession
from braket_async.batch import BatchProgress
from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def ghz(qubits: int) -> str:
    """An OpenQASM 3 GHZ circuit on ``qubits`` qubits, measuring every qubit."""
    cnots = "".join(f"cnot q[{i}], q[{i + 1}];\n" for i in range(qubits - 1))
    return f"OPENQASM 3;\nqubit[{qubits}] q;\nbit[{qubits}] c;\nh q[0];\n{cnots}c = measure q;\n"


def show(progress: BatchProgress) -> None:
    """Print the batch's progress on one self-overwriting line."""
    print(
        f"\rsubmitted {progress.submitted}/{progress.total}  "
        f"completed {progress.completed}  failed {progress.failed}",
        end="",
        flush=True,
    )


async def main(n: int) -> None:
    """Submit ``n`` GHZ circuits as one batch and print what came back."""
    manifest = Path(await asyncio.to_thread(tempfile.mkdtemp)) / "batch.jsonl"
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
        programs = [ghz(2 + i % 3) for i in range(n)]
        batch = braket.submit_batch(
            programs,
            device_arn=SV1,
            shots=100,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="batch-example",
            manifest=manifest,
            progress=show,
        )
        async with batch:
            outcomes = await batch.results()  # every item's outcome, with its result
        print()
        statuses = Counter(str(o.status) for o in outcomes)
        print("statuses", dict(statuses), "manifest", manifest)
        for outcome in outcomes[:3]:
            assert outcome.result is not None
            print(outcome.index, outcome.task_arn, dict(outcome.result.counts))
        print("service ledger", local.ledger.snapshot()["calls"])


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
