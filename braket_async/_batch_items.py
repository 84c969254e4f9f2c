"""Batch items: what a :func:`submit_batch <braket_async.batch.BatchSubmitter.submit_batch>` item
may be, how it is checked before the network and turned into CreateQuantumTask arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from . import errors
from .programs import (
    Action,
    DeviceParameters,
    OpenQASMProgram,
    coerce_action,
    coerce_device_parameters,
)

__all__ = [
    "REQUIRED",
    "BatchItem",
    "TaskRequest",
    "build_request",
    "check_items",
    "device_of",
    "is_int",
]

#: Request members every item needs, from the item or batch-wide.
REQUIRED = ("device_arn", "shots", "output_s3_bucket", "output_s3_key_prefix")

_REQUEST_KEYS: Mapping[str, str] = {
    "action": "action",
    "device_arn": "device_arn",
    "deviceArn": "device_arn",
    "shots": "shots",
    "output_s3_bucket": "output_s3_bucket",
    "outputS3Bucket": "output_s3_bucket",
    "output_s3_key_prefix": "output_s3_key_prefix",
    "outputS3KeyPrefix": "output_s3_key_prefix",
    "device_parameters": "device_parameters",
    "deviceParameters": "device_parameters",
    "tags": "tags",
    "job_token": "job_token",
    "jobToken": "job_token",
}
_UNKNOWN_KEY = (
    "is not a member of a batch item request (the batch sets clientToken); expected one of "
    f"{sorted(_REQUEST_KEYS)}"
)


@attrs.frozen
class TaskRequest:
    """One full CreateQuantumTask request in a batch; ``None`` fields take the batch's value.

    Items may also be plain mappings with an ``"action"`` key and the same keys in snake_case
    or the wire's camelCase (``{"action": qasm, "shots": 10, "deviceArn": ...}``).
    ``clientToken`` is not accepted: the batch derives it from its id and the item's index.
    """

    action: Action
    device_arn: str | None = None
    shots: int | None = None
    output_s3_bucket: str | None = None
    output_s3_key_prefix: str | None = None
    device_parameters: DeviceParameters = None
    tags: Mapping[str, str] | None = None
    job_token: str | None = None


BatchItem: TypeAlias = Action | TaskRequest
"""One item of ``submit_batch``: a program (see :data:`~braket_async.programs.Action`; a
mapping with an ``"action"`` key is a full request) or a :class:`TaskRequest`."""


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_request_mapping(item: object) -> bool:
    return isinstance(item, Mapping) and "action" in item


def check_items(items: Sequence[Any], defaults: Mapping[str, Any]) -> None:
    """Fail before the network when an item cannot be a program or request at all, or a
    required member is given neither batch-wide nor by the item. (Programs are converted,
    and the rest checked, as each item is sent: a bad one then fails alone.)"""
    missing = [name for name in REQUIRED if defaults.get(name) is None]
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if isinstance(item, TaskRequest):
            action: Any = item.action
            given = {k for k in missing if getattr(item, k) is not None}
        elif _is_request_mapping(item):
            action = item["action"]
            for key in item:
                if key not in _REQUEST_KEYS:
                    raise errors.ParameterError(f"{where}.{key}", _UNKNOWN_KEY)
            given = {_REQUEST_KEYS[k] for k, v in item.items() if v is not None}
        else:
            action, given = item, set()
        _check_program(action, f"{where}.action" if action is not item else where)
        for name in missing:
            if name not in given:
                raise errors.ParameterError(
                    name, f"is required: give it to submit_batch or in every item ({where})"
                )


def _check_program(action: Any, where: str) -> None:
    if isinstance(action, str):
        text = action.lstrip()
        if not text.startswith(("OPENQASM", "{")):
            raise errors.ParameterError(
                where, "a string item must be OpenQASM source ('OPENQASM 3; ...') or action JSON"
            )
    elif not (
        isinstance(action, Mapping | OpenQASMProgram) or callable(getattr(action, "to_ir", None))
    ):
        raise errors.ParameterError(
            where,
            "must be OpenQASM source, an OpenQASMProgram, an action dict or JSON string, an "
            f"object with to_ir() (a Braket SDK circuit) or a TaskRequest, got "
            f"{type(action).__name__}",
        )


def _check_tags(tags: Any, field: str) -> None:
    # Before the merge and the manifest's fingerprint: a nested or cyclic value fails here.
    if not (
        isinstance(tags, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise errors.ParameterError(field, "must be a mapping of strings to strings")


def build_request(item: Any, index: int, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The create_quantum_task keyword arguments of item ``index`` (no client token): the
    item's members over the batch-wide ``defaults`` (tags merged), program converted."""
    where = f"items[{index}]"
    fields = dict(defaults)
    if isinstance(item, TaskRequest):
        given = {k: v for k, v in attrs.asdict(item, recurse=False).items() if v is not None}
    elif _is_request_mapping(item):
        given = {}
        for key, value in item.items():
            name = _REQUEST_KEYS.get(key)
            if name is None:
                raise errors.ParameterError(f"{where}.{key}", _UNKNOWN_KEY)
            if value is not None:
                given[name] = value
    else:
        given = {"action": item}
    tags = given.pop("tags", None)
    if tags is not None:
        _check_tags(tags, f"{where}.tags")
        fields["tags"] = {**(fields.get("tags") or {}), **tags}
    fields.update(given)
    for name in REQUIRED:
        if fields.get(name) is None:
            raise errors.ParameterError(
                f"{where}.{name}", "is required: give it to submit_batch or in the item"
            )
    fields["action"] = coerce_action(fields["action"], field=f"{where}.action")
    parameters = coerce_device_parameters(
        fields.get("device_parameters"), field=f"{where}.device_parameters"
    )
    if parameters is None:
        fields.pop("device_parameters", None)
    else:
        fields["device_parameters"] = parameters
    if not fields.get("tags"):
        fields.pop("tags", None)
    return fields


def device_of(item: Any, defaults: Mapping[str, Any]) -> str | None:
    """The device ARN item ``item`` will be created on (sharpens the tracker's sweeps)."""
    device = None
    if isinstance(item, TaskRequest):
        device = item.device_arn
    elif _is_request_mapping(item):
        device = item.get("device_arn") or item.get("deviceArn")
    return device or defaults.get("device_arn")
