"""The parent side of the simulator workers: start, feed, watch, kill and replace them.

:class:`WorkerPool` keeps ``size`` worker processes (``_worker.py``) and gives each job to an
idle one. While a job runs, its worker is watched: past ``time_limit`` seconds, or once its
resident memory passes ``memory_limit`` bytes (sampled every ``poll_interval`` s from
``/proc``; elsewhere with psutil when it is installed, else not enforced), the worker is killed
and replaced and the job ends with :class:`LimitExceeded`. A job whose ``run`` is cancelled
kills its worker too: the simulation stops at once instead of running on unseen.

One runaway never starves the others: when every worker has been busy with its current job
for ``burst_after`` seconds and jobs are waiting, the pool starts one extra worker at a time,
up to ``max_size``; extra workers retire as soon as they are idle and nothing waits.

Runaways are also bounded together: ``total_memory_limit`` bytes for all workers at once. On
every sample, when the workers' resident memory adds up past it, the busy worker holding the
most is killed (its job ends with :class:`LimitExceeded`, naming the budget), as a job past its
own limit is; and a burst worker starts only while the total plus one more warm worker fits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import struct
import sys
from pathlib import Path
from typing import Any

from ._worker import BOOTSTRAP, decode_header, encode_message

__all__ = ["LimitExceeded", "PoolClosed", "WorkerDied", "WorkerPool"]

_log = logging.getLogger(__name__)
_PREFIX = struct.Struct(">II")
_PACKAGE = Path(__file__).resolve().parent


class WorkerDied(Exception):
    """The worker running a job exited without answering."""


class LimitExceeded(Exception):
    """A job passed its time or memory limit; its worker was killed."""


class PoolClosed(Exception):
    """The pool closed before the job ran or while it ran."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid
        self.busy_since: float | None = None

    @classmethod
    async def spawn(cls, wait: float, starting: set[asyncio.subprocess.Process]) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            "-c",
            BOOTSTRAP,
            str(_PACKAGE.parent),
            str(_PACKAGE),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        starting.add(process)
        try:
            header, _ = await asyncio.wait_for(worker.receive(), wait)
            if "ready" not in header:
                raise WorkerDied(f"unexpected first message from a worker: {header!r}")
        except BaseException:
            await worker.kill()
            raise
        finally:
            starting.discard(process)
        return worker

    async def receive(self) -> tuple[dict[str, Any], bytes]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            header_size, body_size = _PREFIX.unpack(await stdout.readexactly(_PREFIX.size))
            header = decode_header(await stdout.readexactly(header_size))
            body = await stdout.readexactly(body_size)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            code = await self._exit_code()
            raise WorkerDied(
                f"the simulator worker (pid {self.pid}) exited unexpectedly (exit code {code})"
            ) from exc
        return header, body

    async def send(self, header: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(encode_message(header))
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerDied(f"the simulator worker (pid {self.pid}) is gone") from exc

    async def _exit_code(self) -> int | None:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.process.wait(), 1.0)
        return None

    def resident_bytes(self) -> int | None:
        """The worker's resident memory, or ``None`` where it cannot be read."""
        return _resident_bytes(self.pid)

    def signal_kill(self) -> None:
        """SIGKILL the worker now (reap it with :meth:`kill`)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def kill(self) -> None:
        """SIGKILL the worker and reap it."""
        self.signal_kill()
        await self._reap()

    async def retire(self, grace: float = 5.0) -> None:
        """Close its stdin (it exits at EOF); kill it if it lingers."""
        stdin = self.process.stdin
        if stdin is not None:
            stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.process.wait()), grace)
        await self.kill()

    async def _reap(self) -> None:
        stdin = self.process.stdin
        if stdin is not None:
            stdin.close()
        await self.process.wait()
        stdout = self.process.stdout
        if stdout is not None:
            # Drain what is left so the pipe transport sees EOF and closes.
            with contextlib.suppress(Exception):
                await stdout.read()


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


_PAGE = _page_size()


def _resident_bytes(pid: int) -> int | None:
    # /proc reads never touch a disk: cheap enough for the event loop at a few per second.
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except FileNotFoundError:
        if not os.path.isdir("/proc/self"):
            return _resident_bytes_psutil(pid)
        return None
    except (OSError, ValueError, IndexError):
        return None


def _resident_bytes_psutil(pid: int) -> int | None:
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        rss: int = psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None
    return rss


class WorkerPool:
    """``size`` simulator workers (bursting to ``max_size``), with limits per job."""

    def __init__(
        self,
        size: int,
        *,
        max_size: int,
        burst_after: float,
        time_limit: float | None,
        memory_limit: int | None,
        total_memory_limit: int | None = None,
        poll_interval: float = 0.25,
        start_timeout: float = 120.0,
    ) -> None:
        self.size = size
        self.max_size = max(size, max_size)
        self.burst_after = burst_after
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.total_memory_limit = total_memory_limit
        self._warm_bytes = 0
        self.poll_interval = poll_interval
        self.start_timeout = start_timeout
        self._live: set[_Worker] = set()
        self._idle: list[_Worker] = []
        self._waiters: collections.deque[asyncio.Future[_Worker]] = collections.deque()
        self._spawning = 0
        #: Processes still warming up, so that close() can stop them too.
        self._starting: set[asyncio.subprocess.Process] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._all_free = asyncio.Event()
        self._all_free.set()
        self._closed = False

    # Lifecycle -------------------------------------------------------------------------------

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return sorted(w.pid for w in self._live)

    async def start(self) -> None:
        """Start ``size`` workers together and wait until each is warm."""
        self._spawning += self.size
        spawns = [asyncio.ensure_future(self._spawn()) for _ in range(self.size)]
        try:
            workers = await asyncio.gather(*spawns)
        except BaseException:
            for spawn in spawns:
                spawn.cancel()
            results = await asyncio.gather(*spawns, return_exceptions=True)
            for result in results:
                if isinstance(result, _Worker):
                    await self._discard_now(result)
            raise
        for worker in workers:
            self._idle.append(worker)

    async def _spawn(self) -> _Worker:
        """Start one worker (the caller has counted it in ``_spawning``)."""
        try:
            worker = await _Worker.spawn(self.start_timeout, self._starting)
        finally:
            self._spawning -= 1
        if self._closed:
            await worker.kill()
            raise PoolClosed
        self._live.add(worker)
        # What one more warm worker will hold: the measure of the burst check.
        self._warm_bytes = max(self._warm_bytes, worker.resident_bytes() or 0)
        return worker

    async def close(self, grace: float) -> None:
        """Refuse new jobs, give running ones ``grace`` seconds, then kill every worker."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed())
        for process in list(self._starting):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._retire(w) for w in idle))
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_free.wait(), grace)
        await asyncio.gather(*(w.kill() for w in list(self._live)))
        self._live.clear()
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _in_background(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Running jobs ----------------------------------------------------------------------------

    async def run(self, job: list[Any]) -> tuple[dict[str, Any], bytes]:
        """Run ``job`` on a worker; returns the worker's reply ``(header, body)``.

        Raises :class:`LimitExceeded` or :class:`WorkerDied` (the worker is replaced),
        ``RuntimeError`` once closed. Cancelling kills the worker running the job.
        """
        worker = await self._acquire()
        try:
            reply = await self._supervise(worker, job)
        except WorkerDied as exc:
            self._discard(worker)
            if self._closed:  # close() killed it
                raise PoolClosed from exc
            raise
        except BaseException:
            self._discard(worker)
            raise
        self._release(worker)
        return reply

    async def _supervise(self, worker: _Worker, job: list[Any]) -> tuple[dict[str, Any], bytes]:
        await worker.send({"job": job})
        loop = asyncio.get_running_loop()
        deadline = None if self.time_limit is None else loop.time() + self.time_limit
        reply = asyncio.ensure_future(worker.receive())
        try:
            watch_memory = self.memory_limit is not None or self.total_memory_limit is not None
            while True:
                timeout = self.poll_interval if watch_memory else None
                if deadline is not None:
                    left = max(0.0, deadline - loop.time())
                    timeout = left if timeout is None else min(timeout, left)
                await asyncio.wait({reply}, timeout=timeout)
                if reply.done():
                    return reply.result()
                if deadline is not None and loop.time() >= deadline:
                    raise LimitExceeded(
                        f"The quantum task ran longer than the local service's time limit of "
                        f"{self.time_limit:g} s per task, so its simulation was stopped."
                    )
                if self.memory_limit is not None:
                    resident = worker.resident_bytes()
                    if resident is not None and resident > self.memory_limit:
                        raise LimitExceeded(
                            f"The quantum task used more memory than the local service's limit "
                            f"of {_mib(self.memory_limit)} per task (its simulator worker "
                            f"reached {_mib(resident)}), so its simulation was stopped."
                        )
                self._check_total_memory(worker)
        finally:
            if not reply.done():
                reply.cancel()
                await asyncio.wait({reply})  # never raises: a cancel of ours still reaches us

    def _resident(self) -> dict[_Worker, int]:
        """Resident bytes of each live worker whose memory can be read."""
        sizes = {w: w.resident_bytes() for w in self._live}
        return {w: size for w, size in sizes.items() if size is not None}

    def _starting_bytes(self) -> int:
        """Resident bytes of the workers still warming up (they count against the budget)."""
        return sum(_resident_bytes(p.pid) or 0 for p in self._starting)

    def _check_total_memory(self, worker: _Worker) -> None:
        """Raise :class:`LimitExceeded` when all workers together hold more than the budget
        and ``worker`` is the busy one holding the most (the one whose job is stopped)."""
        budget = self.total_memory_limit
        if budget is None:
            return
        sizes = self._resident()
        total = sum(sizes.values()) + self._starting_bytes()
        if total <= budget:
            return
        busy = [w for w in sizes if w.busy_since is not None]
        largest = max(busy, key=lambda w: (sizes[w], w.pid), default=None)
        if largest is worker:
            raise LimitExceeded(
                f"The local service's simulator workers together used more memory than its "
                f"budget of {_mib(budget)} for all workers ({_mib(total)}; this task's worker "
                f"held {_mib(sizes[worker])}, the most), so this task's simulation was stopped."
            )

    def _room_for_a_worker(self) -> bool:
        """Whether one more warm worker fits in the total memory budget."""
        budget = self.total_memory_limit
        if budget is None:
            return True
        total = sum(self._resident().values()) + self._starting_bytes()
        return total + self._warm_bytes <= budget

    async def _acquire(self) -> _Worker:
        if self._closed:
            raise PoolClosed
        if self._idle:
            return self._take(self._idle.pop())
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Worker] = loop.create_future()
        self._waiters.append(waiter)
        try:
            while True:
                self._replenish()
                await asyncio.wait({waiter}, timeout=self._burst_check_in())
                if waiter.done():
                    return self._take(waiter.result())
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _take(self, worker: _Worker) -> _Worker:
        worker.busy_since = asyncio.get_running_loop().time()
        self._busy += 1
        self._all_free.clear()
        return worker

    def _free(self, worker: _Worker) -> None:
        if worker.busy_since is not None:
            worker.busy_since = None
            self._busy -= 1
            if not self._busy:
                self._all_free.set()

    def _release(self, worker: _Worker) -> None:
        """``worker`` is free: hand it to the oldest waiter, retire it, or keep it idle."""
        self._free(worker)
        if worker not in self._live:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        if self._closed or len(self._live) > self.size:
            self._live.discard(worker)
            self._in_background(self._retire(worker))
        else:
            self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        """Kill ``worker`` (its job is over one way or another) and start a replacement."""
        self._free(worker)
        self._live.discard(worker)
        worker.signal_kill()  # at once: the simulation stops before the caller moves on
        self._in_background(worker.kill())
        self._replenish()

    async def _discard_now(self, worker: _Worker) -> None:
        self._live.discard(worker)
        await worker.kill()

    async def _retire(self, worker: _Worker) -> None:
        self._live.discard(worker)
        await worker.retire()

    def _replenish(self) -> None:
        """Start a worker if fewer than ``size`` exist, or a burst worker if every worker has
        been busy for ``burst_after`` s while jobs wait (one start at a time)."""
        if self._closed or self._spawning:
            return
        total = len(self._live)
        if total < self.size or (
            self._waiters
            and total < self.max_size
            and self._all_busy_for(self.burst_after)
            and self._room_for_a_worker()
        ):
            self._spawning += 1
            self._in_background(self._add_worker())

    def _all_busy_for(self, seconds: float) -> bool:
        now = asyncio.get_running_loop().time()
        return all(w.busy_since is not None and now - w.busy_since >= seconds for w in self._live)

    def _burst_check_in(self) -> float | None:
        """Seconds until bursting may become possible (``None``: only a free worker helps)."""
        if len(self._live) + self._spawning >= self.max_size or self._spawning:
            return None if self._spawning == 0 else self.poll_interval
        started = [w.busy_since for w in self._live if w.busy_since is not None]
        if len(started) < len(self._live):
            return None
        now = asyncio.get_running_loop().time()
        latest = max(started, default=now)
        wait = latest + self.burst_after - now
        # Past it, no burst started: the memory budget had no room; look again next sample.
        return max(0.01, wait) if wait > 0 else self.poll_interval

    async def _add_worker(self) -> None:
        try:
            worker = await self._spawn()
        except PoolClosed:
            return
        except Exception as exc:
            if self._closed:
                return  # close() stopped it while it started
            _log.warning("local Braket: a simulator worker failed to start: %r", exc)
            if not self._live and not self._spawning:
                error = RuntimeError(
                    "SimulatorExecutor lost its workers and could not restart them"
                )
                error.__cause__ = exc
                while self._waiters:
                    waiter = self._waiters.popleft()
                    if not waiter.done():
                        waiter.set_exception(error)
            return
        self._release(worker)


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.0f} MiB"
