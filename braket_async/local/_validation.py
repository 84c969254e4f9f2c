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
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.model import Shape

from ._errors import Validation

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


def _check_timestamp(value: Any) -> bool:
    if _is_int(value) or isinstance(value, float):
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


def _walk(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, Mapping):
            errors.append(_clause(value, path, "be a structure"))
            return
        _walk_structure(shape, value, path, errors)
        return
    if kind == "list":
        if not isinstance(value, list):
            errors.append(_clause(value, path, "be a list"))
            return
        _check_size(value, path, meta, errors)
        for i, item in enumerate(value, start=1):
            if item is None:
                errors.append(_clause(None, f"{path}.{i}.member", "not be null"))
            else:
                _walk(shape.member, item, f"{path}.{i}.member", errors)
        return
    if kind == "map":
        if not isinstance(value, Mapping):
            errors.append(_clause(value, path, "be a map"))
            return
        _check_size(value, path, meta, errors)
        for key, item in value.items():
            _walk(shape.key, key, f"{path}.key", errors)
            if item is None:
                errors.append(_clause(None, f"{path}.{key}", "not be null"))
            else:
                _walk(shape.value, item, f"{path}.{key}", errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(_clause(value, path, "be of type string"))
            return
        _check_size(value, path, meta, errors)
        if "enum" in meta and value not in meta["enum"]:
            allowed = ", ".join(meta["enum"])
            errors.append(_clause(value, path, f"satisfy enum value set: [{allowed}]"))
        pattern = meta.get("pattern")
        if pattern is not None and _regex(pattern).fullmatch(value) is None:
            errors.append(_clause(value, path, f"satisfy regular expression pattern: {pattern}"))
        return
    if kind in ("integer", "long"):
        if not _is_int(value):
            errors.append(_clause(value, path, f"be of type {kind}"))
            return
        if "min" in meta and value < meta["min"]:
            rule = f"have value greater than or equal to {meta['min']}"
            errors.append(_clause(value, path, rule))
        if "max" in meta and value > meta["max"]:
            rule = f"have value less than or equal to {meta['max']}"
            errors.append(_clause(value, path, rule))
        return
    if kind in ("float", "double"):
        if not (_is_int(value) or isinstance(value, float)):
            errors.append(_clause(value, path, f"be of type {kind}"))
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            errors.append(_clause(value, path, "be of type boolean"))
        return
    if kind == "timestamp" and not _check_timestamp(value):
        errors.append(_clause(value, path, "be a timestamp (epoch seconds or ISO 8601)"))


def _check_size(value: Any, path: str, meta: Mapping[str, Any], errors: list[str]) -> None:
    size = len(value)
    shown = value if isinstance(value, str) else f"{type(value).__name__} of {size}"
    if "min" in meta and size < meta["min"]:
        errors.append(_clause(shown, path, f"have length greater than or equal to {meta['min']}"))
    if "max" in meta and size > meta["max"]:
        errors.append(_clause(shown, path, f"have length less than or equal to {meta['max']}"))


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
