"""The Braket SDK's documented defaults, unmodified, against the local service with only
``environ()`` applied: ``@hybrid_job`` with the default image (ECR image check), and the cost
``Tracker`` (the price list)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from braket_async.local import CONFLICTING_VARIABLES, LocalBraket
from braket_async.local._jobs import process_job_runner_factory
from braket_async.local._prices import price_of

from .test_sdk import _bell
from .test_sdk_fidelity import SV1, sdk_call


def _run_decorated_job() -> tuple[str, dict[str, Any], str]:
    from braket.aws import AwsQuantumJob
    from braket.jobs import hybrid_job

    # The SDK's log tail polls every 5 s; 0.5 s, same path (as in test_sdk_jobs).
    AwsQuantumJob.logs.__defaults__ = (False, 0.5)

    @hybrid_job(device=SV1, wait_until_complete=True)
    def bell_counts(shots: int) -> dict[str, Any]:
        import os

        from braket.aws import AwsDevice
        from braket.circuits import Circuit

        device = AwsDevice(os.environ["AMZN_BRAKET_DEVICE_ARN"])
        counts = device.run(Circuit().h(0).cnot(0, 1), shots=shots).result().measurement_counts
        return {"counts": dict(counts)}

    job = bell_counts(100)
    return (
        job.state(),
        job.result(),
        job.metadata()["algorithmSpecification"]["containerImage"]["uri"],
    )


async def test_hybrid_job_with_the_default_image_completes(
    make_local: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local: LocalBraket = await make_local(job_runner_factory=process_job_runner_factory)
    for name in CONFLICTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in local.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # the decorator writes its temporary source folder here

    state, result, image = await sdk_call(_run_decorated_job)

    assert state == "COMPLETED"
    counts = result["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100
    # the SDK's default image, which the ECR check resolved
    assert image == ("292282985366.dkr.ecr.us-east-1.amazonaws.com/amazon-braket-base-jobs:latest")
    assert local.ledger.snapshot()["calls"].get("CreateJob") == 1


def _tracked_sv1_tasks() -> tuple[Decimal, Decimal, dict[str, Any]]:
    from braket.aws import AwsDevice
    from braket.tracking import Tracker
    from braket.tracking.pricing import _pricing

    _pricing._price_list = []  # the SDK caches the price list per process: fetch the service's
    _pricing.price_search.cache_clear()
    device = AwsDevice(SV1)
    with Tracker() as tracker:
        for _ in range(2):
            device.run(_bell(), shots=100).result()
    return (
        tracker.simulator_tasks_cost(),
        tracker.qpu_tasks_cost(),
        (tracker.quantum_tasks_statistics()[SV1]),
    )


async def test_tracker_costs_sv1_tasks_at_the_published_price(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    simulator_cost, qpu_cost, stats = await sdk_call(_tracked_sv1_tasks)

    assert stats["tasks"] == {"COMPLETED": 2} and stats["shots"] == 200
    billed = stats["billed_execution_duration"]
    # each task billed at least the SDK's 3 s, at SV1's 0.075 USD per minute
    assert billed.total_seconds() >= 6
    minutes = Decimal(billed.total_seconds() * 1000) / Decimal(60_000)
    assert simulator_cost == pytest.approx(price_of(SV1).per_minute * minutes)
    assert simulator_cost > 0 and qpu_cost == 0
