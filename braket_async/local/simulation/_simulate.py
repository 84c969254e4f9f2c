"""The worker side of the simulation: what a simulator worker process runs (``_worker.main``).

Module globals here live in each worker process only: the default simulator's engines,
limited to the task's device and to ``max_local_qubits``, built and warmed once by
:func:`init_worker`; :func:`execute` runs one job tuple (``SimulatorExecutor`` builds it
on the parent side) and answers ``(status, results.json text | None, reason | None)``.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from datetime import UTC, datetime
from typing import Any

from ..devices._devices import AHS_C6_COEFFICIENT
from ..devices._noise import NoiseLevels, add_noise
from ..devices._pragmas import split_pragmas
from ._adjoint_gradient import extract_adjoint_gradient
from ._compile import CompiledProgram, CompileError, CompileTarget, compile_program, metadata_key
from ._program_sets import run_program_set
from ._simulate_ahs import simulate_ahs

__all__ = ["execute", "format_timestamp", "init_worker"]


_OPENQASM = "braket.ir.openqasm.program"
_JAQCD = "braket.ir.jaqcd.program"
_PROGRAM_SET = "braket.ir.openqasm.program_set"
_AHS = "braket.ir.ahs.program"
_RESULT_HEADER = {"name": "braket.task_result.gate_model_task_result", "version": "1"}
_METADATA_HEADER = {"name": "braket.task_result.task_metadata", "version": "1"}
_SIMULATOR_METADATA_HEADER = {"name": "braket.task_result.simulator_metadata", "version": "1"}


def format_timestamp(moment: datetime) -> str:
    """``2024-01-02T03:04:05.678Z``: the millisecond UTC form of task results (naive = UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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


def init_worker() -> None:
    # Interpreter warnings ("advanced features") would only go to the worker's stderr.
    warnings.simplefilter("ignore")
    from braket.default_simulator import DensityMatrixSimulator, StateVectorSimulator

    _ENGINES["state_vector"] = _limited(StateVectorSimulator)()
    _ENGINES["density_matrix"] = _limited(DensityMatrixSimulator)()
    # Exercise every code path a task takes once, so the first real task is not the slow one.
    for engine in ("state_vector", "density_matrix"):
        warm = ("warm", "warm", engine, 2, 2, (_OPENQASM, _JAQCD), _warm_action(), None, 10, "")
        execute((*warm, None, None))


def _warm_action() -> str:
    return json.dumps(
        {"braketSchemaHeader": {"name": _OPENQASM, "version": "1"}, "source": _BELL, "inputs": {}}
    )


_Job = tuple[
    str, str, str, int, int, tuple[str, ...], str, "str | None", int, str, "list[Any] | None",
    "list[Any] | None",
]


def execute(job: _Job) -> tuple[str, str | None, str | None]:
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
     parameters_text, shots, created_at, noise, target_list) = job  # fmt: skip
    target = None if target_list is None else CompileTarget.from_list(target_list)
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
    rewiring = not _rewiring_disabled(parameters)
    if name == _PROGRAM_SET:
        return _simulate_program_set(job, engine, action, parameters, target, rewiring)
    gradient = None
    compiled = None
    if name == _OPENQASM:
        # Braket runs every pragma of a line; the engine's parser keeps only the first.
        source = split_pragmas(program.source)
        gradient = extract_adjoint_gradient(source) if shots == 0 else None
        if target is not None and shots > 0:
            # A QPU runs its compiler's output: native gates on connected physical qubits.
            compiled = _compiled(target, source, program.inputs, rewiring, engine_qubits)
        if compiled is not None:
            program = program.copy(update={"source": compiled.source, "inputs": {}})
        else:
            program = program.copy(update={"source": gradient.source if gradient else source})
        raw = engine.run_openqasm(program, shots=shots)
    else:
        raw = engine.run_jaqcd(program, shots=shots)

    measured = [int(q) for q in raw.measuredQubits] if raw.measuredQubits else None
    result_types: Any = raw.resultTypes
    doc: dict[str, Any] = {"braketSchemaHeader": _RESULT_HEADER}
    if shots > 0:
        measurements = _measurements(raw.measurements)
        if compiled is not None:
            measurements, measured = _logical(compiled, measurements, measured)
            result_types = list(compiled.results)
        doc["measurements"] = measurements
        doc["measuredQubits"] = measured
        doc["resultTypes"] = _sampled_result_types(result_types, measurements, measured)
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
    if compiled is not None and target is not None:
        doc["additionalMetadata"].update(_compiled_metadata(target, compiled))
    return json.dumps(doc, separators=(",", ":"))


def _rewiring_disabled(parameters: dict[str, Any] | None) -> bool:
    """``paradigmParameters.disableQubitRewiring`` of a task's device parameters."""
    paradigm = (parameters or {}).get("paradigmParameters") or {}
    return bool(paradigm.get("disableQubitRewiring"))


def _compiled(
    target: CompileTarget, source: str, inputs: Any, rewiring: bool, engine_qubits: int
) -> CompiledProgram | None:
    """The compiled program, or None to run ``source`` as written: a program the compiler
    leaves alone, or one whose routing passes through more qubits than the local engine
    simulates (the program as written may still fit)."""
    try:
        compiled = compile_program(target, source, inputs, rewiring=rewiring)
    except CompileError as exc:
        raise _ProgramError(str(exc)) from None
    if compiled is not None and compiled.width > engine_qubits:
        return None
    return compiled


def _logical(
    compiled: CompiledProgram, measurements: list[list[int]], measured: list[int] | None
) -> tuple[list[list[int]], list[int]]:
    """The compiled program's measurements over the user's qubits: one column per qubit the
    program measured, in its order (the physical qubits they ended on are not the user's)."""
    physical = list(compiled.physical)
    if measured is not None and measured != physical and measurements:
        columns = [measured.index(p) for p in physical]
        measurements = [[shot[c] for c in columns] for shot in measurements]
    return measurements, list(compiled.measured)


def _compiled_metadata(target: CompileTarget, compiled: CompiledProgram) -> dict[str, Any]:
    """The provider's metadata with the program the QPU ran, where Braket returns it."""
    key = metadata_key(target.provider)
    if key is None:
        return {}
    member, schema = key
    return {
        member: {
            "braketSchemaHeader": {"name": schema, "version": "1"},
            "compiledProgram": compiled.source,
        }
    }


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
     _parameters_text, shots, created_at, _noise, _target) = job  # fmt: skip
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
    job: _Job,
    engine: Any,
    action: dict[str, Any],
    parameters: dict[str, Any] | None,
    target: CompileTarget | None,
    rewiring: bool,
) -> str:
    from braket.ir.openqasm import Program as OpenQasmProgram

    task_arn, device_arn, *_rest, shots, created_at, _noise, _target = job
    engine_qubits = job[4]

    def run(source: str, inputs: dict[str, Any], executable_shots: int) -> Any:
        source = split_pragmas(source)
        compiled = None
        if target is not None and executable_shots > 0:
            compiled = _compiled(target, source, inputs, rewiring, engine_qubits)
        if compiled is not None:
            program = OpenQasmProgram(source=compiled.source)
        else:
            program = OpenQasmProgram(source=source, inputs=inputs or None)
        raw = engine.run_openqasm(program, shots=executable_shots)
        measured = [int(q) for q in raw.measuredQubits or ()]
        measurements = _measurements(raw.measurements)
        if compiled is not None:
            return _logical(compiled, measurements, measured)
        return measurements, measured

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
