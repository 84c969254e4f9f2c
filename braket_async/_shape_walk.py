"""One walk over botocore's input shapes, for the client's validator and the local service's.

The rules a request must keep (types, required members, lengths, ranges, enums, patterns,
unions, non-null items) are read from the model here, once. A shape compiles to a checker that
hands each broken rule to a ``report`` callable as a :class:`Violation` (rule, path, value,
shape); the validators differ only in what they do with it. The client's raises at the first
one, naming the snake_case parameter (:mod:`._validate`); the service's collects them all and
words them as Braket's ``ValidationException`` does (:mod:`.local.api._validation`).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import botocore.model

__all__ = [
    "Check",
    "Dialect",
    "Report",
    "Rule",
    "Step",
    "StepKind",
    "Violation",
    "compile_shape",
    "is_int",
    "steps",
]


class Rule(enum.Enum):
    """Which rule of the model a value breaks."""

    #: The value is not of the shape's type.
    TYPE = "type"
    #: A list item, map value or structure member is None.
    NULL = "null"
    #: A required structure member is missing or None.
    REQUIRED = "required"
    #: A structure has a member the shape does not name.
    UNKNOWN = "unknown"
    #: A union structure has not exactly one member set.
    UNION = "union"
    #: Below the shape's ``min`` (a length, or an integer's value).
    MIN = "min"
    #: Above the shape's ``max`` (a length, or an integer's value).
    MAX = "max"
    #: A string outside the shape's enum.
    ENUM = "enum"
    #: A string that does not match the whole of the pattern.
    PATTERN = "pattern"


class StepKind(enum.Enum):
    """How a path goes one level down."""

    MEMBER = "member"
    ITEM = "item"
    MAP_KEY = "map_key"
    MAP_VALUE = "map_value"


#: One level of a path: a structure member (its wire name), a list item (its 0-based index),
#: or a map key or value (the key). A plain tuple: the walk builds one a list item.
Step = tuple[StepKind, Any]


#: From the value up to the request, one ``(parent, step)`` pair a level (built at no more
#: cost than a step; :func:`steps` reads it top down); ``None`` is the request itself.
Path = tuple["Path", Step] | None


def steps(path: Path) -> list[Step]:
    """The steps of ``path``, from the request down to the value."""
    found: list[Step] = []
    while path is not None:
        path, step = path
        found.append(step)
    found.reverse()
    return found


@attrs.frozen
class Violation:
    """One broken rule of the model."""

    rule: Rule
    path: Path
    #: The offending value (the whole string, list or map for a length rule).
    value: Any
    #: The shape ``value`` was checked against.
    shape: botocore.model.Shape
    #: The wire name of the structure member the value sits under ("" below a map).
    member: str = ""
    #: The bound (MIN, MAX) or the pattern (PATTERN) that was broken.
    limit: Any = None


Report = Callable[[Violation], None]
#: A compiled shape: checks a value at a path, reporting each broken rule.
Check = Callable[[Any, Path, Report], None]


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def _is_timestamp(value: Any) -> bool:
    return isinstance(value, datetime) or _is_number(value)


@attrs.frozen
class Dialect:
    """Where two validators read the same model differently.

    Args:
        timestamp: Whether a value may stand for a timestamp member.
        regex_flags: The flags the model's patterns are compiled with.
        extra_patterns: Patterns for members (by wire name) the model leaves without one.
    """

    timestamp: Callable[[Any], bool] = _is_timestamp
    regex_flags: int = 0
    extra_patterns: Mapping[str, str] = attrs.field(factory=dict)


#: The type test of each shape kind; a kind not here (document, blob) takes anything.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "structure": lambda v: isinstance(v, Mapping),
    "list": lambda v: isinstance(v, list | tuple),
    "map": lambda v: isinstance(v, Mapping),
    "string": lambda v: isinstance(v, str),
    "integer": is_int,
    "long": is_int,
    "float": _is_number,
    "double": _is_number,
    "boolean": lambda v: isinstance(v, bool),
}


def compile_shape(shape: botocore.model.Shape, dialect: Dialect, member: str = "") -> Check:
    """The checker of ``shape`` (``member``: the wire name of the structure member it is)."""
    kind = shape.type_name
    is_type = dialect.timestamp if kind == "timestamp" else _TYPES.get(kind)
    if is_type is None:
        return _accept
    compile_body = _BODIES.get(kind)
    if compile_body is not None:
        # (the body tests the type itself: one call a value, on the hot path)
        return compile_body(shape, dialect, member, is_type)

    def check(value: Any, path: Path, report: Report) -> None:
        if not is_type(value):
            report(Violation(Rule.TYPE, path, value, shape, member))

    return check


def _accept(value: Any, path: Path, report: Report) -> None:
    return None


_Body = Callable[[botocore.model.Shape, Dialect, str, Callable[[Any], bool]], Check]


def _measured(
    shape: botocore.model.Shape,
    member: str,
    is_type: Callable[[Any], bool],
    measure: Callable[[Any], float],
    contents: Check | None = None,
) -> Check:
    """The checker of a value with a size (a string's, list's or map's length, an integer's
    value): its type, the shape's ``min`` and ``max``, then ``contents`` (items, enum, ...)."""
    metadata = shape.metadata
    lo: float = metadata.get("min", -math.inf)
    hi: float = metadata.get("max", math.inf)

    def check(value: Any, path: Path, report: Report) -> None:
        if not is_type(value):
            report(Violation(Rule.TYPE, path, value, shape, member))
            return
        size = measure(value)
        if size < lo:
            report(Violation(Rule.MIN, path, value, shape, member, lo))
        if size > hi:
            report(Violation(Rule.MAX, path, value, shape, member, hi))
        if contents is not None:
            contents(value, path, report)

    return check


def _string(
    shape: botocore.model.Shape, dialect: Dialect, member: str, is_type: Callable[[Any], bool]
) -> Check:
    enum_values = frozenset(shape.enum) if shape.enum else None
    pattern = shape.metadata.get("pattern")
    if pattern is None:
        pattern = dialect.extra_patterns.get(member)
    regex = re.compile(pattern, dialect.regex_flags) if pattern is not None else None
    if enum_values is None and regex is None:
        return _measured(shape, member, is_type, len)

    def contents(value: str, path: Path, report: Report) -> None:
        if enum_values is not None and value not in enum_values:
            report(Violation(Rule.ENUM, path, value, shape, member))
        if regex is not None and regex.fullmatch(value) is None:
            report(Violation(Rule.PATTERN, path, value, shape, member, pattern))

    return _measured(shape, member, is_type, len, contents)


def _integer(
    shape: botocore.model.Shape, dialect: Dialect, member: str, is_type: Callable[[Any], bool]
) -> Check:
    return _measured(shape, member, is_type, int)


def _not_null(check: Check, shape: botocore.model.Shape, member: str) -> Check:
    """``check``, for a list item or map value: there, None breaks a rule of its own."""

    def element(value: Any, path: Path, report: Report) -> None:
        if value is None:
            report(Violation(Rule.NULL, path, None, shape, member))
        else:
            check(value, path, report)

    return element


def _list(
    shape: botocore.model.Shape, dialect: Dialect, member: str, is_type: Callable[[Any], bool]
) -> Check:
    assert isinstance(shape, botocore.model.ListShape)
    item = _not_null(compile_shape(shape.member, dialect, member), shape.member, member)

    def items(value: Any, path: Path, report: Report) -> None:
        for index, element in enumerate(value):
            item(element, (path, (StepKind.ITEM, index)), report)

    return _measured(shape, member, is_type, len, items)


def _map(
    shape: botocore.model.Shape, dialect: Dialect, member: str, is_type: Callable[[Any], bool]
) -> Check:
    assert isinstance(shape, botocore.model.MapShape)
    key_check = compile_shape(shape.key, dialect)
    value_check = _not_null(compile_shape(shape.value, dialect), shape.value, "")

    def entries(value: Any, path: Path, report: Report) -> None:
        for key, element in value.items():
            key_check(key, (path, (StepKind.MAP_KEY, key)), report)
            value_check(element, (path, (StepKind.MAP_VALUE, key)), report)

    return _measured(shape, member, is_type, len, entries)


def _structure(
    shape: botocore.model.Shape, dialect: Dialect, member: str, is_type: Callable[[Any], bool]
) -> Check:
    assert isinstance(shape, botocore.model.StructureShape)
    members = {
        name: ((StepKind.MEMBER, name), member_shape, compile_shape(member_shape, dialect, name))
        for name, member_shape in shape.members.items()
    }
    required = tuple(shape.required_members)
    union = bool(shape.metadata.get("union"))

    def check(value: Any, path: Path, report: Report) -> None:
        if not is_type(value):
            report(Violation(Rule.TYPE, path, value, shape, member))
            return
        for name in required:
            if value.get(name) is None:
                step, member_shape, _ = members[name]
                report(Violation(Rule.REQUIRED, (path, step), None, member_shape, name))
        if union and sum(value.get(name) is not None for name in members) != 1:
            report(Violation(Rule.UNION, path, value, shape, member))
        for name, element in value.items():
            entry = members.get(name)
            if entry is None:
                where = (path, (StepKind.MEMBER, name))
                report(Violation(Rule.UNKNOWN, where, element, shape, member))
            elif element is not None:
                entry[2](element, (path, entry[0]), report)
            else:  # (REQUIRED above if it is required: a validator may want both, or one)
                report(Violation(Rule.NULL, (path, entry[0]), None, entry[1], name))

    return check


_BODIES: dict[str, _Body] = {
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "list": _list,
    "map": _map,
    "structure": _structure,
}
