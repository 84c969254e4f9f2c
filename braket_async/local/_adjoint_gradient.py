"""SV1's ``adjoint_gradient`` result type, computed in a simulator worker process.

``#pragma braket result adjoint_gradient expectation(<observable>) <parameters>`` asks for the
expectation value of a (sum of tensor-product) observable and its gradient with respect to
the program's ``input`` parameters (``all``, or none listed: every input). The default simulator
does not implement it, so the worker rewrites the pragma into one ``expectation`` pragma per
term, runs the program, and sums the terms. The gradient is exact where the parameter-shift
rule applies: when every use of a parameter is the whole angle of a gate whose generator has
two eigenvalues one apart (``rx``, ``ry``, ``rz``, ``phaseshift``, ``cphaseshift*``, ``xx``,
``yy``, ``zz``), the derivative is the sum over those uses of half the difference of the
expectation with that angle shifted by +-pi/2. Otherwise it is a five-point central difference
(step ``STEP``), accurate to about 1e-10 for the trigonometric polynomials a circuit's
expectation is. SV1 computes it by the adjoint method; the values agree to rounding (about
1e-13), not bit for bit.

The value is written as Braket writes it: ``{"type": {"observable": "-6 * y @ i + 0.75 * y @ z",
"targets": [[0, 1], [2, 3]], "parameters": ["theta"], "type": "adjoint_gradient"},
"value": {"expectation": ..., "gradient": {"theta": ...}}}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = ["STEP", "AdjointGradientRequest", "extract_adjoint_gradient"]

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
