"""At scale the scheduler's work per round follows the due tasks: it never walks every pending
task (a heap orders them by due time), and entries are compact."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

from braket_async.tracking import TaskEntry, TaskTracker

from ._fake import SV1, FakeBraket, feed


class NoWalk(dict[str, Any]):
    """A pending-task mapping that refuses to be walked (lookups, pops, len are fine)."""

    def _refuse(self, *_: object) -> NoReturn:
        raise AssertionError("the scheduler walked every pending task")

    def __iter__(self) -> Iterator[str]:
        self._refuse()

    values = items = keys = copy = _refuse  # type: ignore[assignment]


async def test_the_scheduler_never_walks_all_pending_tasks() -> None:
    fake = FakeBraket()
    tracker = TaskTracker(fake)
    tracker._reg.pending = NoWalk()
    durations = [2.0 + (i * 7919 % 40) for i in range(3000)]
    async with tracker:
        feeder = asyncio.create_task(feed(fake, tracker, durations, rate=50.0))
        seen = [s async for s in tracker.as_completed(details=False, until_sealed=True)]
        await feeder
    assert len(seen) == len(durations) == len(set(s.quantum_task_arn for s in seen))
    assert tracker.stats.window_sweeps > 10


async def test_late_added_tasks_are_located_without_walking_either() -> None:
    fake = FakeBraket()
    fake.now = 3600.0
    arns = [fake.create(1.0 + i % 7, at=float(i)) for i in range(1000)]
    tracker = TaskTracker(fake)
    tracker._reg.pending = NoWalk()
    for arn in arns:
        tracker.add(arn, device_arn=SV1)
    done = await tracker.wait_all(details=False)
    assert len(done) == 1000
    assert tracker.stats.status_calls <= 0.15 * 1000


def test_a_pending_entry_is_compact() -> None:
    entry = TaskEntry("arn:aws:braket:us-east-1:123456789012:quantum-task/x", 0.0, None, None)
    assert not hasattr(entry, "__dict__")  # slots only
    assert sys.getsizeof(entry) <= 200
