"""Request validation driven by botocore's Braket service model, before the network.

botocore validates too, but names wire members and stops at types and sizes; this validator
names the snake_case parameter (``instance_config.volume_size_in_gb``), checks patterns and
enum values, and raises :class:`~braket_async.errors.InvalidArnError` for malformed ARNs.
One checker per operation is compiled at import; running it costs a few microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import botocore.model
from botocore import xform_name

from ._service_model import SERVICE_MODEL
from .errors import InvalidArnError, ParameterError

__all__ = ["validate"]

_Check = Callable[[Any, str], None]

# ARN members the model leaves without a pattern: check their shape anyway.
_EXTRA_ARN_PATTERNS = {
    "quantumTaskArn": (
        r"arn:aws[a-z\-]*:braket:[a-z0-9\-]+:[0-9]{12}:quantum-task/.+",
        "a quantum task ARN (arn:aws:braket:<region>:<account>:quantum-task/<id>)",
    ),
    "deviceArn": (
        r"arn:aws[a-z\-]*:braket:[a-z0-9\-]*:([0-9]{12})?:device/.+",
        "a device ARN (arn:aws:braket:[<region>]::device/<type>/<provider>/<name>)",
    ),
    "resourceArn": (
        r"arn:aws[a-z\-]*:braket:[a-z0-9\-]*:([0-9]{12})?:.+",
        "a Braket resource ARN (arn:aws:braket:<region>:<account>:<resource>)",
    ),
}
_ARN_DESCRIPTIONS = {
    "jobArn": "a job ARN (arn:aws:braket:<region>:<account>:job/<id>)",
    "spendingLimitArn": (
        "a spending limit ARN (arn:aws:braket:<region>:<account>:spending-limit/<id>)"
    ),
    "roleArn": "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    "arn": "a Braket resource ARN (arn:aws:braket:<region>:<account>:<resource>)",
}


def _is_arn_member(name: str) -> bool:
    return name == "arn" or name.endswith("Arn")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: Any) -> str:
    return type(value).__name__


def _compile_string(shape: botocore.model.Shape, member: str) -> _Check:
    md = shape.metadata
    lo = md.get("min")
    hi = md.get("max")
    enum = frozenset(shape.enum) if shape.enum else None
    pattern = md.get("pattern")
    arn = _is_arn_member(member)
    description = _ARN_DESCRIPTIONS.get(member)
    if pattern is None and member in _EXTRA_ARN_PATTERNS:
        pattern, description = _EXTRA_ARN_PATTERNS[member]
    regex = re.compile(pattern) if pattern is not None else None
    error = InvalidArnError if arn else ParameterError

    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise ParameterError(path, f"must be a string, got {_type_name(value)}")
        if lo is not None and len(value) < lo:
            if lo == 1 and not value:
                raise error(path, "must not be empty")
            raise ParameterError(path, f"must be at least {lo} characters, got {len(value)}")
        if hi is not None and len(value) > hi:
            raise ParameterError(path, f"must be at most {hi} characters, got {len(value)}")
        if enum is not None and value not in enum:
            raise ParameterError(path, f"must be one of {sorted(enum)}, got {value!r}")
        if regex is not None and regex.fullmatch(value) is None:
            if arn:
                raise InvalidArnError(path, f"must be {description or 'an ARN'}, got {value!r}")
            raise ParameterError(path, f"must match the pattern {regex.pattern!r}, got {value!r}")

    return check


def _compile_integer(shape: botocore.model.Shape) -> _Check:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")

    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(path, f"must be an int, got {_type_name(value)}")
        if lo is not None and value < lo:
            raise ParameterError(path, f"must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            raise ParameterError(path, f"must be <= {hi}, got {value}")

    return check


def _check_boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise ParameterError(path, f"must be a bool, got {_type_name(value)}")


def _check_timestamp(value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, datetime | int | float | str):
        raise ParameterError(
            path, f"must be a datetime, ISO 8601 string or epoch seconds, got {_type_name(value)}"
        )


def _check_any(value: Any, path: str) -> None:
    return None


def _compile_list(shape: botocore.model.ListShape, member: str) -> _Check:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    item = _compile(shape.member, member)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, list | tuple):
            raise ParameterError(path, f"must be a list, got {_type_name(value)}")
        if lo is not None and len(value) < lo:
            raise ParameterError(path, f"must have at least {lo} items, got {len(value)}")
        if hi is not None and len(value) > hi:
            raise ParameterError(path, f"must have at most {hi} items, got {len(value)}")
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]")

    return check


def _compile_map(shape: botocore.model.MapShape) -> _Check:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    key_check = _compile(shape.key, "")
    value_check = _compile(shape.value, "")

    def check(value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise ParameterError(path, f"must be a mapping, got {_type_name(value)}")
        if lo is not None and len(value) < lo:
            raise ParameterError(path, f"must have at least {lo} entries, got {len(value)}")
        if hi is not None and len(value) > hi:
            raise ParameterError(path, f"must have at most {hi} entries, got {len(value)}")
        for key, element in value.items():
            where = f"{path}[{key!r}]"
            key_check(key, where)
            value_check(element, where)

    return check


def _compile_structure(shape: botocore.model.StructureShape) -> _Check:
    members: dict[str, tuple[str, _Check]] = {
        name: (xform_name(name), _compile(member_shape, name))
        for name, member_shape in shape.members.items()
    }
    # botocore fills idempotency tokens (clientToken) itself when they are absent.
    required = tuple(
        (name, xform_name(name))
        for name in shape.required_members
        if not shape.members[name].metadata.get("idempotencyToken")
    )
    known = ", ".join(members)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise ParameterError(path, f"must be a mapping, got {_type_name(value)}")
        for name, snake in required:
            if value.get(name) is None:
                raise ParameterError(_join(path, snake), "is required")
        for name, element in value.items():
            entry = members.get(name)
            if entry is None:
                raise ParameterError(
                    _join(path, str(name)), f"is not a member of this shape (expected {known})"
                )
            entry[1](element, _join(path, entry[0]))

    return check


def _compile(shape: botocore.model.Shape, member: str) -> _Check:
    kind = shape.type_name
    if kind == "string":
        return _compile_string(shape, member)
    if kind in ("integer", "long"):
        return _compile_integer(shape)
    if kind == "boolean":
        return _check_boolean
    if kind == "timestamp":
        return _check_timestamp
    if kind == "list":
        assert isinstance(shape, botocore.model.ListShape)
        return _compile_list(shape, member)
    if kind == "map":
        assert isinstance(shape, botocore.model.MapShape)
        return _compile_map(shape)
    if kind == "structure":
        assert isinstance(shape, botocore.model.StructureShape)
        return _compile_structure(shape)
    return _check_any


def _compile_operation(operation: str) -> _Check:
    shape = SERVICE_MODEL.operation_model(operation).input_shape
    if shape is None:
        return _check_any
    return _compile(shape, "")


_CHECKS: dict[str, _Check] = {op: _compile_operation(op) for op in SERVICE_MODEL.operation_names}


def validate(operation: str, params: Mapping[str, Any]) -> None:
    """Raise :class:`ParameterError` if ``params`` (wire members) break ``operation``'s model.

    The field in the error is the snake_case path of the offending parameter.
    """
    try:
        _CHECKS[operation](params, "")
    except ParameterError as exc:
        raise type(exc)(exc.field, exc.rule, operation=operation) from None
