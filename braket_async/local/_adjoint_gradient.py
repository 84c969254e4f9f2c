"""SV1's ``adjoint_gradient`` result type, computed in a simulator worker process.

``#pragma braket result adjoint_gradient expectation(<observable>) <parameters>`` asks for the
expectation value of a (sum of tensor-product) observable and its gradient with respect to
the program's ``input`` parameters (``all``, or none listed: every input). The default simulator
does not implement it. The worker computes it by the adjoint method, as SV1 does
(:meth:`AdjointGradientRequest.adjoint`): evolve the state ``psi`` through the circuit, apply the
observable term by term (``lam = sum_k c_k P_k psi``, accumulated left to right), take the
expectation as ``Re <psi|lam>``, then sweep the gates backwards, undoing each gate on both
``psi`` and ``lam`` and adding ``2 Re <lam|G U psi>`` for each gate ``U = exp(theta G)`` whose
angle is a parameter (``G``: ``-i/2`` times the rotation's Pauli, ``i`` times the projector of a
phase shift). In that order of operations the values are bit for bit those SV1 published for the
Braket SDK's integration suite (``test/integ_tests/test_adjoint_gradient.py``), e.g.
``5.880399467047451``; a parameter-shift rule gives ``...449`` there.

Where a parameter is not the whole angle of one of those gates (``rx(2*theta)``, a controlled
or powered rotation, ``prx(theta, phi)``), the worker falls back to
:meth:`~AdjointGradientRequest.value`: the pragma rewritten into one ``expectation`` pragma
per term, the derivative by the parameter-shift rule where it applies, else a five-point
central difference (step ``STEP``), accurate to about 1e-10, not bit for bit.

The value is written as Braket writes it: ``{"type": {"observable": "-6 * y @ i + 0.75 * y @ z",
"targets": [[0, 1], [2, 3]], "parameters": ["theta"], "type": "adjoint_gradient"},
"value": {"expectation": ..., "gradient": {"theta": ...}}}``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = [
    "STEP",
    "AdjointGradientRequest",
    "extract_adjoint_gradient",
    "generators",
]

#: Finite-difference step for the gradient (radians).
STEP = 1e-3

_PRAGMA = re.compile(r"^[ \t]*#pragma\s+braket\s+result\s+adjoint_gradient\s+(.*)$", re.MULTILINE)
_RESULT_PRAGMA = re.compile(r"^\s*#pragma\s+braket\s+result\s", re.MULTILINE)
_FACTOR = re.compile(r"([A-Za-z_]\w*)\s*\(([^()]*)\)")
_INPUT = re.compile(r"\binput\b([^;]*);")
#: Longest observable expression evaluated (the program text is untrusted).
MAX_EXPRESSION = 100_000
_QUBIT_ARRAY = re.compile(r"\bqubit\s*\[\s*(\d+)\s*\]\s*([A-Za-z_]\w*)\s*;")
_QUBIT_SINGLE = re.compile(r"\bqubit\s+([A-Za-z_]\w*)\s*;")


class AdjointGradientError(ValueError):
    """The adjoint_gradient pragma cannot be evaluated locally."""


@attrs.frozen
class _Term:
    coefficient: float
    factors: tuple[tuple[str, str], ...]  # (observable, operand text)


@attrs.frozen
class AdjointGradientRequest:
    """One parsed ``adjoint_gradient`` pragma and the program rewritten to evaluate it."""

    source: str  # the program with one expectation pragma per term in its place
    index: int  # position of the result type among the program's result pragmas
    terms: tuple[_Term, ...]
    observable: str
    targets: tuple[tuple[int, ...], ...]
    parameters: tuple[str, ...]

    def value(
        self, run: Callable[[str, dict[str, float]], Sequence[float]], inputs: dict[str, float]
    ) -> dict[str, Any]:
        """``{"expectation", "gradient"}`` from ``run(source, inputs) -> term expectations``."""

        def energy(values: dict[str, float], source: str = self.source) -> float:
            expectations = run(source, values)
            return float(
                sum(t.coefficient * e for t, e in zip(self.terms, expectations, strict=True))
            )

        gradient: dict[str, float] = {}
        for name in self.parameters:
            if name not in inputs:
                raise AdjointGradientError(
                    f"adjoint_gradient parameter {name!r} has no value in the task's inputs"
                )
            uses = _shiftable_uses(self.source, name)
            if uses is not None:
                gradient[name] = sum(
                    (energy(inputs, _shifted(self.source, use, "+"))
                     - energy(inputs, _shifted(self.source, use, "-"))) / 2
                    for use in uses
                )  # fmt: skip
                continue
            base = float(inputs[name])

            def at(offset: float, name: str = name, base: float = base) -> float:
                return energy({**inputs, name: base + offset})

            h = STEP
            gradient[name] = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
        return {"expectation": energy(dict(inputs)), "gradient": gradient}

    def adjoint(
        self, build: Callable[[dict[str, Any]], Any], inputs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """``{"expectation", "gradient"}`` by the adjoint method (module docstring), or None
        when a parameter is used other than as the whole angle of a gate in
        :func:`generators` (then :meth:`value` computes it).

        ``build(inputs)`` is the default simulator's circuit of :attr:`source` for those
        inputs (``engine.parse_program(...).circuit``): its ``instructions`` and
        ``qubit_set``."""
        import numpy as np

        for name in self.parameters:
            if name not in inputs:
                raise AdjointGradientError(
                    f"adjoint_gradient parameter {name!r} has no value in the task's inputs"
                )
        values = dict(inputs)  # other inputs (integers, arrays) go to the program as given
        circuit = build(values)
        operations = list(circuit.instructions)
        if not all(hasattr(op, "matrix") for op in operations):
            return None  # noise: not SV1's (the simulator reports it)
        uses = _parameter_uses(operations, self.parameters, values, build)
        if uses is None:
            return None
        qubits = sorted(set(circuit.qubit_set).union(*self.targets))
        index = {q: i for i, q in enumerate(qubits)}
        n = len(qubits)

        def apply(state: Any, matrix: Any, targets: Sequence[int]) -> Any:
            axes = [index[q] for q in targets]
            k = len(axes)
            tensor = np.reshape(matrix, (2,) * (2 * k))
            moved = np.tensordot(tensor, state, axes=(list(range(k, 2 * k)), axes))
            return np.moveaxis(moved, list(range(k)), axes)

        psi = np.zeros((2,) * n, dtype=complex)
        psi[(0,) * n] = 1
        for op in operations:
            psi = apply(psi, op.matrix, op.targets)
        lam = np.zeros_like(psi)
        for term, targets in zip(self.terms, self.targets, strict=True):
            applied = psi
            for (observable, _operand), qubit in zip(term.factors, targets, strict=True):
                if observable != "i":
                    applied = apply(applied, _observables()[observable], (qubit,))
            lam = lam + term.coefficient * applied
        expectation = float(np.vdot(psi, lam).real)
        gradient = dict.fromkeys(self.parameters, 0.0)
        for position in range(len(operations) - 1, -1, -1):
            op = operations[position]
            parameter = uses.get(position)
            if parameter is not None:
                mu = apply(psi, generators()[op.gate_type], op.targets)
                gradient[parameter] += float(2 * np.vdot(lam, mu).real)
            undo = np.conj(np.transpose(op.matrix))
            psi = apply(psi, undo, op.targets)
            lam = apply(lam, undo, op.targets)
        return {"expectation": expectation, "gradient": gradient}

    def result_type(self, value: dict[str, Any]) -> dict[str, Any]:
        """The ``resultTypes`` entry Braket writes."""
        return {
            "type": {
                "observable": self.observable,
                "targets": [list(t) for t in self.targets],
                "parameters": list(self.parameters),
                "type": "adjoint_gradient",
            },
            "value": value,
        }


@functools.cache
def generators() -> dict[str, Any]:
    """gate type -> ``G`` with ``dU/dtheta = G U`` for the gate at angle ``theta``, as the
    default simulator builds the gates (``rx = exp(-i theta/2 X)``,
    ``phaseshift = diag(1, e^{i theta})``, ``cphaseshift01 = diag(1, e^{i theta}, 1, 1)``,
    ...). Built on first use: numpy is imported only where a gradient is computed."""
    import numpy as np

    x = np.array([[0, 1], [1, 0]], dtype=complex)
    y = np.array([[0, -1j], [1j, 0]], dtype=complex)
    z = np.array([[1, 0], [0, -1]], dtype=complex)

    def projector(size: int, at: int) -> Any:
        m = np.zeros((size, size), dtype=complex)
        m[at, at] = 1
        return m

    half = -0.5j
    return {
        "rx": half * x,
        "ry": half * y,
        "rz": half * z,
        "xx": half * np.kron(x, x),
        "yy": half * np.kron(y, y),
        "zz": half * np.kron(z, z),
        "phaseshift": 1j * projector(2, 1),
        "cphaseshift": 1j * projector(4, 3),
        "cphaseshift00": 1j * projector(4, 0),
        "cphaseshift01": 1j * projector(4, 1),
        "cphaseshift10": 1j * projector(4, 2),
    }




@functools.cache
def _observables() -> dict[str, Any]:
    import numpy as np

    return {
        "x": np.array([[0, 1], [1, 0]], dtype=complex),
        "y": np.array([[0, -1j], [1j, 0]], dtype=complex),
        "z": np.array([[1, 0], [0, -1]], dtype=complex),
        "h": np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2),
    }

#: How far a parameter is moved to find the gates that use it (any value that changes them).
_PROBE = 0.5


def _parameter_uses(
    operations: list[Any],
    parameters: Sequence[str],
    values: dict[str, Any],
    build: Callable[[dict[str, Any]], Any],
) -> dict[int, str] | None:
    """Position of each gate whose whole angle is one parameter -> that parameter; None when
    a parameter changes any other gate (or the circuit's shape)."""
    import numpy as np

    uses: dict[int, str] = {}
    for name in parameters:
        moved = {**values, name: float(values[name]) + _PROBE}
        probed = list(build(moved).instructions)
        if len(probed) != len(operations):
            return None
        for position, (op, other) in enumerate(zip(operations, probed, strict=True)):
            if type(op) is not type(other) or tuple(op.targets) != tuple(other.targets):
                return None
            if np.array_equal(op.matrix, other.matrix):
                continue
            angle, moved_angle = getattr(op, "_angle", None), getattr(other, "_angle", None)
            whole = (
                angle is not None
                and moved_angle is not None
                and float(angle) == float(values[name])
                and float(moved_angle) == moved[name]
            )
            plain = not getattr(op, "_ctrl_modifiers", ()) and getattr(op, "_power", 1) == 1
            if not (whole and plain and op.gate_type in generators()) or position in uses:
                return None
            uses[position] = name
    return uses


#: Gates whose generator has two eigenvalues one apart: d<E>/dθ = (<E>(θ+π/2) - <E>(θ-π/2)) / 2.
_SHIFTABLE = "rx|ry|rz|phaseshift|cphaseshift|cphaseshift00|cphaseshift01|cphaseshift10|xx|yy|zz"
_HALF_PI = "1.5707963267948966"


def _without_pragmas(source: str) -> str:
    """``source`` with its pragma lines blanked (same length: offsets still match)."""
    return re.sub(r"(?m)^[ \t]*#pragma[^\n]*", lambda m: " " * len(m.group()), source)


def _shiftable_uses(source: str, name: str) -> list[int] | None:
    """Offsets of ``name`` in ``source`` when every use is the whole angle of a shiftable gate
    (the ``input`` declaration aside); None otherwise."""
    body = _without_pragmas(source)
    body = re.sub(rf"\binput\s+[^;]*\b{re.escape(name)}\s*;", lambda m: " " * len(m.group()), body)
    every = [m.start() for m in re.finditer(rf"\b{re.escape(name)}\b", body)]
    gate = re.compile(rf"\b(?:{_SHIFTABLE})\s*\(\s*({re.escape(name)})\s*\)")
    simple = [m.start(1) for m in gate.finditer(body)]
    return simple if simple and simple == every else None


def _shifted(source: str, offset: int, sign: str) -> str:
    """``source`` with the parameter use at ``offset`` shifted by +-pi/2."""
    end = re.compile(r"\w+").match(source, offset)
    assert end is not None
    return f"{source[:offset]}({end.group()} {sign} {_HALF_PI}){source[end.end() :]}"


def _split_terms(expression: str) -> list[tuple[int, str]]:
    """``expression`` cut at the binary ``+``/``-`` between terms: ``[(sign, term), ...]``."""
    terms: list[tuple[int, str]] = []
    depth, start, sign, last = 0, 0, 1, ""
    for i, char in enumerate(expression):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in "+-" and depth == 0 and last == ")":
            terms.append((sign, expression[start:i]))
            sign, start = (1 if char == "+" else -1), i + 1
        if not char.isspace():
            last = char
    terms.append((sign, expression[start:]))
    return terms


def _coefficient(prefix: str) -> float:
    text = prefix.strip().rstrip("*").strip()
    if not text or text == "+":
        return 1.0
    if text == "-":
        return -1.0
    try:
        return float(text.replace(" ", ""))
    except ValueError:
        raise AdjointGradientError(f"unsupported coefficient {text!r}") from None


def _qubit_index(operand: str, registers: list[tuple[str, int]]) -> int:
    operand = operand.strip()
    if operand.startswith("$"):
        return int(operand[1:])
    match = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?", operand)
    if match is None:
        raise AdjointGradientError(f"unsupported observable target {operand!r}")
    name, index = match.group(1), int(match.group(2) or 0)
    offset = 0
    for register, size in registers:
        if register == name:
            return offset + index
        offset += size
    raise AdjointGradientError(f"unknown qubit {operand!r}")


def extract_adjoint_gradient(source: str) -> AdjointGradientRequest | None:
    """The program's ``adjoint_gradient`` request (None without one). The returned
    ``source`` computes one expectation per observable term in the pragma's place."""
    match = _PRAGMA.search(source)
    if match is None:
        return None
    if len(_PRAGMA.findall(source)) > 1:
        raise AdjointGradientError("a program may request adjoint_gradient only once")
    rest = match.group(1).strip()
    if not rest.startswith("expectation"):
        raise AdjointGradientError("adjoint_gradient takes expectation(<observable>)")
    body = rest[len("expectation") :].lstrip()
    if not body.startswith("("):
        raise AdjointGradientError("adjoint_gradient takes expectation(<observable>)")
    depth, end = 0, len(body)
    for position, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            end = position
            break
    expression, tail = body[1:end], body[end + 1 :]
    if len(expression) > MAX_EXPRESSION:
        raise AdjointGradientError(f"the observable is longer than {MAX_EXPRESSION} characters")
    names = [p.strip() for p in tail.replace(",", " ").split() if p.strip()]
    declared_inputs = [d.split()[-1] for d in _INPUT.findall(source) if d.split()]
    parameters = tuple(declared_inputs if not names or names == ["all"] else names)

    registers = [(name, int(size)) for size, name in _QUBIT_ARRAY.findall(source)]
    registers += [(name, 1) for name in _QUBIT_SINGLE.findall(source)]
    terms = []
    for sign, text in _split_terms(expression):
        factors = tuple((obs.lower(), operand) for obs, operand in _FACTOR.findall(text))
        if not factors:
            raise AdjointGradientError(f"no observable in term {text.strip()!r}")
        if any(obs == "hermitian" for obs, _ in factors):
            raise AdjointGradientError("hermitian observables are not supported locally")
        first = _FACTOR.search(text)
        assert first is not None
        terms.append(_Term(sign * _coefficient(text[: first.start()]), factors))
    targets = tuple(tuple(_qubit_index(op, registers) for _, op in t.factors) for t in terms)
    observable = " ".join(re.sub(r"\s*\([^()]*\)", "", expression).split())
    pragmas = "\n".join(
        "#pragma braket result expectation " + " @ ".join(f"{o}({op})" for o, op in t.factors)
        for t in terms
    )
    index = len(_RESULT_PRAGMA.findall(source[: match.start()]))
    rewritten = source[: match.start()] + pragmas + source[match.end() :]
    return AdjointGradientRequest(
        source=rewritten,
        index=index,
        terms=tuple(terms),
        observable=observable,
        targets=targets,
        parameters=parameters,
    )
