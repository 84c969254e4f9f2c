"""Request validation against botocore's Braket input shapes, worded like the service.

Checks required members, types, enums, string lengths and patterns, numeric ranges, list
lengths, map keys and values, and unions; every broken rule becomes one clause of a single
``ValidationException``: ``"2 validation errors detected: Value null at 'deviceArn' failed
to satisfy constraint: Member must not be null; Value '-1' at 'shots' ..."``. Patterns are
matched against the whole value, as the service's validator does. Nested paths use the
service's notation: ``filters.1.member.operator`` (1-based).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.model import Shape

from .._errors import Validation

__all__ = ["check_request", "validation_errors"]

_MAX_SHOWN = 120


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return f"'{text}'"


def _clause(value: Any, path: str, rule: str) -> str:
    return f"Value {_show(value)} at '{path}' failed to satisfy constraint: Member must {rule}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _check_timestamp(value: Any) -> bool:
    if _is_number(value):
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


#: The type rule of each shape kind: what a value must be, and the clause when it is not.
_TYPE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "structure": (lambda v: isinstance(v, Mapping), "be a structure"),
    "list": (lambda v: isinstance(v, list), "be a list"),
    "map": (lambda v: isinstance(v, Mapping), "be a map"),
    "string": (lambda v: isinstance(v, str), "be of type string"),
    "integer": (_is_int, "be of type integer"),
    "long": (_is_int, "be of type long"),
    "float": (_is_number, "be of type float"),
    "double": (_is_number, "be of type double"),
    "boolean": (lambda v: isinstance(v, bool), "be of type boolean"),
    "timestamp": (_check_timestamp, "be a timestamp (epoch seconds or ISO 8601)"),
}


def _walk(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    type_rule = _TYPE_RULES.get(kind)
    if type_rule is not None and not type_rule[0](value):
        errors.append(_clause(value, path, type_rule[1]))
        return
    if kind == "structure":
        _walk_structure(shape, value, path, errors)
    elif kind == "list":
        _check_size(value, path, meta, errors)
        for i, item in enumerate(value, start=1):
            _walk_member(shape.member, item, f"{path}.{i}.member", errors)
    elif kind == "map":
        _check_size(value, path, meta, errors)
        for key, item in value.items():
            _walk(shape.key, key, f"{path}.key", errors)
            _walk_member(shape.value, item, f"{path}.{key}", errors)
    elif kind == "string":
        _check_size(value, path, meta, errors)
        if "enum" in meta and value not in meta["enum"]:
            allowed = ", ".join(meta["enum"])
            errors.append(_clause(value, path, f"satisfy enum value set: [{allowed}]"))
        pattern = meta.get("pattern")
        if pattern is not None and _regex(pattern).fullmatch(value) is None:
            errors.append(_clause(value, path, f"satisfy regular expression pattern: {pattern}"))
    elif kind in ("integer", "long"):
        _check_bounds(value, value, path, meta, "value", errors)


def _walk_member(shape: Shape, item: Any, path: str, errors: list[str]) -> None:
    # A list item or map value must not be null, unlike an optional structure member.
    if item is None:
        errors.append(_clause(None, path, "not be null"))
    else:
        _walk(shape, item, path, errors)


def _check_size(value: Any, path: str, meta: Mapping[str, Any], errors: list[str]) -> None:
    shown = value if isinstance(value, str) else f"{type(value).__name__} of {len(value)}"
    _check_bounds(len(value), shown, path, meta, "length", errors)


def _check_bounds(
    measure: float, shown: Any, path: str, meta: Mapping[str, Any], what: str, errors: list[str]
) -> None:
    if "min" in meta and measure < meta["min"]:
        errors.append(_clause(shown, path, f"have {what} greater than or equal to {meta['min']}"))
    if "max" in meta and measure > meta["max"]:
        errors.append(_clause(shown, path, f"have {what} less than or equal to {meta['max']}"))


def _walk_structure(shape: Shape, value: Mapping[str, Any], path: str, errors: list[str]) -> None:
    prefix = f"{path}." if path else ""
    for name in shape.required_members:
        if value.get(name) is None:
            errors.append(_clause(None, prefix + name, "not be null"))
    present = [name for name in shape.members if value.get(name) is not None]
    if shape.metadata.get("union") and len(present) != 1:
        errors.append(_clause(value, path or shape.name, "have exactly one member set (union)"))
    for name in present:
        _walk(shape.members[name], value[name], prefix + name, errors)


def validation_errors(shape: Shape | None, params: Mapping[str, Any]) -> list[str]:
    """Every rule of ``shape`` that ``params`` breaks, one service-worded clause each."""
    errors: list[str] = []
    if shape is not None:
        _walk_structure(shape, params, "", errors)
    return errors


def check_request(shape: Shape | None, params: Mapping[str, Any]) -> None:
    """Raise :class:`~._errors.Validation` (400) when ``params`` break ``shape``."""
    errors = validation_errors(shape, params)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise Validation(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
