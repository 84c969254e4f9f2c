"""Runs quantum tasks on ``amazon-braket-default-simulator`` in worker processes.

The event loop never simulates: :class:`SimulatorExecutor` owns a ``ProcessPoolExecutor`` whose
workers are started with the ``spawn`` method (never ``fork``: the parent has threads and an event
loop) and warmed at :meth:`SimulatorExecutor.start`, so the simulator's ~2 s import is paid once.
Like any ``spawn`` pool, the workers re-import ``__main__``: scripts that start the executor need
an ``if __name__ == "__main__":`` guard.
A task crosses the process boundary as a tuple of plain values and comes back as the
``results.json`` text (``braket.task_result.gate_model_task_result`` v1), which the service can
upload verbatim; :attr:`ExecutionOutcome.result` is that document parsed.

What ends a task FAILED (never an exception): a device with no local engine, shots outside the
device's ``shotsRange``, an action the device does not list, a malformed action or device
parameters, a program the simulator rejects, more qubits than the device has, or more qubits than
the local engine simulates (``max_local_qubits``; TN1's 50 qubits run on the state-vector engine
only up to that limit).

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
import multiprocessing
import os
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any

import attrs

from ._adjoint_gradient import extract_adjoint_gradient
from ._devices import AHS_C6_COEFFICIENT, SIMULATOR_ENGINES, LocalDevice
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
    :meth:`close` gives running simulations ``close_grace`` seconds, then terminates them.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        max_local_qubits: Mapping[str, int] | None = None,
        close_grace: float = 5.0,
    ) -> None:
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
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
        self._workers = workers
        self._limits = limits
        self._close_grace = close_grace
        self._pool: ProcessPoolExecutor | None = None
        self._restart: asyncio.Future[None] | None = None
        self._restart_error: Exception | None = None
        self._closed = False
        self._starting = False

    @property
    def workers(self) -> int:
        """Number of worker processes."""
        return self._workers

    @property
    def started(self) -> bool:
        """Whether the pool is running."""
        return self._pool is not None

    async def start(self) -> None:
        """Spawn the workers and wait until each has imported and exercised the simulator."""
        if self._closed:
            raise RuntimeError("SimulatorExecutor is closed")
        if self._pool is not None:
            raise RuntimeError("SimulatorExecutor is already started")
        if self._starting:
            raise RuntimeError("SimulatorExecutor is already starting")
        self._starting = True
        try:
            # Spawning and warming block for seconds: off the loop, and never abandoned half
            # way (a cancelled start still stops the workers it made).
            starting = asyncio.ensure_future(asyncio.to_thread(_start_pool, self._workers))
            try:
                pool = await asyncio.shield(starting)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(_stop_pool, await starting, 0.0)
                raise
        finally:
            self._starting = False
        if self._closed:
            await asyncio.to_thread(_stop_pool, pool, 0.0)
            raise RuntimeError("SimulatorExecutor was closed while starting")
        self._pool = pool

    async def close(self) -> None:
        """Stop the workers: queued tasks are cancelled, running ones end FAILED if they outlast
        ``close_grace``. Idempotent."""
        self._closed = True
        restart = self._restart
        if restart is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(restart)
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(_stop_pool, pool, self._close_grace)

    async def __aenter__(self) -> SimulatorExecutor:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def run(self, request: ExecutionRequest) -> ExecutionOutcome:
        """Run one task in a worker. Bad programs give a FAILED outcome, never an exception;
        using the executor before :meth:`start` or after :meth:`close` raises RuntimeError."""
        pool = await self._running_pool()
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
        )
        loop = asyncio.get_running_loop()
        try:
            status, text, reason = await loop.run_in_executor(pool, _execute, job)
        except BrokenProcessPool:
            # A worker died (e.g. killed for memory). Every task then in the pool fails (which
            # one killed it is unknowable); later tasks run on a fresh pool.
            self._replace(pool)
            return ExecutionOutcome.failed(
                "The local simulator worker running this task exited unexpectedly."
            )
        if status != "COMPLETED" or text is None:
            return ExecutionOutcome.failed(reason or "The local simulator failed without a reason.")
        return ExecutionOutcome("COMPLETED", json.loads(text), None, result_json=text)

    async def _running_pool(self) -> ProcessPoolExecutor:
        restart = self._restart
        if restart is not None:
            # A replacement pool is starting: wait for it rather than failing the task.
            with contextlib.suppress(Exception):
                await asyncio.shield(restart)
        if self._pool is None:
            if self._closed:
                raise RuntimeError("SimulatorExecutor is closed")
            if self._restart_error is not None:
                raise RuntimeError(
                    "SimulatorExecutor lost its workers and could not restart them"
                ) from self._restart_error
            raise RuntimeError("SimulatorExecutor is not started: await start() first")
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Start replacing ``broken`` in the background, once however many tasks saw it break;
        :meth:`run` waits for the replacement, :meth:`close` too."""
        if self._pool is broken and self._restart is None:
            self._pool = None
            restart = asyncio.ensure_future(self._restart_pool(broken))
            # Its error is kept in _restart_error and reported by run(); don't log it twice.
            restart.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._restart = restart

    async def _restart_pool(self, broken: ProcessPoolExecutor) -> None:
        try:
            await asyncio.to_thread(_stop_pool, broken, 0.0)
            if not self._closed:
                self._pool = await asyncio.to_thread(_start_pool, self._workers)
        except Exception as exc:
            self._restart_error = exc
            raise
        finally:
            self._restart = None


# ---------------------------------------------------------------------------------------------
# Parent side of the pool (runs in a helper thread).


def _stop_pool(pool: ProcessPoolExecutor, grace: float) -> None:
    """Shut ``pool`` down: queued tasks are cancelled, running ones get ``grace`` seconds, then
    their workers are terminated (a 26-qubit simulation must not hold up a service's exit)."""
    # No public API reaches the workers before Python 3.14 (terminate_workers); read softly.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.terminate()
            process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join()
    # shutdown(wait=False) forgot the manager thread; it exits once the workers are gone.
    if manager is not None:
        manager.join()


def _start_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    # Each warm-up call waits at the barrier, so every worker must hold one: all are warm.
    barrier = context.Barrier(workers)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(barrier,)
    )
    try:
        futures = [pool.submit(_warm) for _ in range(workers)]
        for future in futures:
            future.result(timeout=_WARM_TIMEOUT)
    except BrokenProcessPool as exc:
        _stop_pool(pool, 0.0)
        raise RuntimeError(
            "The simulator worker processes exited while starting. Workers are started with "
            "multiprocessing's 'spawn' method, which re-imports the __main__ module: a script "
            "that starts the local service must guard its entry point with "
            '`if __name__ == "__main__":`.'
        ) from exc
    except BaseException:
        _stop_pool(pool, 0.0)
        raise
    return pool


# ---------------------------------------------------------------------------------------------
# Worker side: module globals live in each worker process only.

_ENGINES: dict[str, Any] = {}
_BARRIER: Any = None


class _QubitLimitExceeded(Exception):
    pass


def _limited(base: type[Any]) -> type[Any]:
    """``base`` (a default-simulator class) that refuses programs over the current limits
    before allocating any state."""

    class Limited(base):  # type: ignore[misc]
        limits: tuple[str, int, str, int] = ("", 0, "", 0)
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


def _init_worker(barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier
    # Interpreter warnings ("advanced features") would only go to the worker's stderr.
    warnings.simplefilter("ignore")
    from braket.default_simulator import DensityMatrixSimulator, StateVectorSimulator

    _ENGINES["state_vector"] = _limited(StateVectorSimulator)()
    _ENGINES["density_matrix"] = _limited(DensityMatrixSimulator)()
    # Exercise every code path a task takes once, so the first real task is not the slow one.
    for engine in ("state_vector", "density_matrix"):
        _execute(("warm", "warm", engine, 2, 2, (_OPENQASM, _JAQCD), _warm_action(), None, 10, ""))


def _warm_action() -> str:
    return json.dumps(
        {"braketSchemaHeader": {"name": _OPENQASM, "version": "1"}, "source": _BELL, "inputs": {}}
    )


def _warm() -> int:
    if _BARRIER is not None:
        _BARRIER.wait(timeout=_WARM_TIMEOUT)
    return os.getpid()


_Job = tuple[str, str, str, int, int, tuple[str, ...], str, "str | None", int, str]


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
    from braket.device_schema.simulators import GateModelSimulatorDeviceParameters
    from braket.ir.jaqcd import Program as JaqcdProgram
    from braket.ir.openqasm import Program as OpenQasmProgram
    from braket.ir.openqasm import ProgramSet as OpenQasmProgramSet

    (task_arn, device_arn, engine_name, device_qubits, engine_qubits, supported, action_text,
     parameters_text, shots, created_at) = job  # fmt: skip
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
            parsed = GateModelSimulatorDeviceParameters.parse_raw(parameters_text)
        except Exception as exc:
            raise _ProgramError(f"Invalid deviceParameters: {_describe(exc)}") from None
        requested = parsed.paradigmParameters.qubitCount
        if requested > device_qubits:
            raise _ProgramError(
                f"deviceParameters.paradigmParameters.qubitCount {requested} exceeds the "
                f"{device_qubits} qubits supported by device {device_arn}."
            )
        parameters = json.loads(parameters_text)

    engine = _ENGINES[engine_name]
    engine.limits = (device_arn, device_qubits, engine_name, engine_qubits)
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

    try:
        value = gradient.value(run, dict(program.inputs or {}))
    except ValueError as exc:
        raise _ProgramError(f"adjoint_gradient: {exc}") from None
    return [*result_types[:start], gradient.result_type(value), *result_types[stop:]]


def _simulate_analog(job: _Job, action: dict[str, Any]) -> str:
    (task_arn, device_arn, _engine, _device_qubits, engine_qubits, _supported, _action_text,
     _parameters_text, shots, created_at) = job  # fmt: skip
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

    task_arn, device_arn, *_rest, shots, created_at = job

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
