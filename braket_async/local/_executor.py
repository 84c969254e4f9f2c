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
(as the service does); ``disableQubitRewiring`` is accepted and has no effect, as on the managed
simulators. The default simulator simulates only the qubits a program uses, so a program that
declares ``qubit[40]`` but touches two qubits fails on SV1 (device limit: declared qubits count)
but needs only two qubits of engine memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import time
import warnings
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from ._adjoint_gradient import extract_adjoint_gradient
from ._devices import AHS_C6_COEFFICIENT, SIMULATOR_ENGINES, LocalDevice
from ._limits import (
    DEFAULT_BURST_AFTER,
    DEFAULT_TASK_MEMORY_LIMIT,
    DEFAULT_TASK_TIME_LIMIT,
    DEFAULT_WORKERS_MEMORY_LIMIT,
)
from ._noise import NoiseLevels, add_noise, noise_levels
from ._pool import LimitExceeded, PoolClosed, WorkerDied, WorkerPool
from ._pragmas import split_pragmas
from ._program_sets import run_program_set
from ._simulate_ahs import simulate_ahs

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

_OPENQASM = "braket.ir.openqasm.program"
_JAQCD = "braket.ir.jaqcd.program"
_PROGRAM_SET = "braket.ir.openqasm.program_set"
_AHS = "braket.ir.ahs.program"
_RESULT_HEADER = {"name": "braket.task_result.gate_model_task_result", "version": "1"}
_METADATA_HEADER = {"name": "braket.task_result.task_metadata", "version": "1"}
_SIMULATOR_METADATA_HEADER = {"name": "braket.task_result.simulator_metadata", "version": "1"}
_WARM_TIMEOUT = 120.0
_T = TypeVar("_T")


def format_timestamp(moment: datetime) -> str:
    """``2024-01-02T03:04:05.678Z``: the millisecond UTC form of task results (naive = UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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


class SimulatorExecutor:
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

    async def __aenter__(self) -> SimulatorExecutor:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# ---------------------------------------------------------------------------------------------
# Worker side (called by ``_worker.main``): module globals live in each worker process only.

_ENGINES: dict[str, Any] = {}


class _QubitLimitExceeded(Exception):
    pass


def _limited(base: type[Any]) -> type[Any]:
    """``base`` (a default-simulator class) that refuses programs over the current limits
    before allocating any state."""

    class Limited(base):  # type: ignore[misc]
        limits: tuple[str, int, str, int] = ("", 0, "", 0)
        #: The noise model of the task being run (QPU tasks), set per task.
        noise: NoiseLevels | None = None
        _properties: Any = None

        @property
        def properties(self) -> Any:
            # The engine rebuilds this pydantic document on every run to validate the program
            # (about a quarter of a small task's time); it never changes, so build it once.
            if self._properties is None:
                self._properties = super().properties
            return self._properties

        def _check_declared(self, context: Any) -> Any:
            device_arn, device_qubits, _engine, _engine_qubits = self.limits
            declared = max(int(context.num_qubits), len(context.circuit.qubit_set))
            if declared > device_qubits:
                raise _QubitLimitExceeded(
                    f"Program uses {declared} qubits, more than the {device_qubits} qubits "
                    f"supported by device {device_arn}."
                )
            if self.noise is not None and not getattr(context, "is_branched", False):
                circuit = context.circuit
                measured = list(circuit.measured_qubits or ()) or sorted(circuit.qubit_set)
                circuit.instructions[:] = add_noise(
                    list(circuit.instructions), measured, self.noise
                )
            return context

        def parse_program(self, program: Any) -> Any:
            return self._check_declared(super().parse_program(program))

        def _parse_program_with_shots(self, program: Any, shots: int) -> Any:
            return self._check_declared(super()._parse_program_with_shots(program, shots))

        def initialize_simulation(self, **kwargs: Any) -> Any:
            device_arn, device_qubits, engine, engine_qubits = self.limits
            qubits = int(kwargs.get("qubit_count") or 0)
            if qubits > device_qubits:
                raise _QubitLimitExceeded(
                    f"Program uses {qubits} qubits, more than the {device_qubits} qubits "
                    f"supported by device {device_arn}."
                )
            if qubits > engine_qubits:
                raise _QubitLimitExceeded(
                    f"Program needs {qubits} qubits on the local {engine.replace('_', '-')} "
                    f"engine, which simulates at most {engine_qubits}; the local service cannot "
                    f"run it on device {device_arn}."
                )
            return super().initialize_simulation(**kwargs)

    Limited.__name__ = Limited.__qualname__ = f"Limited{base.__name__}"
    return Limited


_BELL = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"


def _init_worker() -> None:
    # Interpreter warnings ("advanced features") would only go to the worker's stderr.
    warnings.simplefilter("ignore")
    from braket.default_simulator import DensityMatrixSimulator, StateVectorSimulator

    _ENGINES["state_vector"] = _limited(StateVectorSimulator)()
    _ENGINES["density_matrix"] = _limited(DensityMatrixSimulator)()
    # Exercise every code path a task takes once, so the first real task is not the slow one.
    for engine in ("state_vector", "density_matrix"):
        _execute(
            ("warm", "warm", engine, 2, 2, (_OPENQASM, _JAQCD), _warm_action(), None, 10, "", None)
        )


def _warm_action() -> str:
    return json.dumps(
        {"braketSchemaHeader": {"name": _OPENQASM, "version": "1"}, "source": _BELL, "inputs": {}}
    )


_Job = tuple[
    str, str, str, int, int, tuple[str, ...], str, "str | None", int, str, "list[Any] | None"
]


def _execute(job: _Job) -> tuple[str, str | None, str | None]:
    """Run one task; returns ``(status, results.json text | None, failure reason | None)``."""
    # The OpenQASM parser reports syntax errors only on stderr (its exception has no message):
    # capture them for the failure reason, and keep the worker's console quiet.
    console = io.StringIO()
    try:
        with contextlib.redirect_stderr(console):
            return "COMPLETED", _simulate(job), None
    except (_QubitLimitExceeded, _ProgramError) as exc:
        return "FAILED", None, str(exc)
    except MemoryError:
        return "FAILED", None, "The local simulator ran out of memory running this program."
    except Exception as exc:  # the simulator's errors are many and untyped: report, don't die
        detail = _describe(exc, console.getvalue())
        return "FAILED", None, f"The program failed on the local simulator: {detail}"


class _ProgramError(Exception):
    pass


def _describe(exc: BaseException, console: str = "") -> str:
    text = str(exc).strip() or "; ".join(
        line.strip() for line in console.splitlines() if line.startswith("line ")
    )
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _simulate(job: _Job) -> str:
    from braket.ir.jaqcd import Program as JaqcdProgram
    from braket.ir.openqasm import Program as OpenQasmProgram
    from braket.ir.openqasm import ProgramSet as OpenQasmProgramSet

    (task_arn, device_arn, engine_name, device_qubits, engine_qubits, supported, action_text,
     parameters_text, shots, created_at, noise) = job  # fmt: skip
    started = time.perf_counter()

    try:
        action = json.loads(action_text)
        name = action["braketSchemaHeader"]["name"]
    except (ValueError, TypeError, KeyError) as exc:
        raise _ProgramError(
            f"The action is not a Braket program: it must be a JSON object with "
            f"braketSchemaHeader.name ({_describe(exc)})."
        ) from None
    if name not in supported:
        raise _ProgramError(
            f"Action {name} is not supported by device {device_arn}; "
            f"supported actions: {', '.join(supported)}."
        )
    if name == _AHS:
        return _simulate_analog(job, action)
    program_class = {
        _OPENQASM: OpenQasmProgram,
        _JAQCD: JaqcdProgram,
        _PROGRAM_SET: OpenQasmProgramSet,
    }.get(name)
    if program_class is None:
        raise _ProgramError(f"Action {name} cannot be run by the local simulator.")
    try:
        program = program_class.parse_obj(action)
    except Exception as exc:
        raise _ProgramError(f"Invalid {name} action: {_describe(exc)}") from None
    if name == _OPENQASM and program.source.endswith(".qasm"):
        # The engine would read a source ending in ".qasm" as a path on this machine; the
        # service only runs the text it was sent (a trailing newline changes nothing else).
        program = program.copy(update={"source": program.source + "\n"})

    parameters: dict[str, Any] | None = None
    if parameters_text is not None:
        try:
            # A QPU's parameters carry its provider's header (e.g. ionq_device_parameters);
            # every one holds the gate-model paradigm parameters.
            requested = _requested_qubits(parameters_text)
        except Exception as exc:
            raise _ProgramError(f"Invalid deviceParameters: {_describe(exc)}") from None
        if requested > device_qubits:
            raise _ProgramError(
                f"deviceParameters.paradigmParameters.qubitCount {requested} exceeds the "
                f"{device_qubits} qubits supported by device {device_arn}."
            )
        parameters = json.loads(parameters_text)

    engine = _ENGINES[engine_name]
    engine.limits = (device_arn, device_qubits, engine_name, engine_qubits)
    engine.noise = None if noise is None else NoiseLevels.from_list(noise)
    if name == _PROGRAM_SET:
        return _simulate_program_set(job, engine, action, parameters)
    gradient = None
    if name == _OPENQASM:
        # Braket runs every pragma of a line; the engine's parser keeps only the first.
        source = split_pragmas(program.source)
        gradient = extract_adjoint_gradient(source) if shots == 0 else None
        program = program.copy(update={"source": gradient.source if gradient else source})
        raw = engine.run_openqasm(program, shots=shots)
    else:
        raw = engine.run_jaqcd(program, shots=shots)

    measured = [int(q) for q in raw.measuredQubits] if raw.measuredQubits else None
    doc: dict[str, Any] = {"braketSchemaHeader": _RESULT_HEADER}
    if shots > 0:
        measurements = _measurements(raw.measurements)
        doc["measurements"] = measurements
        doc["measuredQubits"] = measured
        doc["resultTypes"] = _sampled_result_types(raw.resultTypes, measurements, measured)
    else:
        doc["measuredQubits"] = measured
        doc["resultTypes"] = [
            {"type": _type_dict(rt.type), "value": _plain(rt.value)} for rt in raw.resultTypes or ()
        ]
        if gradient is not None:
            doc["resultTypes"] = _with_gradient(doc["resultTypes"], gradient, engine, program)
    metadata: dict[str, Any] = {
        "braketSchemaHeader": _METADATA_HEADER,
        "id": task_arn,
        "shots": shots,
        "deviceId": device_arn,
    }
    if parameters is not None:
        metadata["deviceParameters"] = parameters
    metadata.update(
        createdAt=created_at or format_timestamp(datetime.now(UTC)),
        endedAt=format_timestamp(datetime.now(UTC)),
        status="COMPLETED",
    )
    doc["taskMetadata"] = metadata
    doc["additionalMetadata"] = {
        "action": action,
        "simulatorMetadata": {
            "braketSchemaHeader": _SIMULATOR_METADATA_HEADER,
            "executionDuration": int((time.perf_counter() - started) * 1000),
        },
    }
    return json.dumps(doc, separators=(",", ":"))


def _requested_qubits(text: str) -> int:
    """``paradigmParameters.qubitCount`` of a deviceParameters document, validated by its
    schema: the simulators' class, or for a QPU's provider header (``ionq_device_parameters``,
    ``iqm_device_parameters``, ...) the gate-model paradigm parameters every one holds."""
    from braket.device_schema import GateModelParameters
    from braket.device_schema.simulators import GateModelSimulatorDeviceParameters

    try:
        doc = json.loads(text)
        name = doc["braketSchemaHeader"]["name"]
    except (ValueError, TypeError, KeyError):
        name = None
    simulator = "braket.device_schema.simulators.gate_model_simulator_device_parameters"
    if isinstance(name, str) and name != simulator and name.endswith("_device_parameters"):
        paradigm = GateModelParameters.parse_obj(doc["paradigmParameters"])
        return int(paradigm.qubitCount)
    parsed = GateModelSimulatorDeviceParameters.parse_raw(text)
    return int(parsed.paradigmParameters.qubitCount)


def _measurements(raw: Any) -> list[list[int]]:
    import numpy as np

    # The simulator gives one list of "0"/"1" strings per shot.
    array = np.asarray(raw)
    if array.size == 0:
        return []
    values: list[list[int]] = array.astype(np.int8).tolist()
    return values


def _type_dict(result_type: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result_type.json(exclude_none=True))
    return data


def _plain(value: Any) -> Any:
    """numpy values to JSON: complex numbers become ``[re, im]`` as in the service's results."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, complex | np.complexfloating):
        return [float(value.real), float(value.imag)]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _sampled_result_types(
    requested: Any, measurements: list[list[int]], measured: list[int] | None
) -> list[dict[str, Any]]:
    """Result types of a shots > 0 task, computed from the samples (the simulator returns only
    the requested types; the service returns values too), as the Braket SDK does locally."""
    if not requested or not measurements or measured is None:
        return []
    import numpy as np
    from braket.default_simulator.result_types import from_braket_result_type
    from braket.ir import jaqcd

    samples = np.asarray(measurements, dtype=np.int64)
    out: list[dict[str, Any]] = []
    for rt in requested:
        kind = rt.type
        targets = list(rt.targets) if getattr(rt, "targets", None) is not None else None
        value: Any
        if kind == "probability":
            value = _probability(_columns(samples, measured, targets)).tolist()
        elif kind in ("expectation", "variance", "sample"):
            # Without targets the observable is one qubit's, applied to each measured qubit.
            observable = from_braket_result_type(
                jaqcd.Expectation(observable=rt.observable, targets=targets or [0])
            ).observable
            eigenvalues = np.real(np.asarray(observable.eigenvalues))
            groups = [targets] if targets is not None else [[q] for q in measured]
            values = []
            for group in groups:
                indices = _base10(_columns(samples, measured, group))
                drawn = eigenvalues[indices]
                if kind == "sample":
                    values.append(drawn.tolist())
                elif kind == "expectation":
                    values.append(float(np.mean(drawn)))
                else:
                    values.append(float(np.var(drawn)))
            value = values[0] if targets is not None else values
        else:
            raise _ProgramError(f"Result type {kind} is not supported when shots > 0.")
        out.append({"type": _type_dict(rt), "value": value})
    return out


def _columns(samples: Any, measured: list[int], targets: list[int] | None) -> Any:
    if targets is None or targets == measured:
        return samples
    try:
        columns = [measured.index(t) for t in targets]
    except ValueError:
        raise _ProgramError(
            f"Result type targets {targets} include a qubit that is not measured "
            f"(measured qubits: {measured})."
        ) from None
    return samples[:, columns]


def _base10(bits: Any) -> Any:
    import numpy as np

    powers = 2 ** np.arange(bits.shape[-1])[::-1]
    return bits @ powers


def _probability(bits: Any) -> Any:
    import numpy as np

    counts = np.bincount(_base10(bits), minlength=2 ** bits.shape[-1])
    return counts / bits.shape[0]


# ---------------------------------------------------------------------------------------------
# Result shaping of the other actions (dispatched from _simulate on the action's schema name).


def _with_gradient(
    result_types: list[dict[str, Any]], gradient: Any, engine: Any, program: Any
) -> list[dict[str, Any]]:
    """``result_types`` with the per-term expectations of an ``adjoint_gradient`` request
    replaced by its one result type (see ``_adjoint_gradient``)."""
    start, stop = gradient.index, gradient.index + len(gradient.terms)

    def run(source: str, inputs: dict[str, float]) -> list[float]:
        shifted = program.copy(update={"source": source, "inputs": inputs})
        values = engine.run_openqasm(shifted, shots=0).resultTypes[start:stop]
        return [float(_plain(rt.value)) for rt in values]

    def build(inputs: dict[str, float]) -> Any:
        return engine.parse_program(program.copy(update={"inputs": inputs})).circuit

    inputs = dict(program.inputs or {})
    try:
        value = gradient.adjoint(build, inputs)
        if value is None:  # a parameter is not the whole angle of a rotation
            value = gradient.value(run, inputs)
    except ValueError as exc:
        raise _ProgramError(f"adjoint_gradient: {exc}") from None
    return [*result_types[:start], gradient.result_type(value), *result_types[stop:]]


def _simulate_analog(job: _Job, action: dict[str, Any]) -> str:
    (task_arn, device_arn, _engine, _device_qubits, engine_qubits, _supported, _action_text,
     _parameters_text, shots, created_at, _noise) = job  # fmt: skip
    try:
        return simulate_ahs(
            action,
            task_arn=task_arn,
            device_arn=device_arn,
            shots=shots,
            created_at=created_at,
            c6_coefficient=AHS_C6_COEFFICIENT,
            max_atoms=engine_qubits,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise _ProgramError(f"Invalid {_AHS} action: {_describe(exc)}") from None


def _simulate_program_set(
    job: _Job, engine: Any, action: dict[str, Any], parameters: dict[str, Any] | None
) -> str:
    from braket.ir.openqasm import Program as OpenQasmProgram

    task_arn, device_arn, *_rest, shots, created_at, _noise = job

    def run(source: str, inputs: dict[str, Any], executable_shots: int) -> Any:
        program = OpenQasmProgram(source=split_pragmas(source), inputs=inputs or None)
        raw = engine.run_openqasm(program, shots=executable_shots)
        measured = [int(q) for q in raw.measuredQubits or ()]
        return _measurements(raw.measurements), measured

    try:
        return run_program_set(
            action,
            run=run,
            describe=_describe,
            task_arn=task_arn,
            device_arn=device_arn,
            shots=shots,
            created_at=created_at or format_timestamp(datetime.now(UTC)),
            device_parameters=parameters,
        )
    except ValueError as exc:
        raise _ProgramError(str(exc)) from None
