"""What a QPU refuses in an OpenQASM program, read from its capability document.

Braket validates a QPU program at CreateQuantumTask and answers ``ValidationException``; the
task never exists. The rules (``docs/devices.md``):

- every gate must be one of ``action[...].supportedOperations`` (or a gate the program defines);
  gate modifiers (``ctrl @``, ``inv @``, ...) only if ``supportedModifiers`` lists them;
- a program may declare at most ``paradigm.qubitCount`` qubits, and a physical qubit ``$n`` must
  exist on the device (a key of ``paradigm.connectivity.connectivityGraph``, or
  ``0..qubitCount-1`` on a fully connected device);
- inside a verbatim box (``#pragma braket verbatim`` before ``box { ... }``) every gate must be
  native (``paradigm.nativeGateSet``), act on physical qubits, and a two-qubit gate must act on
  a connected pair.

Like ``_capabilities``, the checks read the program text in one linear pass (untrusted text on
the service's event loop); what they cannot resolve (a gate inside a loop body with computed
operands) is left to the simulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ._devices import LocalDevice

__all__ = ["qpu_program_problems"]

_SEPARATORS = re.compile(r"(#pragma[^\n]*)|(\{)|(\})|(;)")
_GATE_CALL = re.compile(
    r"((?:(?:ctrl|negctrl|inv|pow)\s*(?:\([^)]*\))?\s*@\s*)*)"
    r"([A-Za-z_]\w*)\s*(\([^;]*?\))?\s*((?:\$\d+|[A-Za-z_]\w*(?:\s*\[[^\]]*\])?)"
    r"(?:\s*,\s*(?:\$\d+|[A-Za-z_]\w*(?:\s*\[[^\]]*\])?))*)",
    re.DOTALL,
)
_QUBIT_DECLARATION = re.compile(r"(?:qubit\s*\[\s*(\d+)\s*\]|qreg\s+\w+\s*\[\s*(\d+)\s*\])")
_PHYSICAL = re.compile(r"\$(\d+)")
_GATE_DEFINITION = re.compile(r"gate\s+([A-Za-z_]\w*)")
#: Statement heads that are not gate calls.
_NOT_GATES = frozenset(
    [
        "OPENQASM", "include", "qubit", "qreg", "bit", "creg", "input", "output", "const", "int",
        "uint", "float", "angle", "bool", "complex", "duration", "stretch", "let", "reset",
        "barrier", "measure", "return", "break", "continue", "delay", "end", "def", "defcal",
        "cal", "gate", "box", "for", "while", "if", "else", "switch", "array", "extern",
    ]
)  # fmt: skip


def _clean(source: str) -> str:
    """``source`` with comments blanked, newlines kept (line numbers stay right)."""
    out = []
    i, n = 0, len(source)
    while i < n:
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(c if c == "\n" else " " for c in source[i:end]))
            i = end
        else:
            nxt = min(p for p in (source.find("//", i), source.find("/*", i), n) if p >= 0)
            out.append(source[i:nxt])
            i = nxt
    return "".join(out)


def _statements(code: str) -> Iterator[tuple[int, str, bool]]:
    """``(line, statement, in_verbatim_box)`` for every statement outside gate definitions."""
    stack: list[str] = []
    verbatim_next = False
    start = 0
    for match in _SEPARATORS.finditer(code):
        fragment = code[start : match.start()]
        line = code.count("\n", 0, start + len(fragment) - len(fragment.lstrip())) + 1
        pragma, opening, closing, _end = match.groups()
        start = match.end()
        if pragma is not None:
            verbatim_next = "braket verbatim" in " ".join(pragma.split())
            continue
        head = fragment.strip()
        if opening is not None:
            if head == "box" and verbatim_next:
                stack.append("verbatim")
            elif head.split(" ", 1)[0] in ("gate", "def", "cal", "defcal"):
                stack.append("definition")
            else:
                stack.append("block")
            verbatim_next = False
            continue
        if closing is not None:
            if stack:
                stack.pop()
            continue
        if head and "definition" not in stack:
            yield line, head, "verbatim" in stack


def _graph(device: LocalDevice) -> tuple[set[int], dict[int, set[int]] | None]:
    paradigm: dict[str, Any] = device.capabilities["paradigm"]
    connectivity = paradigm.get("connectivity") or {}
    if connectivity.get("fullyConnected", True):
        return set(range(device.qubit_count)), None
    graph: dict[int, set[int]] = {}
    for node, neighbours in (connectivity.get("connectivityGraph") or {}).items():
        for other in neighbours:
            graph.setdefault(int(node), set()).add(int(other))
            graph.setdefault(int(other), set()).add(int(node))
    return set(graph), graph


def qpu_program_problems(
    device: LocalDevice, action_properties: dict[str, Any], source: str
) -> list[str]:
    """The rule violations of an OpenQASM ``source`` on the QPU ``device`` (empty: none)."""
    code = _clean(source)
    supported = {op.lower() for op in action_properties.get("supportedOperations") or ()}
    modifiers = set(action_properties.get("supportedModifiers") or ())
    native = set(device.native_gates)
    supported |= native
    defined = set(_GATE_DEFINITION.findall(code))
    qubits, graph = _graph(device)
    problems: list[str] = []
    for line, statement, verbatim in _statements(code):
        declared = _QUBIT_DECLARATION.match(statement)
        if declared is not None:
            count = int(declared.group(1) or declared.group(2))
            if count > device.qubit_count:
                problems.append(
                    f"[line {line}] The program declares {count} qubits; device {device.arn} "
                    f"has {device.qubit_count}."
                )
            continue
        head = re.split(r"[\s(\[=]", statement, maxsplit=1)[0]
        if head in _NOT_GATES or "=" in statement.split("(", 1)[0]:
            continue
        call = _GATE_CALL.fullmatch(statement)
        if call is None:
            continue
        modifier_text, gate, _arguments, operand_text = call.groups()
        gate = gate.lower()
        operands = [o.strip() for o in operand_text.split(",")]
        physical = [int(m) for o in operands for m in _PHYSICAL.findall(o)]
        for qubit in physical:
            if qubit not in qubits:
                problems.append(
                    f"[line {line}] Qubit ${qubit} does not exist on device {device.arn}."
                )
        if modifier_text.strip():
            used = {m for m in ("ctrl", "negctrl", "inv", "pow") if m in modifier_text}
            if not used <= {m.lower() for m in modifiers}:
                problems.append(
                    f"[line {line}] uses a gate modifier ({', '.join(sorted(used))}) which is "
                    "not supported by the device."
                )
        if gate not in supported and gate not in defined:
            problems.append(
                f"[line {line}] uses a gate: {gate} which is not supported by the device or "
                "defined via a defcal"
            )
            continue
        if not verbatim:
            continue
        if gate not in native:
            problems.append(
                f"[line {line}] Gate {gate} in a verbatim box is not a native gate of device "
                f"{device.arn}; native gates: {', '.join(device.native_gates)}."
            )
        if len(physical) != len(operands):
            problems.append(
                f"[line {line}] A verbatim box must use physical qubits ($0, $1, ...), got "
                f"{operand_text.strip()}."
            )
        elif graph is not None and len(physical) == 2:
            a, b = physical
            if b not in graph.get(a, ()):
                problems.append(
                    f"[line {line}] Qubits ${a} and ${b} of {gate} in a verbatim box are not "
                    f"connected on device {device.arn}."
                )
    return problems
