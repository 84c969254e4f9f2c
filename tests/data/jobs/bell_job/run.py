"""A hybrid job that drives the local service through braket_async from inside the job.

Entry point ``bell_job.run:main``: the container binds the hyperparameters ``shots`` and
``label`` to its parameters. For every angle in the ``angles`` input channel it submits an
``rx(angle)`` circuit on the job's device (with the job token, so the task carries the job's
ARN), waits for it, and saves the counts as plaintext persisted job data.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from braket_async import BraketSession


def _program(angle: float) -> str:
    return f"OPENQASM 3.0;\nbit[1] b;\nqubit[1] q;\nrx({angle}) q[0];\nb[0] = measure q[0];"


async def _run(angles: list[float], shots: int, label: str) -> dict[str, Any]:
    uri = os.environ["AMZN_BRAKET_TASK_RESULTS_S3_URI"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    device = os.environ["AMZN_BRAKET_DEVICE_ARN"]
    results = {}
    # endpoints, region and credentials all come from the job's environment
    async with BraketSession() as braket:
        for angle in angles:
            arn = await braket.create_quantum_task(
                device_arn=device,
                action=_program(angle),
                shots=shots,
                output_s3_bucket=bucket,
                output_s3_key_prefix=prefix,
                job_token=os.environ["AMZN_BRAKET_JOB_TOKEN"],
            )
            print(f"{label}: submitted rx({angle:.4f}) as {arn}")
            await braket.wait_for_quantum_task(arn)
            result = await braket.get_quantum_task_result(arn)
            results[str(angle)] = {"task_arn": arn, "counts": dict(result.counts)}
            print(f"{label}: rx({angle:.4f}) counts {dict(result.counts)}")
    return results


def main(shots: int, label: str) -> None:
    channel = Path(os.environ["AMZN_BRAKET_INPUT_DIR"], "angles", "angles.json")
    angles = json.loads(channel.read_text())["angles"]
    results = asyncio.run(_run(angles, shots, label))
    checkpoint = Path(os.environ["AMZN_BRAKET_CHECKPOINT_DIR"], "done.json")
    checkpoint.write_text(json.dumps(sorted(results)))
    persisted = {
        "braketSchemaHeader": {"name": "braket.jobs_data.persisted_job_data", "version": "1"},
        "dataDictionary": {"label": label, "shots": shots, "results": results},
        "dataFormat": "plaintext",
    }
    results_file = Path(os.environ["AMZN_BRAKET_JOB_RESULTS_DIR"], "results.json")
    results_file.write_text(json.dumps(persisted))
