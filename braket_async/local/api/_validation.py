"""Request validation against botocore's Braket input shapes, worded like the service.

Checks required members, types, enums, string lengths and patterns, numeric ranges, list
lengths, map keys and values, and unions (the walk the client's validator shares,
:mod:`braket_async._shape_walk`); every broken rule becomes one clause of a single
``ValidationException``: ``"2 validation errors detected: Value null at 'deviceArn' failed
to satisfy constraint: Member must not be null; Value '-1' at 'shots' ..."``. Patterns are
matched against the whole value, as the service's validator does. Nested paths use the
service's notation: ``filters.1.member.operator`` (1-based).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.model import Shape

from ..._shape_walk import (
    Check,
    Dialect,
    Path,
    Rule,
    StepKind,
    Violation,
    compile_shape,
    is_int,
    steps,
)
from .._errors import Validation

__all__ = ["check_request", "validation_errors"]

_MAX_SHOWN = 120


def _is_timestamp(value: Any) -> bool:
    """Epoch seconds, or a string of them or of an ISO 8601 time."""
    if isinstance(value, float) or is_int(value):
        return True
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                float(value)
            except ValueError:
                return False
        return True
    return False


_DIALECT = Dialect(timestamp=_is_timestamp, regex_flags=re.DOTALL)

#: The clause of a value not of its shape's kind.
_TYPE_RULES = {
    "structure": "be a structure",
    "list": "be a list",
    "map": "be a map",
    "string": "be of type string",
    "integer": "be of type integer",
    "long": "be of type long",
    "float": "be of type float",
    "double": "be of type double",
    "boolean": "be of type boolean",
    "timestamp": "be a timestamp (epoch seconds or ISO 8601)",
}


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return f"'{text}'"


def _path(path: Path) -> str:
    """The service's notation: ``filters.1.member.values``, ``tags.key``, ``tags.<key>``."""
    text = ""
    for kind, key in steps(path):
        if kind is StepKind.MEMBER:
            text = f"{text}.{key}" if text else key
        elif kind is StepKind.ITEM:
            text = f"{text}.{key + 1}.member"
        elif kind is StepKind.MAP_KEY:
            text = f"{text}.key"
        else:
            text = f"{text}.{key}"
    return text


def _clause(violation: Violation) -> str | None:
    """The service's words for ``violation``; None for what the service lets through."""
    rule, value, shape = violation.rule, violation.value, violation.shape
    path = _path(violation.path)
    if rule is Rule.UNKNOWN or (
        # An optional member sent as null is taken as absent.
        rule is Rule.NULL and violation.path is not None and violation.path[1][0] is StepKind.MEMBER
    ):
        return None
    if rule in (Rule.REQUIRED, Rule.NULL):
        text = "not be null"
    elif rule is Rule.TYPE:
        text = _TYPE_RULES[shape.type_name]
    elif rule is Rule.UNION:
        path = path or shape.name
        text = "have exactly one member set (union)"
    elif rule is Rule.ENUM:
        text = f"satisfy enum value set: [{', '.join(shape.enum)}]"
    elif rule is Rule.PATTERN:
        text = f"satisfy regular expression pattern: {violation.limit}"
    else:
        if is_int(value):
            what = "value"
        else:
            what = "length"
            if not isinstance(value, str):
                value = f"{type(value).__name__} of {len(value)}"
        than = "greater than or equal to" if rule is Rule.MIN else "less than or equal to"
        text = f"have {what} {than} {violation.limit}"
    return f"Value {_show(value)} at '{path}' failed to satisfy constraint: Member must {text}"


@functools.cache
def _checker(shape: Shape) -> Check:
    return compile_shape(shape, _DIALECT)


def validation_errors(shape: Shape | None, params: Mapping[str, Any]) -> list[str]:
    """Every rule of ``shape`` that ``params`` breaks, one service-worded clause each."""
    errors: list[str] = []
    if shape is not None:

        def report(violation: Violation) -> None:
            clause = _clause(violation)
            if clause is not None:
                errors.append(clause)

        _checker(shape)(params, None, report)
    return errors


def check_request(shape: Shape | None, params: Mapping[str, Any]) -> None:
    """Raise :class:`~._errors.Validation` (400) when ``params`` break ``shape``."""
    errors = validation_errors(shape, params)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise Validation(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
