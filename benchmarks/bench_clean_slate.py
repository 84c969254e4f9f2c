"""What a clean slate costs a test: ``reset()`` of the session's service vs a fresh service.

Side by side, on one :class:`ThreadedLocalBraket` (the pytest plugin's default mode), each round
after ``--tasks`` tasks ran to COMPLETED:

- ``reset``: ``local.reset()`` (the ``braket_clean`` fixture; ``POST /_local/reset``);
- ``marker``: start and stop a service sharing the session's thread, workers and moto (what
  ``@pytest.mark.braket_local(...)`` does);
- ``fresh``: start and stop a whole ``ThreadedLocalBraket`` (its own moto server and simulator
  workers: a new session), timed for ``--fresh-rounds`` rounds only (seconds each).

Medians (ms) and the ratios ``marker / reset`` and ``fresh / reset`` are printed.

    python benchmarks/bench_clean_slate.py [--rounds N] [--tasks N] [--fresh-rounds N]

Writes ``benchmarks/out/bench_clean_slate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from _harness import write_json

from braket_async.local import ServiceThread, ThreadedLocalBraket
from braket_async.local._executor import SimulatorExecutor

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = json.dumps({
    "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
    "source": "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;",
})  # fmt: skip


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000.0


def _run_tasks(local: ThreadedLocalBraket, count: int) -> None:
    braket = boto3.client(
        "braket",
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id=local.credentials[0],
        aws_secret_access_key=local.credentials[1],
    )
    arns = [
        braket.create_quantum_task(
            deviceArn=SV1, action=BELL, shots=10, outputS3Bucket=local.default_bucket,
            outputS3KeyPrefix="bench",
        )["quantumTaskArn"]
        for _ in range(count)
    ]  # fmt: skip
    for arn in arns:
        while braket.get_quantum_task(quantumTaskArn=arn)["status"] != "COMPLETED":
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--fresh-rounds", type=int, default=3)
    args = parser.parse_args()

    thread = ServiceThread().start()
    executor = SimulatorExecutor(workers=1)
    thread.run(executor.start())
    times: dict[str, list[float]] = {"reset": [], "marker": [], "fresh": []}
    try:
        with ThreadedLocalBraket(thread=thread, executor=executor) as session:
            for _ in range(args.rounds):
                _run_tasks(session, args.tasks)
                times["reset"].append(_timed(session.reset))

                def marker() -> None:
                    with ThreadedLocalBraket(
                        thread=thread, executor=executor, s3_endpoint_url=session.s3_endpoint_url
                    ):
                        pass

                times["marker"].append(_timed(marker))
        for _ in range(args.fresh_rounds):

            def fresh() -> None:
                with ThreadedLocalBraket(workers=1):
                    pass

            times["fresh"].append(_timed(fresh))
    finally:
        thread.run(executor.close())
        thread.stop()

    medians = {name: statistics.median(values) for name, values in times.items()}
    result: dict[str, Any] = {
        "rounds": args.rounds,
        "tasks_per_round": args.tasks,
        "fresh_rounds": args.fresh_rounds,
        "median_ms": medians,
        "ratio_marker_to_reset": medians["marker"] / medians["reset"],
        "ratio_fresh_to_reset": medians["fresh"] / medians["reset"],
        "samples_ms": times,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()},
    }  # fmt: skip
    for name, value in medians.items():
        print(f"{name:>7}: median {value:9.1f} ms")
    print(f"marker / reset = {result['ratio_marker_to_reset']:.1f}x, "
          f"fresh / reset = {result['ratio_fresh_to_reset']:.1f}x")  # fmt: skip
    print(write_json("bench_clean_slate.json", result))


if __name__ == "__main__":
    main()
