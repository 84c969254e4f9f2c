"""Request validation driven by botocore's Braket service model, before the network.

botocore validates too, but names wire members and stops at types and sizes; this validator
names the snake_case parameter (``instance_config.volume_size_in_gb``), checks patterns and
enum values, and raises :class:`~braket_async.errors.InvalidArnError` for malformed ARNs.
One checker per operation is compiled at import from the walk both validators share
(:mod:`._shape_walk`); running it costs a few microseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore import xform_name

from ._service_model import SERVICE_MODEL
from ._shape_walk import Dialect, Path, Rule, StepKind, Violation, compile_shape, steps
from .errors import InvalidArnError, ParameterError

__all__ = ["validate"]

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


def _is_timestamp(value: Any) -> bool:
    # botocore parses the string itself; a bad one is its to refuse.
    return not isinstance(value, bool) and isinstance(value, datetime | int | float | str)


_DIALECT = Dialect(
    timestamp=_is_timestamp,
    extra_patterns={member: pattern for member, (pattern, _) in _EXTRA_ARN_PATTERNS.items()},
)

#: What a value of each shape kind must be, in the error.
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an int",
    "long": "an int",
    "float": "a number",
    "double": "a number",
    "boolean": "a bool",
    "timestamp": "a datetime, ISO 8601 string or epoch seconds",
    "list": "a list",
    "map": "a mapping",
    "structure": "a mapping",
}
#: What a length counts, by shape kind.
_SIZE_NOUNS = {"string": "characters", "list": "items", "map": "entries"}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _field(path: Path) -> str:
    """The snake_case parameter ``path`` points at: ``associations[0].arn``."""
    text = ""
    for kind, key in steps(path):
        if kind is StepKind.MEMBER:
            text = _join(text, xform_name(key))
        elif kind is StepKind.ITEM:
            text = f"{text}[{key}]"
        else:
            text = f"{text}[{key!r}]"
    return text


def _arn_description(violation: Violation) -> str:
    member = violation.member
    if violation.shape.metadata.get("pattern") is None and member in _EXTRA_ARN_PATTERNS:
        return _EXTRA_ARN_PATTERNS[member][1]
    return _ARN_DESCRIPTIONS.get(member, "an ARN")


def _raise(operation: str, violation: Violation) -> None:
    """The client's report: the first broken rule raises, naming the snake_case parameter."""
    rule, kind = violation.rule, violation.shape.type_name
    if rule is Rule.UNION or (
        # botocore fills idempotency tokens (clientToken) itself when they are absent.
        rule is Rule.REQUIRED and violation.shape.metadata.get("idempotencyToken")
    ):
        return
    if rule is Rule.UNKNOWN:
        assert violation.path is not None
        parent, (_, name) = violation.path
        known = ", ".join(violation.shape.members)
        raise ParameterError(
            _join(_field(parent), str(name)),
            f"is not a member of this shape (expected {known})",
            operation=operation,
        )
    if rule is Rule.NULL and kind not in _TYPE_NAMES:
        return  # a document takes anything
    error, text = _rule_text(violation)
    raise error(_field(violation.path), text, operation=operation)


def _rule_text(violation: Violation) -> tuple[type[ParameterError], str]:
    rule, value, limit = violation.rule, violation.value, violation.limit
    kind = violation.shape.type_name
    arn = kind == "string" and _is_arn_member(violation.member)
    if rule is Rule.REQUIRED:
        return ParameterError, "is required"
    if rule in (Rule.TYPE, Rule.NULL):
        return ParameterError, f"must be {_TYPE_NAMES[kind]}, got {type(value).__name__}"
    if rule is Rule.ENUM:
        return ParameterError, f"must be one of {sorted(violation.shape.enum)}, got {value!r}"
    if rule is Rule.PATTERN:
        if arn:
            return InvalidArnError, f"must be {_arn_description(violation)}, got {value!r}"
        return ParameterError, f"must match the pattern {limit!r}, got {value!r}"
    noun = _SIZE_NOUNS.get(kind)
    if noun is None:  # an integer's value
        return ParameterError, f"must be {'>=' if rule is Rule.MIN else '<='} {limit}, got {value}"
    if kind == "string":
        if rule is Rule.MIN and limit == 1 and not value:
            return (InvalidArnError if arn else ParameterError), "must not be empty"
        verb = "be"
    else:
        verb = "have"
    most = "at least" if rule is Rule.MIN else "at most"
    return ParameterError, f"must {verb} {most} {limit} {noun}, got {len(value)}"


def _compile_operation(operation: str) -> Callable[[Mapping[str, Any]], None]:
    shape = SERVICE_MODEL.operation_model(operation).input_shape
    if shape is None:
        return lambda params: None
    check = compile_shape(shape, _DIALECT)
    report = functools.partial(_raise, operation)
    return lambda params: check(params, None, report)


_CHECKS = {op: _compile_operation(op) for op in SERVICE_MODEL.operation_names}


def validate(operation: str, params: Mapping[str, Any]) -> None:
    """Raise :class:`ParameterError` if ``params`` (wire members) break ``operation``'s model.

    The field in the error is the snake_case path of the offending parameter.
    """
    _CHECKS[operation](params)
