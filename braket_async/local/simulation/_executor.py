"""Runs quantum tasks on ``amazon-braket-default-simulator`` in worker processes.

The event loop never simulates: :class:`SimulatorExecutor` runs tasks on a
:class:`~._pool.WorkerPool` of worker processes (``_worker.py``), each a fresh ``python`` that
imports only the simulator modules (never the user's ``__main__``, so scripts need no
``if __name__ == "__main__":`` guard) and is warmed at :meth:`SimulatorExecutor.start`, so the
simulator's ~2 s import is paid once. The pool enforces the limits per task (time, memory),
kills the worker of a cancelled task, and grows for a while when a runaway holds every worker.
A task crosses the process boundary as a JSON list of plain values and comes back as the
``results.json`` text (``braket.task_result.gate_model_task_result`` v1), which the service can
upload verbatim; :attr:`ExecutionOutcome.result` is that document parsed.

What ends a task FAILED (never an exception): a device with no local engine, shots outside the
device's ``shotsRange``, an action the device does not list, a malformed action or device
parameters, a program the simulator rejects, more qubits than the device has or than the local
engine simulates (``max_local_qubits``; TN1's 50 qubits run on the state-vector engine only up
to that limit), a simulation past the time or memory limit per task, or a worker that died.

Device parameters: ``paradigmParameters.qubitCount`` is checked against the device's qubit count
(as the service does); ``disableQubitRewiring`` is accepted and has no effect on the managed
simulators, and keeps a QPU program on the qubits it names (``_compile``). A QPU task's OpenQASM
program is compiled to the device's native gates and connectivity in the worker (``_compile``).
The default simulator simulates only the qubits a program uses, so a program that declares
``qubit[40]`` but touches two qubits fails on SV1 (device limit: declared qubits count) but
needs only two qubits of engine memory.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ..._base import AsyncContext
from ..devices._devices import SIMULATOR_ENGINES, LocalDevice
from ..devices._noise import NoiseLevels, noise_levels
from ._compile import CompileTarget
from ._limits import (
    DEFAULT_BURST_AFTER,
    DEFAULT_TASK_MEMORY_LIMIT,
    DEFAULT_TASK_TIME_LIMIT,
    DEFAULT_WORKERS_MEMORY_LIMIT,
)
from ._pool import LimitExceeded, PoolClosed, WorkerDied, WorkerPool
from ._simulate import format_timestamp

__all__ = [
    "DEFAULT_MAX_LOCAL_QUBITS",
    "ExecutionOutcome",
    "ExecutionRequest",
    "SimulatorExecutor",
    "format_timestamp",
]

#: The most qubits each local engine simulates: what the engines report as their own
#: ``paradigm.qubitCount`` (26 qubits of state vector is 1 GiB; 13 of density matrix, 1 GiB).
DEFAULT_MAX_LOCAL_QUBITS: Mapping[str, int] = {
    "state_vector": 26,
    "density_matrix": 13,
    # Atoms of an analog (AHS) program: the Rydberg simulator's cost grows as 2^atoms.
    "analog_hamiltonian": 12,
}

_WARM_TIMEOUT = 120.0
_T = TypeVar("_T")


@attrs.frozen
class ExecutionRequest:
    """One task for the executor. ``action`` and ``device_parameters`` are the raw JSON strings of
    CreateQuantumTask; ``created_at`` becomes ``taskMetadata.createdAt``."""

    task_arn: str
    device: LocalDevice
    action: str
    device_parameters: str | None
    shots: int
    created_at: datetime


@attrs.frozen
class ExecutionOutcome:
    """How a task ended.

    ``status`` is ``"COMPLETED"`` (``result`` is the GateModelTaskResult document) or
    ``"FAILED"`` (``failure_reason`` says why). ``result_json``, when set, is ``result`` as the
    worker serialized it: upload it as-is instead of re-encoding ``result`` on the event loop.
    """

    status: str = attrs.field(validator=attrs.validators.in_(("COMPLETED", "FAILED")))
    result: dict[str, Any] | None
    failure_reason: str | None
    result_json: str | None = attrs.field(default=None, kw_only=True, repr=False, eq=False)

    @classmethod
    def failed(cls, reason: str) -> ExecutionOutcome:
        """A FAILED outcome with ``reason``."""
        return cls("FAILED", None, reason)


class SimulatorExecutor(AsyncContext):
    """A pool of simulator worker processes (default ``min(2, os.cpu_count())``).

    ``await start()`` before :meth:`run`; ``await close()`` (or ``async with``) to stop the
    workers. ``max_local_qubits`` overrides :data:`DEFAULT_MAX_LOCAL_QUBITS` per engine.
    :meth:`close` gives running simulations ``close_grace`` seconds, then kills them.

    Limits per task (``None``: none): ``time_limit`` seconds of simulation and
    ``memory_limit`` bytes of worker memory; past either, the worker is killed and replaced and
    the task ends FAILED with the reason. Cancelling :meth:`run` kills the worker running it.
    When every worker has been busy for ``burst_after`` seconds and tasks wait, extra workers
    start, up to ``max_workers`` (default ``workers + 2``), so one runaway starves no one.
    ``workers_memory_limit`` (default half the machine's memory; ``None``: none) bounds all
    workers together: past it the busy worker holding the most is killed (its task FAILS), and
    an extra worker starts only while one more fits.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        max_local_qubits: Mapping[str, int] | None = None,
        close_grace: float = 5.0,
        time_limit: float | None = DEFAULT_TASK_TIME_LIMIT,
        memory_limit: int | None = DEFAULT_TASK_MEMORY_LIMIT,
        max_workers: int | None = None,
        burst_after: float = DEFAULT_BURST_AFTER,
        poll_interval: float = 0.25,
        workers_memory_limit: int | None = DEFAULT_WORKERS_MEMORY_LIMIT,
        noise: bool = True,
    ) -> None:
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        if not _positive_int(workers):
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        limits = dict(DEFAULT_MAX_LOCAL_QUBITS)
        for engine, limit in (max_local_qubits or {}).items():
            if engine not in SIMULATOR_ENGINES:
                raise ValueError(
                    f"max_local_qubits keys must be in {sorted(SIMULATOR_ENGINES)}, got {engine!r}"
                )
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"max_local_qubits[{engine!r}] must be a positive int")
            limits[engine] = limit
        if close_grace < 0:
            raise ValueError(f"close_grace must be >= 0 seconds, got {close_grace}")
        if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
            raise ValueError(f"time_limit must be > 0 seconds or None, got {time_limit}")
        if memory_limit is not None and not _positive_int(memory_limit):
            raise ValueError(
                f"memory_limit must be a positive int (bytes) or None, got {memory_limit!r}"
            )
        if workers_memory_limit is not None and not _positive_int(workers_memory_limit):
            raise ValueError(
                "workers_memory_limit must be a positive int (bytes) or None, "
                f"got {workers_memory_limit!r}"
            )
        if max_workers is None:
            max_workers = workers + 2
        if not _positive_int(max_workers) or max_workers < workers:
            raise ValueError(
                f"max_workers must be an int >= workers ({workers}), got {max_workers!r}"
            )
        if not (math.isfinite(burst_after) and burst_after >= 0):
            raise ValueError(f"burst_after must be >= 0 seconds, got {burst_after}")
        if not (math.isfinite(poll_interval) and poll_interval > 0):
            raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval}")
        self._workers = workers
        self._limits = limits
        self._close_grace = close_grace
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.workers_memory_limit = workers_memory_limit
        self.max_workers = max_workers
        self._pool = WorkerPool(
            workers,
            max_size=max_workers,
            burst_after=burst_after,
            time_limit=time_limit,
            memory_limit=memory_limit,
            total_memory_limit=workers_memory_limit,
            poll_interval=poll_interval,
            start_timeout=_WARM_TIMEOUT,
        )
        self._started = False
        self._starting = False
        self._closed = False
        self._home: asyncio.AbstractEventLoop | None = None
        #: Whether QPU tasks run under their device's noise model (``_noise``).
        self.noise = noise
        self._noise_levels: dict[str, NoiseLevels | None] = {}
        self._targets: dict[str, list[Any] | None] = {}

    @property
    def workers(self) -> int:
        """Number of worker processes kept (more run for a while when all are busy)."""
        return self._workers

    @property
    def started(self) -> bool:
        """Whether the pool is running."""
        return self._started

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes now alive."""
        return self._pool.pids

    async def start(self) -> None:
        """Start the workers and wait until each has imported and exercised the simulator."""
        if self._closed:
            raise RuntimeError("SimulatorExecutor is closed")
        if self._started:
            raise RuntimeError("SimulatorExecutor is already started")
        if self._starting:
            raise RuntimeError("SimulatorExecutor is already starting")
        self._starting = True
        self._home = asyncio.get_running_loop()
        try:
            await self._pool.start()
        except Exception as exc:
            if self._closed:
                raise RuntimeError("SimulatorExecutor was closed while starting") from exc
            raise RuntimeError(
                "The simulator worker processes exited while starting; their error output "
                "(stderr) says why."
            ) from exc
        finally:
            self._starting = False
        if self._closed:
            await self._pool.close(0.0)
            raise RuntimeError("SimulatorExecutor was closed while starting")
        self._started = True

    async def close(self) -> None:
        """Stop the workers: waiting tasks end FAILED, running ones too if they outlast
        ``close_grace``. Idempotent."""
        self._closed = True
        self._started = False
        if self._home is None or self._home.is_closed():
            await self._pool.close(self._close_grace)
        else:
            await self._on_home_loop(self._pool.close(self._close_grace))

    async def _on_home_loop(self, work: Coroutine[Any, Any, _T]) -> _T:
        """Await ``work`` on the loop that started the workers (their pipes belong to it):
        a service on another loop (another thread) may share this executor. Cancelling the
        caller cancels ``work`` there."""
        home = self._home
        if home is None or home is asyncio.get_running_loop():
            return await work
        if home.is_closed() or not home.is_running():
            work.close()
            raise RuntimeError(
                "SimulatorExecutor's event loop is not running: use the executor while the "
                "loop that started it runs"
            )
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, home))

    async def _enter(self) -> None:
        await self.start()

    async def _exit(self) -> None:
        await self.close()

    async def run(self, request: ExecutionRequest) -> ExecutionOutcome:
        """Run one task in a worker. Bad programs give a FAILED outcome, never an exception;
        using the executor before :meth:`start` or after :meth:`close` raises RuntimeError.
        Cancelling the call stops the simulation (its worker is killed and replaced)."""
        if not self._started:
            if self._closed:
                raise RuntimeError("SimulatorExecutor is closed")
            raise RuntimeError("SimulatorExecutor is not started: await start() first")
        device = request.device
        if device.simulator is None:
            return ExecutionOutcome.failed(
                f"Device {device.arn} is a {device.device_type} with no local simulator; "
                "the local service cannot run tasks on it."
            )
        low, high = device.shots_range
        if not low <= request.shots <= high:
            return ExecutionOutcome.failed(
                f"Shots {request.shots} is out of range for device {device.arn}: "
                f"shots must be between {low} and {high}."
            )
        job = (
            request.task_arn,
            device.arn,
            device.simulator,
            device.qubit_count,
            self._limits[device.simulator],
            tuple(sorted(device.supported_action_names)),
            request.action,
            request.device_parameters,
            request.shots,
            format_timestamp(request.created_at),
            self._noise_of(device),
            self._target_of(device),
        )
        try:
            header, body = await self._on_home_loop(self._pool.run(list(job)))
        except LimitExceeded as exc:
            return ExecutionOutcome.failed(str(exc))
        except WorkerDied:
            # Killed from outside (e.g. by the OOM killer), or it crashed: the task fails and
            # a fresh worker takes its place.
            return ExecutionOutcome.failed(
                "The local simulator worker running this task exited unexpectedly."
            )
        except PoolClosed:
            return ExecutionOutcome.failed("The local service closed before this task ended.")
        status, reason = header.get("status"), header.get("reason")
        if status != "COMPLETED" or not body:
            return ExecutionOutcome.failed(reason or "The local simulator failed without a reason.")
        text = body.decode()
        return ExecutionOutcome("COMPLETED", json.loads(text), None, result_json=text)

    def _noise_of(self, device: LocalDevice) -> list[Any] | None:
        """The noise model a QPU task runs under (JSON form), or None (simulators, noise off)."""
        if not (self.noise and device.is_qpu):
            return None
        if device.arn not in self._noise_levels:
            self._noise_levels[device.arn] = noise_levels(device.capabilities)
        levels = self._noise_levels[device.arn]
        return None if levels is None else levels.as_list()

    def _target_of(self, device: LocalDevice) -> list[Any] | None:
        """What the worker compiles a QPU task for (JSON form; ``_compile``), or None for a
        simulator or a device without a native gate set."""
        if not (device.is_qpu and device.native_gates):
            return None
        if device.arn not in self._targets:
            target = CompileTarget.from_capabilities(
                device.arn, device.provider_name, device.capabilities
            )
            self._targets[device.arn] = target.as_list()
        return self._targets[device.arn]


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# ---------------------------------------------------------------------------------------------
# Worker side (called by ``_worker.main``): module globals live in each worker process only.


# ---------------------------------------------------------------------------------------------
# Result shaping of the other actions (dispatched from _simulate on the action's schema name).
