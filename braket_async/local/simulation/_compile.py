"""A QPU program compiled to its device's native gates and connectivity, as the providers do.

Braket's QPUs do not run the gates a program names: the provider's compiler rewrites every part
outside a verbatim box into the device's native gates (``paradigm.nativeGateSet``) and places
the program's qubits on the device's connectivity graph, inserting SWAPs where two gates'
qubits are not neighbours. The local service does the same with Qiskit's transpiler (the
``local`` extra; ``docs/devices.md``), so the (noisy) density-matrix engine runs what a QPU
would run and each native gate carries its noise.

- The program is read by the default simulator's own OpenQASM interpreter (what the engine
  would run: loops unrolled, inputs bound, gate definitions inlined); every gate is recorded
  with whether it sits in a verbatim box.
- Outside verbatim boxes the gates go to Qiskit, are transpiled to the native gates (IQM
  ``prx``/``cz``; Rigetti ``rx(±pi/2)``/``rx(pi)``/``rz``/``cz``; AQT ``prx``/``rz``/``xx``;
  IonQ ``gpi``/``gpi2``/``zz``, with ``rz`` tracked as a frame change as IonQ's compiler does)
  and, when rewiring is allowed, laid out and routed on the connectivity graph.
- Rewiring is not allowed when the program uses physical qubits (``$n``), has a verbatim box,
  or asks for ``disableQubitRewiring``: the qubits stay as written, and a two-qubit gate on
  qubits that are not connected fails the task.
- Verbatim boxes are passed through as written (their gates are native and on connected
  pairs: ``devices._qpu_rules`` refused anything else at create).
- Measurements are moved to the end, one per measured qubit, so the result's columns map back
  to the user's qubits (``CompiledProgram.measured``), not the physical ones they ended on.

Programs this cannot compile (mid-circuit measurement, feed-forward, reset) run as written.
Runs in the simulator worker (CPU work, never on the service's event loop); compiled programs
are kept per (device, program, inputs, rewiring) in a small cache.
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "CompileError",
    "CompileTarget",
    "CompiledProgram",
    "compile_program",
    "metadata_key",
]


class CompileError(Exception):
    """The program cannot be compiled for the device (the task ends FAILED with this)."""


#: The results' ``additionalMetadata`` member in which a provider returns the compiled program
#: (``braket.task_result.<provider>_metadata`` v1, each with ``compiledProgram``). IonQ's
#: metadata has no compiled program.
_METADATA = {
    "IQM": ("iqmMetadata", "braket.task_result.iqm_metadata"),
    "Rigetti": ("rigettiMetadata", "braket.task_result.rigetti_metadata"),
    "AQT": ("aqtMetadata", "braket.task_result.aqt_metadata"),
}


def metadata_key(provider: str) -> tuple[str, str] | None:
    """``(additionalMetadata member, schema name)`` of ``provider``'s compiled program."""
    return _METADATA.get(provider)


@attrs.frozen
class CompileTarget:
    """What compilation needs of a device: its native gates (lower case), its qubits
    (physical labels) and, for a sparse device, its connected pairs (``None``: fully
    connected). Built by the service, sent to the worker with the task (:meth:`as_list`)."""

    device_arn: str
    provider: str
    native: tuple[str, ...]
    qubits: tuple[int, ...]
    edges: tuple[tuple[int, int], ...] | None

    @classmethod
    def from_capabilities(
        cls, device_arn: str, provider: str, capabilities: Mapping[str, Any]
    ) -> CompileTarget:
        """The target of a device from its capability document."""
        paradigm = capabilities["paradigm"]
        native = tuple(g.lower() for g in paradigm.get("nativeGateSet") or ())
        connectivity = paradigm.get("connectivity") or {}
        count = int(paradigm["qubitCount"])
        if connectivity.get("fullyConnected", True):
            return cls(device_arn, provider, native, tuple(range(count)), None)
        pairs: set[tuple[int, int]] = set()
        for node, neighbours in (connectivity.get("connectivityGraph") or {}).items():
            for other in neighbours:
                a, b = int(node), int(other)
                pairs.add((min(a, b), max(a, b)))
        qubits = sorted({q for pair in pairs for q in pair})
        return cls(device_arn, provider, native, tuple(qubits), tuple(sorted(pairs)))

    def as_list(self) -> list[Any]:
        """The JSON form sent to a simulator worker."""
        edges = None if self.edges is None else [list(e) for e in self.edges]
        return [self.device_arn, self.provider, list(self.native), list(self.qubits), edges]

    @classmethod
    def from_list(cls, value: Sequence[Any]) -> CompileTarget:
        """Inverse of :meth:`as_list`."""
        edges = None if value[4] is None else tuple((int(a), int(b)) for a, b in value[4])
        return cls(
            str(value[0]),
            str(value[1]),
            tuple(str(g) for g in value[2]),
            tuple(int(q) for q in value[3]),
            edges,
        )


@attrs.frozen
class CompiledProgram:
    """A compiled program: ``source`` (OpenQASM 3 of native gates on physical qubits ``$n``),
    ``measured`` (the user's qubits, in the order of the result's columns), ``physical`` (the
    physical qubit each was measured on, same order), ``results`` (the original program's
    result types, over the user's qubits), whether the qubits were ``rewired``, and ``width``:
    how many physical qubits the program touches (routing may pass through qubits the program
    did not name)."""

    source: str
    measured: tuple[int, ...]
    physical: tuple[int, ...]
    results: tuple[Any, ...]
    rewired: bool
    width: int


@attrs.frozen
class _Gate:
    name: str
    targets: tuple[int, ...]
    params: tuple[float, ...]
    ctrl: tuple[int, ...]
    power: float
    verbatim: bool


@attrs.frozen
class _Recorded:
    gates: tuple[_Gate, ...]
    measured: tuple[int, ...]
    results: tuple[Any, ...]
    physical: bool


class _NotCompilable(Exception):
    """The program uses what this compiler leaves alone: it runs as written."""


_CACHE: OrderedDict[tuple[Any, ...], CompiledProgram | None] = OrderedDict()
_CACHE_SIZE = 256


def compile_program(
    target: CompileTarget, source: str, inputs: Mapping[str, Any] | None, *, rewiring: bool
) -> CompiledProgram | None:
    """``source`` compiled for ``target`` (None: a program this compiler runs as written).
    ``rewiring``: whether the compiler may place the qubits (the task did not disable it).
    Raises :class:`CompileError` when it cannot run on the device."""
    key = (target, source, json.dumps(inputs or {}, sort_keys=True, default=str), rewiring)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    try:
        compiled: CompiledProgram | None = _compile(target, _record(source, inputs), rewiring)
    except _NotCompilable:
        compiled = None
    _CACHE[key] = compiled
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


# -- reading the program ----------------------------------------------------------------------


def _record(source: str, inputs: Mapping[str, Any] | None) -> _Recorded:
    from braket.default_simulator.openqasm.interpreter import Interpreter
    from braket.default_simulator.openqasm.program_context import ProgramContext

    gates: list[_Gate] = []
    measured_at: dict[int, int] = {}
    box = [False]

    class Recording(ProgramContext):  # type: ignore[misc]
        """The engine's own context, noting each gate (and refusing what is not compiled)."""

        def add_gate_instruction(
            self, gate_name: str, target: Any, params: Any, ctrl_modifiers: Any, power: Any
        ) -> None:
            if gate_name in ("measure_ff", "cc_prx"):
                raise _NotCompilable
            targets = tuple(int(t) for t in target)
            if any(t in measured_at for t in targets):
                raise _NotCompilable  # a gate after a measurement: mid-circuit measurement
            gates.append(
                _Gate(
                    gate_name,
                    targets,
                    tuple(float(p) for p in params),
                    tuple(int(c) for c in ctrl_modifiers or ()),
                    float(power),
                    box[0],
                )
            )
            super().add_gate_instruction(gate_name, target, params, ctrl_modifiers, power)

        def add_custom_unitary(self, unitary: Any, target: Any) -> None:
            raise _NotCompilable

        def add_phase_instruction(self, target: Any, phase_value: Any) -> None:
            if target:
                raise _NotCompilable  # a controlled global phase
            super().add_phase_instruction(target, phase_value)

        def add_measure(self, target: Any, *args: Any, **kwargs: Any) -> None:
            for qubit in target:
                measured_at.setdefault(int(qubit), len(measured_at))
            super().add_measure(target, *args, **kwargs)

        def add_reset(self, target: Any) -> None:
            raise _NotCompilable

        def add_noise_instruction(self, *args: Any) -> None:
            raise _NotCompilable

        def add_kraus_instruction(self, *args: Any) -> None:
            raise _NotCompilable

        def add_verbatim_marker(self, marker: Any) -> None:
            box[0] = str(getattr(marker, "value", marker)) == "StartVerbatim"

    context = Recording()
    try:
        Interpreter(context).run(source=source, inputs=dict(inputs or {}))
    except _NotCompilable:
        raise
    except Exception:
        raise _NotCompilable from None  # the engine reports the error when it runs it as written
    if context.is_branched:
        raise _NotCompilable
    circuit = context.circuit
    used = {q for g in gates for q in g.targets}
    measured = [int(q) for q in circuit.measured_qubits or ()]
    if not measured:
        measured = sorted(used | set(range(int(context.num_qubits))))
    return _Recorded(
        tuple(gates),
        tuple(measured),
        tuple(circuit.results or ()),
        physical=int(context.num_qubits) == 0,
    )


# -- compiling --------------------------------------------------------------------------------


def _compile(target: CompileTarget, recorded: _Recorded, rewiring: bool) -> CompiledProgram:
    basis = _basis(target)
    has_box = any(g.verbatim for g in recorded.gates)
    rewire = rewiring and not recorded.physical and not has_box
    qubits = set(target.qubits)
    lines: list[str] = []
    if rewire:
        body, final = _transpile_routed(target, basis, recorded)
        lines.extend(body)
        physical = [final[q] for q in recorded.measured]
    else:
        for qubit in {q for g in recorded.gates for q in g.targets} | set(recorded.measured):
            if qubit not in qubits:
                raise CompileError(
                    f"Qubit {qubit} does not exist on device {target.device_arn}; with qubit "
                    "rewiring disabled the program's qubits are the device's physical qubits."
                )
        for verbatim, segment in _segments(recorded.gates):
            if verbatim:
                lines.append("#pragma braket verbatim")
                lines.append("box {")
                lines.extend(f"  {_written(g)}" for g in segment)
                lines.append("}")
            else:
                lines.extend(_transpile_in_place(target, basis, segment))
        physical = list(recorded.measured)
    count = len(recorded.measured)
    header = ["OPENQASM 3.0;", f"bit[{count}] b;"] if count else ["OPENQASM 3.0;"]
    measures = [f"b[{i}] = measure ${p};" for i, p in enumerate(physical)]
    source = "\n".join([*header, *lines, *measures]) + "\n"
    return CompiledProgram(
        source,
        recorded.measured,
        tuple(physical),
        recorded.results,
        rewired=rewire,
        width=len(set(re.findall(r"\$(\d+)", source))),
    )


def _segments(gates: Iterable[_Gate]) -> list[tuple[bool, list[_Gate]]]:
    out: list[tuple[bool, list[_Gate]]] = []
    for gate in gates:
        if out and out[-1][0] == gate.verbatim:
            out[-1][1].append(gate)
        else:
            out.append((gate.verbatim, [gate]))
    return out


def _written(gate: _Gate) -> str:
    """A verbatim gate as the program wrote it (angles as numbers)."""
    params = f"({', '.join(repr(p) for p in gate.params)})" if gate.params else ""
    return f"{gate.name}{params} {', '.join(f'${t}' for t in gate.targets)};"


#: The Qiskit basis gates each native gate is reached through.
_NATIVE_BASIS = {
    "prx": ("r",),
    "rx": ("sx", "x"),
    "rz": ("rz",),
    "gpi": ("r", "rz"),
    "gpi2": ("r", "rz"),
    "cz": ("cz",),
    "iswap": ("iswap",),
    "xx": ("rxx",),
    "zz": ("rzz",),
}


def _basis(target: CompileTarget) -> list[str]:
    native = set(target.native)
    basis = sorted({b for gate in native for b in _NATIVE_BASIS.get(gate, ())})
    one_qubit = {"r", "sx"} & set(basis)
    two_qubit = {"cz", "iswap", "rxx", "rzz"} & set(basis)
    if not one_qubit or not two_qubit or ("sx" in basis and "rz" not in basis):
        raise CompileError(
            f"The local service cannot compile to the native gates of device "
            f"{target.device_arn} ({', '.join(target.native)})."
        )
    return basis


def _qiskit_circuit(gates: Sequence[_Gate], index: Mapping[int, int], width: int) -> Any:
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(width)
    for gate in gates:
        operation, qubits = _qiskit_operation(gate)
        circuit.append(operation, [index[q] for q in qubits])
    return circuit


def _transpile_routed(
    target: CompileTarget, basis: list[str], recorded: _Recorded
) -> tuple[list[str], dict[int, int]]:
    """Native gates of the whole program, placed and routed on the device; and where each of
    the program's qubits ends (its physical label)."""
    from qiskit import transpile
    from qiskit.transpiler import CouplingMap

    logical = sorted({q for g in recorded.gates for q in g.targets} | set(recorded.measured))
    if len(logical) > len(target.qubits):
        raise CompileError(
            f"The program uses {len(logical)} qubits; device {target.device_arn} has "
            f"{len(target.qubits)}."
        )
    index = {q: i for i, q in enumerate(logical)}
    circuit = _qiskit_circuit(recorded.gates, index, max(1, len(logical)))
    labels = target.qubits
    coupling = None
    if target.edges is not None:
        position = {q: i for i, q in enumerate(labels)}
        pairs = [(position[a], position[b]) for a, b in target.edges]
        coupling = CouplingMap([*pairs, *((b, a) for a, b in pairs)])
    else:
        coupling = CouplingMap.from_full(len(labels))
    try:
        out = transpile(
            circuit,
            basis_gates=basis,
            coupling_map=coupling,
            optimization_level=1,
            seed_transpiler=11,
        )
    except Exception as exc:
        raise CompileError(
            f"The program cannot be compiled for device {target.device_arn}: {exc}"
        ) from None
    final = out.layout.final_index_layout() if out.layout is not None else list(range(len(logical)))
    where = {q: labels[final[index[q]]] for q in logical}
    body = _native_lines(target, out, lambda i: labels[i])
    return body, where


def _transpile_in_place(target: CompileTarget, basis: list[str], gates: list[_Gate]) -> list[str]:
    """Native gates of one segment, on the qubits as written (no rewiring); a two-qubit gate
    on qubits that are not connected fails."""
    from qiskit import transpile

    used = sorted({q for g in gates for q in g.targets})
    index = {q: i for i, q in enumerate(used)}
    circuit = _qiskit_circuit(gates, index, len(used))
    try:
        out = transpile(circuit, basis_gates=basis, optimization_level=1, seed_transpiler=11)
    except Exception as exc:
        raise CompileError(
            f"The program cannot be compiled for device {target.device_arn}: {exc}"
        ) from None
    edges = None if target.edges is None else set(target.edges)
    if edges is not None:
        for instruction in out.data:
            if len(instruction.qubits) == 2:
                a, b = (used[out.find_bit(q).index] for q in instruction.qubits)
                if (min(a, b), max(a, b)) not in edges:
                    raise CompileError(
                        f"Qubits ${a} and ${b} are not connected on device "
                        f"{target.device_arn}, and qubit rewiring is disabled (physical "
                        "qubits, a verbatim box, or disableQubitRewiring): a gate on them "
                        "cannot run."
                    )
    return _native_lines(target, out, lambda i: used[i])


# -- Braket gates to Qiskit gates -------------------------------------------------------------

#: Braket gates with a Qiskit standard gate of the same matrix (checked by the tests).
_STANDARD = {
    "i": "IGate", "h": "HGate", "x": "XGate", "y": "YGate", "z": "ZGate", "s": "SGate",
    "si": "SdgGate", "t": "TGate", "ti": "TdgGate", "v": "SXGate", "vi": "SXdgGate",
    "rx": "RXGate", "ry": "RYGate", "rz": "RZGate", "phaseshift": "PhaseGate", "U": "UGate",
    "prx": "RGate", "cnot": "CXGate", "cy": "CYGate", "cz": "CZGate", "swap": "SwapGate",
    "iswap": "iSwapGate", "cphaseshift": "CPhaseGate", "xx": "RXXGate", "yy": "RYYGate",
    "zz": "RZZGate", "ccnot": "CCXGate", "cswap": "CSwapGate",
}  # fmt: skip


def _qiskit_operation(gate: _Gate) -> tuple[Any, tuple[int, ...]]:
    """The gate as a Qiskit operation and the program's qubits it acts on, in Qiskit's order.

    A standard gate takes its qubits as Braket writes them; any other gate is its matrix (at
    most two qubits: Braket's larger gates are standard), which takes them reversed (Braket's
    first qubit is the most significant, Qiskit's the least). Control modifiers become a Qiskit
    controlled gate (synthesised without a full matrix, however many controls), the control
    qubits first; ``negctrl`` is a 0 in its control state (control ``i`` is bit ``i``).
    """
    import qiskit.circuit.library as library
    from qiskit.circuit.library import UnitaryGate

    controls = len(gate.ctrl)
    targets = gate.targets[controls:]
    operation: Any
    if gate.name in _STANDARD and gate.power == 1:
        operation = getattr(library, _STANDARD[gate.name])(*gate.params)
        order = targets
    else:
        operation = UnitaryGate(_braket_matrix(gate), check_input=False)
        order = tuple(reversed(targets))
    if controls:
        state = sum(bit << i for i, bit in enumerate(gate.ctrl))
        operation = operation.control(controls, ctrl_state=state, annotated=True)
    return operation, (*gate.targets[:controls], *order)


def _braket_matrix(gate: _Gate) -> Any:
    """The matrix of the gate without its controls (Braket's qubit order), power applied."""
    import numpy as np
    from braket.default_simulator.gate_operations import BRAKET_GATES

    targets = gate.targets[len(gate.ctrl) :]
    operation = BRAKET_GATES[gate.name](targets, *gate.params, ctrl_modifiers=(), power=gate.power)
    return np.asarray(operation.matrix, dtype=complex)


# -- Qiskit's native gates to Braket OpenQASM --------------------------------------------------


def _angle(value: Any) -> float:
    return float(value)


def _native_lines(target: CompileTarget, circuit: Any, label: Any) -> list[str]:
    native = set(target.native)
    if {"gpi", "gpi2"} & native:
        return _ionq_lines(circuit, label)
    lines = []
    for instruction in circuit.data:
        op = instruction.operation
        qubits = [label(circuit.find_bit(q).index) for q in instruction.qubits]
        operands = ", ".join(f"${q}" for q in qubits)
        params = [_angle(p) for p in op.params]
        name = op.name
        if name in ("barrier", "delay", "id"):
            continue
        if name == "r":
            lines.append(f"prx({params[0]!r}, {params[1]!r}) {operands};")
        elif name == "sx":
            lines.append(f"rx({math.pi / 2!r}) {operands};")
        elif name == "x":
            lines.append(f"rx({math.pi!r}) {operands};")
        elif name in ("rz", "cz", "iswap"):
            text = f"({params[0]!r})" if params else ""
            lines.append(f"{name}{text} {operands};")
        elif name == "rxx":
            lines.append(f"xx({params[0]!r}) {operands};")
        elif name == "rzz":
            lines.append(f"zz({params[0]!r}) {operands};")
        else:
            raise CompileError(
                f"The compiler left gate {name}, not native on device {target.device_arn}."
            )
    return lines


def _wrap(angle: float) -> float:
    return math.remainder(angle, 2 * math.pi)


def _ionq_lines(circuit: Any, label: Any) -> list[str]:
    """IonQ's natives from ``r``/``rz``/``rzz``: an ``rz`` is not a pulse but a change of the
    qubit's phase frame (IonQ's compiler does the same), carried into the phases of the
    following ``gpi``/``gpi2`` (``R(t, p) RZ(f) = RZ(f) R(t, p - f)``; ``zz`` commutes with it)
    and dropped before measurement. An ``r`` of another angle than pi or pi/2 becomes two
    ``gpi2`` around a frame change (in time order ``GPI2(p + 3pi/2)``, ``RZ(t)``,
    ``GPI2(p + pi/2)``: ``R(t, p) = RZ(p) RY(pi/2) RZ(t) RY(-pi/2) RZ(-p)``)."""
    frame: dict[int, float] = {}
    lines: list[str] = []

    def pulse(name: str, phase: float, qubit: int) -> None:
        lines.append(f"{name}({_wrap(phase - frame.get(qubit, 0.0))!r}) ${qubit};")

    for instruction in circuit.data:
        op = instruction.operation
        qubits = [label(circuit.find_bit(q).index) for q in instruction.qubits]
        params = [_angle(p) for p in op.params]
        if op.name in ("barrier", "delay", "id"):
            continue
        if op.name == "rz":
            frame[qubits[0]] = frame.get(qubits[0], 0.0) + params[0]
        elif op.name == "rzz":
            lines.append(f"zz({params[0]!r}) ${qubits[0]}, ${qubits[1]};")
        elif op.name == "r":
            theta, phi = _wrap(params[0]), params[1]
            qubit = qubits[0]
            if theta < 0:  # R(-t, p) = R(t, p + pi)
                theta, phi = -theta, phi + math.pi
            if math.isclose(theta, math.pi, abs_tol=1e-9):
                pulse("gpi", phi, qubit)
            elif math.isclose(theta, math.pi / 2, abs_tol=1e-9):
                pulse("gpi2", phi, qubit)
            elif not math.isclose(theta, 0.0, abs_tol=1e-12):
                pulse("gpi2", phi + 3 * math.pi / 2, qubit)
                frame[qubit] = frame.get(qubit, 0.0) + theta
                pulse("gpi2", phi + math.pi / 2, qubit)
        else:
            raise CompileError(f"The compiler left gate {op.name}, not native on IonQ.")
    return lines

