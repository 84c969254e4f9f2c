"""What CreateQuantumTask refuses because the device's capability document says so.

Braket checks a task against the device's published capabilities before it accepts it and
answers ``ValidationException`` (400) at CreateQuantumTask; the task never exists. This module
does the same from the documents in ``data/*.json`` (sources in ``docs/devices.md``):

- ``associations``: a reservation on a simulator ("Braket Direct is not supported for ...");
  on a QPU the local service holds no reservations, so every reservation ARN is invalid.
- OpenQASM (``braket.ir.openqasm.program`` and each program of a program set): pragmas listed in
  ``forbiddenPragmas`` or missing from ``supportedPragmas``; result types missing from
  ``supportedResultTypes`` or requested with shots outside their ``minShots..maxShots``;
  ``requiresAllQubitsMeasurement`` (a program that measures some but not all of its qubits).
- ``service.shotsRange`` (per executable for program sets).
- Program sets (``braket.ir.openqasm.program_set``): ``maximumExecutables``,
  ``maximumTotalShots``, inputs of equal length, shots a multiple of the executable count;
  per-program failures are listed in ``programSetValidationFailures``.
- AHS (``braket.ir.ahs.program``): atom count, lattice area, evolution time and the driving
  field's amplitude / phase / detuning ranges against the ``paradigm`` limits.

The checks read the program text only (no simulator import on the service's event loop); a
construct they cannot resolve (a non-literal index) is left to the simulator, which fails the
task if the program is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._devices import LocalDevice
from ._errors import Validation
from ._pragmas import capability_pragma_name, pragma_commands
from ._qpu_rules import qpu_program_problems

__all__ = [
    "AHS_ACTION",
    "OPENQASM_ACTION",
    "PROGRAM_SET_ACTION",
    "check_associations",
    "check_task",
    "executable_counts",
]

OPENQASM_ACTION = "braket.ir.openqasm.program"
PROGRAM_SET_ACTION = "braket.ir.openqasm.program_set"
AHS_ACTION = "braket.ir.ahs.program"

#: Braket's message when a program measures only some of its qubits on a device that
#: requires all of them measured.
PARTIAL_MEASUREMENT = (
    "Device requires all qubits in the program to be measured. This may be caused by "
    "declaring non-contiguous qubits or measuring partial qubits"
)

#: Programs longer than this skip the text checks (left to the simulator): the checks run on
#: the service's event loop and the text is untrusted.
MAX_CHECKED_SOURCE = 256 * 1024

_RESULT_TYPE_NAMES = {
    "state_vector": "StateVector",
    "density_matrix": "DensityMatrix",
    "sample": "Sample",
    "expectation": "Expectation",
    "variance": "Variance",
    "probability": "Probability",
    "amplitude": "Amplitude",
    "adjoint_gradient": "AdjointGradient",
}


def check_associations(device: LocalDevice, associations: Sequence[Mapping[str, Any]]) -> None:
    """Refuse reservation associations the way Braket does for this device."""
    for association in associations:
        if association.get("type") != "RESERVATION_TIME_WINDOW_ARN":
            continue
        if device.device_type == "SIMULATOR":
            raise Validation(f"Braket Direct is not supported for {device.arn}.")
        raise Validation(f"Reservation arn is invalid: {association.get('arn')}")


def check_task(
    device: LocalDevice, action_type: str, action: Mapping[str, Any], shots: int
) -> dict[str, Any]:
    """Validate a task's action against ``device``'s capabilities; returns the task's
    ``actionMetadata`` (``actionType``, ``programCount``, and ``executableCount`` for
    program sets). Raises :class:`~._errors.Validation`."""
    properties = device.capabilities["action"].get(action_type) or {}
    if action_type != PROGRAM_SET_ACTION:
        _check_shots(device, shots)
    if action_type == OPENQASM_ACTION:
        source = _source(action, "action")
        problems = _openqasm_problems(properties, source, shots)
        if device.is_qpu and len(source) <= MAX_CHECKED_SOURCE:
            problems += qpu_program_problems(device, properties, source)
        if problems:
            raise Validation(problems[0])
        return {"actionType": action_type, "programCount": 1}
    if action_type == PROGRAM_SET_ACTION:
        return _check_program_set(device, properties, action, shots)
    if action_type == AHS_ACTION:
        _check_ahs(device, action)
    return {"actionType": action_type, "programCount": 1}


def _check_shots(device: LocalDevice, shots: int) -> None:
    low, high = device.shots_range
    if not low <= shots <= high:
        # Braket's wording (seen in users' reports of CreateQuantumTask errors).
        raise Validation(
            f"Shot count should be between {low} and {high} on {device.arn}, but found {shots}."
        )


# OpenQASM ----------------------------------------------------------------------------------


def _source(program: Mapping[str, Any], where: str) -> str:
    source = program.get("source")
    if not isinstance(source, str):
        raise Validation(
            f"Value at '{where}.source' failed to satisfy constraint: "
            "Member must be an OpenQASM program string"
        )
    return source


def _openqasm_problems(properties: Mapping[str, Any], source: str, shots: int) -> list[str]:
    problems: list[str] = []
    if len(source) > MAX_CHECKED_SOURCE:
        return problems
    forbidden = set(properties.get("forbiddenPragmas") or ())
    supported = properties.get("supportedPragmas")
    result_types = {
        rt["name"]: rt for rt in properties.get("supportedResultTypes") or () if "name" in rt
    }
    for command in pragma_commands(source):
        name = capability_pragma_name(command)
        if name is None:
            continue
        if name in forbidden or (supported is not None and name not in supported):
            problems.append(f"Pragma '{name}' is not supported by this device: #pragma {command}")
            continue
        if name.startswith("braket_result_type_"):
            result = _RESULT_TYPE_NAMES[name.removeprefix("braket_result_type_")]
            spec = result_types.get(result)
            if spec is None:
                problems.append(f"Result type {result} is not supported by this device.")
                continue
            low, high = int(spec.get("minShots", 0)), int(spec.get("maxShots", shots))
            if not low <= shots <= high:
                problems.append(
                    f"Result type {result} requires shots between {low} and {high}, "
                    f"but the task has {shots} shots."
                )
    if properties.get("requiresAllQubitsMeasurement") and not _measures_all_or_none(source):
        problems.append(PARTIAL_MEASUREMENT)
    return problems


_LINE_COMMENT = re.compile(r"//[^\n]*|#pragma[^\n]*")
_QUBIT_ARRAY = re.compile(r"qubit\s*\[\s*(\d+)\s*\]\s*([A-Za-z_]\w*)\s*;")
_QUBIT_SINGLE = re.compile(r"qubit\s+([A-Za-z_]\w*)\s*;")
_QREG = re.compile(r"qreg\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*;")
_PHYSICAL = re.compile(r"\$(\d+)")
_MEASURE = re.compile(r"\bmeasure\s+(.*)", re.DOTALL)
_OPERAND = re.compile(r"\$(\d+)|([A-Za-z_]\w*)(?:\s*\[([^\]]*)\])?")


class _Unresolved(Exception):
    """A construct the text checks do not evaluate."""


def _indices(text: str, size: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        bounds = [b.strip() for b in part.split(":")]
        if not all(re.fullmatch(r"-?\d{1,9}", b) for b in bounds if b) or not part.strip():
            raise _Unresolved(part)
        if len(bounds) == 1:
            index = int(bounds[0])
            out.add(index + size if index < 0 else index)
            continue
        if len(bounds) == 2:
            start = int(bounds[0]) if bounds[0] else 0
            step, stop = 1, int(bounds[1]) if bounds[1] else size - 1
        elif len(bounds) == 3 and all(bounds):
            start, step, stop = (int(b) for b in bounds)
        else:
            raise _Unresolved(part)
        if start < 0 or stop < 0 or step <= 0:
            raise _Unresolved(part)
        # OpenQASM 3 ranges include their end; indices past the register change nothing here.
        out.update(range(start, min(stop, size) + 1, step))
    return out


def _strip_comments(source: str) -> str:
    """``source`` without ``/* */`` blocks, ``//`` comments and pragma lines (one linear pass:
    the text is untrusted)."""
    pieces = []
    position = 0
    while True:
        start = source.find("/*", position)
        if start < 0:
            pieces.append(source[position:])
            break
        pieces.append(source[position:start])
        end = source.find("*/", start + 2)
        if end < 0:
            break
        position = end + 2
    return _LINE_COMMENT.sub("", " ".join(pieces))


def _measurement_targets(code: str) -> list[str]:
    """The operand of every ``measure`` statement (``b = measure q[0];``, ``measure q -> c;``)."""
    targets = []
    for statement in code.split(";"):
        if "measure" not in statement:
            continue
        match = _MEASURE.search(statement)
        if match is not None:
            targets.append(match.group(1).split("->", 1)[0].strip())
    return targets


def _measures_all_or_none(source: str) -> bool:
    """True when the program has no measurement or measures every qubit it declares."""
    code = _strip_comments(source)
    targets = _measurement_targets(code)
    if not targets:
        return True
    registers: dict[str, int] = {name: int(size) for size, name in _QUBIT_ARRAY.findall(code)}
    registers.update({name: 1 for name in _QUBIT_SINGLE.findall(code)})
    registers.update({name: int(size) for name, size in _QREG.findall(code)})
    declared = {(name, i) for name, size in registers.items() for i in range(size)}
    declared |= {("$", int(n)) for n in _PHYSICAL.findall(code)}
    measured: set[tuple[str, int]] = set()
    try:
        for target in targets:
            match = _OPERAND.fullmatch(target)
            if match is None:
                raise _Unresolved(target)
            physical, name, index = match.groups()
            if physical is not None:
                measured.add(("$", int(physical)))
            elif name in registers:
                size = registers[name]
                chosen = range(size) if index is None else _indices(index, size)
                measured.update((name, i) for i in chosen)
            else:
                raise _Unresolved(target)  # an alias or an unknown name: leave it
    except _Unresolved:
        return True
    return declared <= measured


# Program sets ------------------------------------------------------------------------------


def executable_counts(programs: Sequence[Mapping[str, Any]]) -> list[int]:
    """Executables per program: the common length of its input lists (1 without inputs).
    Raises ``ValueError`` when a program's inputs are not lists of one length."""
    counts = []
    for program in programs:
        inputs = program.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise ValueError("inputs must be an object of lists")
        lengths = {len(v) if isinstance(v, list) else -1 for v in inputs.values()}
        if -1 in lengths:
            raise ValueError("All Program inputs must be lists when using ProgramSet")
        if len(lengths) > 1:
            raise ValueError("All Program inputs must have the same length when using ProgramSet")
        counts.append(lengths.pop() if lengths else 1)
    return counts


def _check_program_set(
    device: LocalDevice,
    properties: Mapping[str, Any],
    action: Mapping[str, Any],
    shots: int,
) -> dict[str, Any]:
    programs = action.get("programs")
    if not isinstance(programs, list) or not programs:
        raise Validation(
            "Value at 'action.programs' failed to satisfy constraint: "
            "Member must be a non-empty list of OpenQASM programs"
        )
    failures: list[dict[str, Any]] = []
    counts: list[int] = []
    for index, program in enumerate(programs):
        if not isinstance(program, Mapping) or not isinstance(program.get("source"), str):
            failures.append(
                {"programIndex": index, "errors": ["The program must have an OpenQASM source"]}
            )
            counts.append(1)
            continue
        try:
            counts.extend(executable_counts([program]))
        except ValueError as exc:
            failures.append({"programIndex": index, "errors": [str(exc)]})
            counts.append(1)
    per_executable = shots // max(1, sum(counts))
    program_properties = device.capabilities["action"].get(OPENQASM_ACTION) or {}
    for index, program in enumerate(programs):
        if any(f["programIndex"] == index for f in failures):
            continue
        problems = _openqasm_problems(program_properties, program["source"], per_executable)
        if device.is_qpu and len(program["source"]) <= MAX_CHECKED_SOURCE:
            problems += qpu_program_problems(device, program_properties, program["source"])
        if problems:
            failures.append({"programIndex": index, "errors": problems})
    if failures:
        raise Validation(
            f"{len(failures)} program(s) in the program set failed validation.",
            programSetValidationFailures=failures,
        )
    total = sum(counts)
    limit = properties.get("maximumExecutables")
    if limit is not None and total > int(limit):
        raise Validation(
            f"The program set has {total} executables; device {device.arn} accepts at most {limit}."
        )
    shot_limit = properties.get("maximumTotalShots")
    if shot_limit is not None and shots > int(shot_limit):
        raise Validation(
            f"The program set asks for {shots} shots in total; device {device.arn} accepts at "
            f"most {shot_limit}."
        )
    if shots <= 0 or shots % total:
        raise Validation(
            f"Shots {shots} must be a positive multiple of the program set's {total} "
            "executables (every executable runs the same number of shots)."
        )
    _check_shots(device, shots // total)
    return {
        "actionType": PROGRAM_SET_ACTION,
        "programCount": len(programs),
        "executableCount": total,
    }


# AHS ---------------------------------------------------------------------------------------


def _float(value: Any) -> float:
    return float(value)


def _check_ahs(device: LocalDevice, action: Mapping[str, Any]) -> None:
    paradigm = device.capabilities.get("paradigm") or {}
    setup = (action.get("setup") or {}).get("ahs_register") or {}
    sites = setup.get("sites") or []
    filling = setup.get("filling") or []
    if not sites:
        raise Validation("The AHS program's register must have at least one site.")
    if len(sites) != len(filling):
        raise Validation("The AHS register must have one filling value per site.")
    geometry = paradigm.get("lattice", {}).get("geometry", {})
    most = geometry.get("numberSitesMax")
    if most is not None and len(sites) > int(most):
        raise Validation(
            f"The AHS register has {len(sites)} sites; device {device.arn} supports at most {most}."
        )
    area = paradigm.get("lattice", {}).get("area", {})
    try:
        xs = [_float(site[0]) for site in sites]
        ys = [_float(site[1]) for site in sites]
    except (TypeError, ValueError, IndexError):
        raise Validation("Every AHS register site must be an [x, y] pair of numbers.") from None
    for axis, values, limit in (
        ("width", xs, area.get("width")),
        ("height", ys, area.get("height")),
    ):
        if limit is not None and max(values) - min(values) > float(limit) * (1 + 1e-9):
            raise Validation(
                f"The AHS register's {axis} is {max(values) - min(values)} m; device "
                f"{device.arn} supports at most {limit} m."
            )
    rydberg_global = paradigm.get("rydberg", {}).get("rydbergGlobal", {})
    for name, field in _named_driving_fields(action):
        bounds = rydberg_global.get(_RANGES[name])
        if bounds is None:
            continue
        low, high = float(bounds[0]), float(bounds[1])
        try:
            values = [_float(v) for v in field.get("time_series", {}).get("values", [])]
        except (TypeError, ValueError):
            raise Validation(f"The AHS {name} time_series values must be numbers.") from None
        for index, value in enumerate(values):
            if not low <= value <= high:
                # QuEra's validator wording, as Braket relays it for Aquila.
                raise Validation(
                    f"1 validation error for DrivingFieldValidator\n__root__\n  Value {index} "
                    f"({value}) in {name} time_series outside the allowed range "
                    f"[{low}, {high}] (type=value_error)"
                )
    time_max = rydberg_global.get("timeMax")
    if time_max is not None:
        for field in _driving_fields(action):
            times = [_float(t) for t in field.get("time_series", {}).get("times", [])]
            if times and max(times) > float(time_max) * (1 + 1e-9):
                raise Validation(
                    f"The AHS program runs for {max(times)} s; device {device.arn} supports at "
                    f"most {time_max} s."
                )


_RANGES = {"amplitude": "rabiFrequencyRange", "phase": "phaseRange", "detuning": "detuningRange"}


def _named_driving_fields(action: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    hamiltonian = action.get("hamiltonian") or {}
    fields: list[tuple[str, Mapping[str, Any]]] = []
    for drive in hamiltonian.get("drivingFields") or []:
        if not isinstance(drive, Mapping):
            continue
        for name in ("amplitude", "phase", "detuning"):
            if isinstance(drive.get(name), Mapping):
                fields.append((name, drive[name]))
    return fields


def _driving_fields(action: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [field for _, field in _named_driving_fields(action)]
