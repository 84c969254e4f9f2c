"""200 circuits on an emulated QPU: an hour-long queue and a closing window, compressed.

    python examples/qpu_batch.py [N]

The local service emulates AQT IBEX-Q1 (eu-north-1) with a queue model: an hour of other users'
work ahead, a simulated hour per real second, and the device's execution windows (weekdays
08:00-24:00 UTC). The first task arrives on a Wednesday at 21:30: after the hour of backlog the
first tasks run before midnight, the window closes, and the rest wait QUEUED until it reopens
at 08:00 (eight seconds later). The tracker
follows them all; the results are noisy (the device's fidelities); the cost is read back from a
spending limit's ``totalSpend``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from braket_async import BatchOptions, BraketSession
from braket_async.batch import BatchProgress
from braket_async.local import LocalBraket, QpuQueue
from braket_async.tracking import TrackerOptions

IBEX = "arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1"
GHZ = (
    "OPENQASM 3;\nqubit[3] q;\nbit[3] c;\nh q[0];\ncnot q[0], q[1];\ncnot q[1], q[2];\n"
    "c = measure q;\n"
)
#: Wednesday 2026-12-02, 21:30 UTC.
START = datetime(2026, 12, 2, 21, 30, tzinfo=UTC)
QUEUE = QpuQueue(time_scale=3600, backlog=3600, task_seconds=30, simulated_start=START)


def show(progress: BatchProgress) -> None:
    """Print the batch's progress on one self-overwriting line."""
    print(
        f"\rsubmitted {progress.submitted}/{progress.total}  queued {progress.queued}  "
        f"running {progress.running}  completed {progress.completed}",
        end="",
        flush=True,
    )


async def run(local: LocalBraket, n: int, progress: Any = show) -> dict[str, Any]:
    """Submit ``n`` GHZ circuits to IBEX-Q1 on ``local`` (started with ``QUEUE``); returns the
    outcomes' statuses, the summed counts, the simulated start times and the cost."""
    async with BraketSession(
        endpoint_url=local.endpoint_url,
        s3_endpoint_url=local.s3_endpoint_url,
        region_name="eu-north-1",  # IBEX-Q1's region
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as braket:
        limit = await braket.create_spending_limit(device_arn=IBEX, spending_limit=1000)
        batch = braket.submit_batch(
            [GHZ] * n,
            device_arn=IBEX,
            shots=100,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="qpu-batch",
            progress=progress,
            # The service runs an hour per second, this client in real time: the simulators'
            # schedule (every 1-30 s), not a real QPU's (after 1, 3, 7 ... up to 30 minutes).
            options=BatchOptions(tracker=TrackerOptions(qpu_poll=None)),
        )
        async with batch:
            outcomes = await batch.results()
        counts: Counter[str] = Counter()
        for outcome in outcomes:
            if outcome.result is not None:
                counts.update(outcome.result.counts)
        (spend,) = [
            s
            for s in (await braket.search_spending_limits()).spending_limits
            if s.spending_limit_arn == limit
        ]
    assert local.tasks.lanes is not None
    return {
        "statuses": Counter(str(o.status) for o in outcomes),
        "counts": counts,
        "starts": [moment for _arn, moment in local.tasks.lanes.started],
        "cost": spend.total_spend,
    }


async def main(n: int) -> None:
    """Run the batch on a fresh local service and print what came back."""
    async with LocalBraket(qpu_queue=QUEUE) as local:
        report = await run(local, n)
    print()
    print("statuses", dict(report["statuses"]))
    good = report["counts"]["000"] + report["counts"]["111"]
    print(
        f"GHZ fidelity {good / sum(report['counts'].values()):.3f}", report["counts"].most_common(4)
    )
    starts = report["starts"]
    print("first task ran at", starts[0], "last at", starts[-1], "(simulated UTC)")
    print(f"cost ${report['cost']}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
