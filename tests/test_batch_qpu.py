"""examples/qpu_batch.py: ``submit_batch`` of 200 tasks on an emulated QPU with an hour-long
queue compressed to seconds; the tracker follows them across a window that closes (midnight)
and reopens (08:00); the results are noisy; the cost comes back as the limit's totalSpend."""

from __future__ import annotations

import importlib.util
import itertools
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from braket_async.batch import BatchProgress
from braket_async.local import LocalBraket


def _example() -> ModuleType:
    path = Path(__file__).parents[1] / "examples" / "qpu_batch.py"
    spec = importlib.util.spec_from_file_location("qpu_batch_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_two_hundred_tasks_through_a_closing_window(make_local: Any) -> None:
    example = _example()
    # An hour per real second: the hour of backlog lasts 1 s, the closed night 8 s.
    local: LocalBraket = await make_local(qpu_queue=example.QUEUE)
    seen: list[BatchProgress] = []
    report = await example.run(local, 200, progress=seen.append)

    assert report["statuses"] == {"COMPLETED": 200}
    # The tracker saw tasks waiting QUEUED (the hour of backlog, the closed window).
    assert max(p.queued for p in seen) > 0

    starts = report["starts"]
    assert len(starts) == 200
    start = example.START
    # Nothing ran during the backlog hour, nor between midnight and 08:00.
    assert starts[0] >= start + timedelta(hours=1)
    assert all(not (0 <= s.hour < 8) for s in starts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert max(gaps) >= timedelta(hours=8)  # the window closed and reopened
    before = [s for s in starts if s.date() == start.date()]
    assert 0 < len(before) < 200

    counts = report["counts"]
    assert sum(counts.values()) == 200 * 100
    ideal = counts["000"] + counts["111"]
    # IBEX-Q1's published fidelities (2Q 97.5 %): noisy, far from perfect, still a GHZ.
    assert 0.80 * 20000 < ideal < 0.985 * 20000
    # AQT: $0.30 per task + $0.0235 per shot, 100 shots.
    assert Decimal(report["cost"]) == 200 * (Decimal("0.30") + 100 * Decimal("0.0235"))
