"""Limits per task in the simulator workers: time, memory, cancel, bursting; real processes,
small limits."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

import pytest

from braket_async.local._devices import default_devices
from braket_async.local._executor import ExecutionOutcome, ExecutionRequest, SimulatorExecutor

from ._processes import gone

SV1 = next(d for d in default_devices() if d.name == "SV1")
BELL = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
#: The 90-byte program of issue #10: its loop is unrolled into an ever-growing circuit.
RUNAWAY = "OPENQASM 3.0;\nqubit[1] q;\nfor int i in [0:999999999] { x q[0]; }"


def request(source: str, shots: int = 10) -> ExecutionRequest:
    action = json.dumps(
        {
            "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
            "source": source,
            "inputs": {},
        }
    )
    return ExecutionRequest("arn:task", SV1, action, None, shots, datetime.now(UTC))


def completed(outcome: ExecutionOutcome) -> None:
    assert outcome.status == "COMPLETED", outcome.failure_reason


async def _runaway_fails_and_its_worker_is_replaced(
    executor: SimulatorExecutor, reason: str
) -> int:
    """A runaway program on the one worker fails saying ``reason``; that worker process is
    gone and the next task completes. The old worker's pid."""
    [pid] = executor.worker_pids
    outcome = await executor.run(request(RUNAWAY, 1))
    assert outcome.status == "FAILED"
    assert outcome.failure_reason is not None
    assert reason in outcome.failure_reason
    assert await gone(pid)
    completed(await executor.run(request(BELL)))
    return pid


async def test_time_limit_fails_the_task_and_replaces_the_worker() -> None:
    async with SimulatorExecutor(workers=1, time_limit=2.0, memory_limit=None) as executor:
        pid = await _runaway_fails_and_its_worker_is_replaced(executor, "time limit of 2 s")
        assert executor.worker_pids and pid not in executor.worker_pids


async def test_memory_limit_fails_the_task_and_replaces_the_worker() -> None:
    # A warm worker holds ~200 MiB; the runaway grows it by tens of MiB a second.
    limit = 400 << 20
    async with SimulatorExecutor(
        workers=1, time_limit=None, memory_limit=limit, poll_interval=0.1
    ) as executor:
        reason = "memory than the local service's limit of 400 MiB"
        await _runaway_fails_and_its_worker_is_replaced(executor, reason)


async def test_cancelling_a_run_kills_its_worker_at_once() -> None:
    async with SimulatorExecutor(workers=1, time_limit=None, memory_limit=None) as executor:
        [pid] = executor.worker_pids
        run = asyncio.ensure_future(executor.run(request(RUNAWAY, 1)))
        await asyncio.sleep(0.5)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert await gone(pid, within=5.0)
        completed(await executor.run(request(BELL)))
        assert pid not in executor.worker_pids


async def test_a_runaway_on_the_only_worker_starves_no_one() -> None:
    async with SimulatorExecutor(
        workers=1, max_workers=2, burst_after=0.5, time_limit=None, memory_limit=None
    ) as executor:
        runaway = asyncio.ensure_future(executor.run(request(RUNAWAY, 1)))
        await asyncio.sleep(0.2)
        seen: set[int] = set()
        most = 0

        async def watch() -> None:
            nonlocal most
            while True:
                seen.update(executor.worker_pids)
                most = max(most, len(executor.worker_pids))
                await asyncio.sleep(0.01)

        watcher = asyncio.ensure_future(watch())
        try:
            # Enough work that the burst worker lives across many samples before it retires.
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(executor.run(request(BELL)) for _ in range(40))), 120
            )
        finally:
            watcher.cancel()
        for outcome in outcomes:
            completed(outcome)
        assert not runaway.done()  # the normal tasks did not wait for it
        assert len(seen) == 2 and most == 2  # one burst worker did the work, within the bound
        runaway.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runaway


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_limit": 0.0}, "time_limit"),
        ({"time_limit": float("inf")}, "time_limit"),
        ({"memory_limit": 0}, "memory_limit"),
        ({"memory_limit": 1.5}, "memory_limit"),
        ({"workers": 2, "max_workers": 1}, "max_workers"),
        ({"burst_after": -1.0}, "burst_after"),
        ({"poll_interval": 0.0}, "poll_interval"),
    ],
)
def test_limits_reject_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorExecutor(**kwargs)  # type: ignore[arg-type]


async def test_a_service_on_another_loop_shares_the_executor(
    simulator_executor: SimulatorExecutor,
) -> None:
    # The workers' pipes belong to the loop that started them; a call from another thread's
    # loop runs there, and cancelling it there still stops the simulation.
    async def elsewhere() -> tuple[ExecutionOutcome, bool]:
        outcome = await simulator_executor.run(request(BELL))
        runaway = asyncio.ensure_future(simulator_executor.run(request(RUNAWAY, 1)))
        await asyncio.sleep(0.5)
        runaway.cancel()
        await asyncio.wait({runaway})
        return outcome, runaway.cancelled()

    before = set(simulator_executor.worker_pids)
    outcome, cancelled = await asyncio.to_thread(asyncio.run, elsewhere())
    completed(outcome)
    assert cancelled
    # The cancel reaches the owning loop through call_soon_threadsafe: moments later.
    for _ in range(100):
        if before - set(simulator_executor.worker_pids):
            break
        await asyncio.sleep(0.05)
    [killed] = before - set(simulator_executor.worker_pids)  # the runaway's worker
    assert await gone(killed)
    completed(await simulator_executor.run(request(BELL)))


class _TotalWatch:
    """Samples the workers' count and resident memory together while a test runs."""

    def __init__(self, executor: SimulatorExecutor) -> None:
        self._executor = executor
        self.most_workers = 0
        self.most_bytes = 0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            pids = self._executor.worker_pids
            self.most_workers = max(self.most_workers, len(pids))
            self.most_bytes = max(self.most_bytes, sum(_rss(pid) for pid in pids))
            await asyncio.sleep(0.02)

    def __enter__(self) -> _TotalWatch:
        self._task = asyncio.ensure_future(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


#: A warm worker holds ~200 MiB; the runaway grows one by tens of MiB a second.
BUDGET_REASON = "simulator workers together used more memory than its budget of"


async def test_runaways_are_bounded_together() -> None:
    # Issue 20, item 7: runaways side by side were bounded one by one, so together they could
    # pass the machine's memory. Two workers, room for both warm and a little growth: the two
    # runaways together reach the budget, and the largest is stopped each time.
    budget = 500 << 20
    async with SimulatorExecutor(
        workers=2,
        max_workers=2,
        time_limit=60.0,
        memory_limit=None,
        workers_memory_limit=budget,
        poll_interval=0.1,
    ) as executor:
        with _TotalWatch(executor) as watch:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(executor.run(request(RUNAWAY, 1)) for _ in range(2))), 60
            )
        for outcome in outcomes:
            assert outcome.status == "FAILED"
            assert BUDGET_REASON in (outcome.failure_reason or ""), outcome.failure_reason
        # Never far past the budget: at most what a runaway allocates between two samples.
        assert watch.most_bytes <= budget + (100 << 20), watch.most_bytes >> 20


async def test_no_burst_worker_starts_past_the_memory_budget() -> None:
    # Room for one warm worker (~200 MiB) and a little more: a runaway on the only worker gets
    # no burst worker beside it (a second warm worker would not fit); it is stopped at the
    # budget and the waiting tasks run on its replacement.
    budget = 280 << 20
    async with SimulatorExecutor(
        workers=1,
        max_workers=3,
        burst_after=0.2,
        time_limit=60.0,
        memory_limit=None,
        workers_memory_limit=budget,
        poll_interval=0.1,
    ) as executor:
        with _TotalWatch(executor) as watch:
            runaway = asyncio.ensure_future(executor.run(request(RUNAWAY, 1)))
            await asyncio.sleep(0.1)
            waiting = [executor.run(request(BELL)) for _ in range(3)]
            outcomes = await asyncio.wait_for(asyncio.gather(runaway, *waiting), 60)
        assert outcomes[0].status == "FAILED"
        assert BUDGET_REASON in (outcomes[0].failure_reason or "")
        for outcome in outcomes[1:]:
            completed(outcome)
        assert watch.most_workers == 1
        assert watch.most_bytes <= budget + (100 << 20), watch.most_bytes >> 20
