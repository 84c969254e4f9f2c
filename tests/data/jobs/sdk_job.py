"""A hybrid job written against the Amazon Braket SDK only, as its users write them.

It runs a Bell circuit on the job's device through ``AwsDevice`` (which tags the task with the
job token from the environment) and saves the counts with ``save_job_result``.
"""

from __future__ import annotations

from braket.aws import AwsDevice
from braket.circuits import Circuit
from braket.jobs import get_job_device_arn, get_job_name, save_job_result
from braket.jobs.environment_variables import get_hyperparameters


def start_here() -> None:
    shots = int(get_hyperparameters()["shots"])
    device = AwsDevice(get_job_device_arn())
    print(f"job {get_job_name()} running a Bell pair on {device.name} with {shots} shots")
    task = device.run(Circuit().h(0).cnot(0, 1), shots=shots)
    counts = task.result().measurement_counts
    print(f"counts: {dict(counts)}")
    save_job_result({"counts": dict(counts), "task_arn": task.id})
