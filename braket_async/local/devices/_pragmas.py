"""OpenQASM ``#pragma`` statements as Braket reads them.

A pragma runs to the end of its line, so OpenQASM parsers (the default simulator's included)
read ``#pragma braket result expectation z(q[0]) #pragma braket result probability`` as ONE
pragma and drop the second. Braket runs every pragma of such a line; :func:`split_pragmas`
puts each one on its own line first. :func:`pragma_commands` lists the pragmas of a program.
"""

from __future__ import annotations

import re

__all__ = ["capability_pragma_name", "pragma_commands", "split_pragmas"]

_PRAGMA = re.compile(r"#pragma\b")


def split_pragmas(source: str) -> str:
    """``source`` with every ``#pragma`` that does not start its line moved onto a new line.

    Text after a ``//`` comment marker is left alone (a commented-out pragma stays commented).
    """
    if source.count("#pragma") < 2:
        return source
    lines = []
    for line in source.split("\n"):
        comment = line.find("//")
        code, rest = (line, "") if comment < 0 else (line[:comment], line[comment:])
        starts = [m.start() for m in _PRAGMA.finditer(code)]
        inner = [s for s in starts if code[:s].strip()]
        if not inner:
            lines.append(line)
            continue
        pieces = []
        last = 0
        for start in inner:
            pieces.append(code[last:start].rstrip())
            last = start
        pieces.append(code[last:] + rest)
        lines.extend(pieces)
    return "\n".join(lines)


def pragma_commands(source: str) -> list[str]:
    """The text after ``#pragma`` of every pragma in ``source`` (one per pragma, even when
    several share a line), whitespace-normalised. Pragmas inside ``//`` comments are skipped."""
    commands = []
    for line in split_pragmas(source).split("\n"):
        stripped = line.strip()
        if stripped.startswith("#pragma"):
            text = stripped[len("#pragma") :].split("//", 1)[0]
            commands.append(" ".join(text.split()))
    return commands


_RESULT_NAMES = {
    "state_vector",
    "density_matrix",
    "sample",
    "expectation",
    "variance",
    "probability",
    "amplitude",
    "adjoint_gradient",
}


def capability_pragma_name(command: str) -> str | None:
    """The capability-document name of a Braket pragma (``supportedPragmas`` /
    ``forbiddenPragmas``): ``braket result expectation ...`` -> ``braket_result_type_expectation``,
    ``braket noise bit_flip(...) ...`` -> ``braket_noise_bit_flip``, ``braket unitary(...)`` ->
    ``braket_unitary_matrix``, ``braket verbatim`` -> ``verbatim``; None for others."""
    words = command.split()
    if len(words) < 2 or words[0] != "braket":
        return None
    kind = words[1]
    if kind == "result" and len(words) > 2:
        name = re.split(r"[\s(]", words[2], maxsplit=1)[0]
        return f"braket_result_type_{name}" if name in _RESULT_NAMES else None
    if kind == "noise" and len(words) > 2:
        name = re.split(r"[\s(]", words[2], maxsplit=1)[0]
        return f"braket_noise_{name}"
    if kind.startswith("unitary"):
        return "braket_unitary_matrix"
    if kind == "verbatim":
        return "verbatim"
    return None
