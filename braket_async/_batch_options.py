"""The rarely used settings of a batch, as one immutable value (:class:`BatchOptions`)."""

from __future__ import annotations

import functools
from typing import Any

import attrs

from . import errors
from ._base import Clock, Sleep
from ._batch_items import is_int
from ._batch_outcomes import is_batch_id
from .polling import RetryBudget
from .tracking import TrackerOptions

__all__ = ["DEFAULT_BATCH_RETRY", "BatchOptions"]

DEFAULT_BATCH_RETRY = RetryBudget(max_consecutive=10, max_seconds=300.0, initial=0.1, maximum=15.0)
"""Retries of one item's CreateQuantumTask. botocore's own retries are off for a batch's
creates: each attempt is one call, counted and paced here (and in ``outcome.attempts``)."""


def _max_in_flight(_inst: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not is_int(value) or value < 1:
        raise errors.ParameterError("max_in_flight", f"must be an int >= 1, got {value!r}")


def _server_error_attempts(
    _inst: object, _attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None and (not is_int(value) or value < 1):
        raise errors.ParameterError(
            "server_error_attempts", f"must be an int >= 1 or None, got {value!r}"
        )


def _batch_id(_inst: object, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not (isinstance(value, str) and is_batch_id(value)):
        raise errors.ParameterError(
            "batch_id", f"must be 1-40 characters of [A-Za-z0-9._:-], got {value!r}"
        )


def _instance_of(kind: type, what: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise errors.ParameterError(attribute.name, f"must be {what}, got {value!r}")

    return check


def _bool(_inst: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise errors.ParameterError(attribute.name, f"must be a bool, got {value!r}")


def _callable(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise errors.ParameterError(attribute.name, f"must be callable, got {value!r}")


@attrs.frozen
class BatchOptions:
    """Settings of :meth:`~braket_async.BraketSession.submit_batch` most batches leave alone.

    ``max_in_flight`` bounds concurrent create calls. ``batch_id`` (default: a random one,
    or the manifest's when resuming; 1-40 characters ``[A-Za-z0-9._:-]``) makes client
    tokens ``f"{batch_id}-{index}"``. ``fail_fast`` stops at the first item that fails and
    raises its error. ``retry`` bounds retries of transient errors per item (creates,
    result downloads, cancels). ``server_error_attempts`` (default 5) ends an item's
    create once that many attempts in a row were answered with the same 5xx error code:
    a server error its request provokes every time is not retried ``retry.max_consecutive``
    times (``None``: only ``retry`` bounds it). ``tracker`` tunes the batch's tracker (a
    :class:`~braket_async.tracking.TrackerOptions`; a progress callback also turns on its
    ``observe_active``). ``fsync`` syncs the manifest to disk on every write (survives power loss,
    slower). ``sleep`` and ``clock`` replace the session's (tests). Derive variants with
    :func:`attrs.evolve`; a bad value raises :class:`~braket_async.errors.ParameterError`
    naming the field.
    """

    max_in_flight: int = attrs.field(default=50, validator=_max_in_flight)
    batch_id: str | None = attrs.field(default=None, validator=_batch_id)
    fail_fast: bool = attrs.field(default=False, validator=_bool)
    retry: RetryBudget = attrs.field(
        default=DEFAULT_BATCH_RETRY, validator=_instance_of(RetryBudget, "a RetryBudget")
    )
    server_error_attempts: int | None = attrs.field(
        default=5, validator=_server_error_attempts
    )
    tracker: TrackerOptions = attrs.field(
        factory=TrackerOptions, validator=_instance_of(TrackerOptions, "a TrackerOptions")
    )
    fsync: bool = attrs.field(default=False, validator=_bool)
    sleep: Sleep | None = attrs.field(default=None, validator=_callable)
    clock: Clock | None = attrs.field(default=None, validator=_callable)


#: BatchOptions' former tracker keywords, now fields of ``BatchOptions.tracker``.
_MOVED_TO_TRACKER = ("poll", "sweep", "observe_active")
_attrs_init = BatchOptions.__init__


@functools.wraps(_attrs_init)
def _init_naming_moved_keywords(self: BatchOptions, *args: Any, **kwargs: Any) -> None:
    moved = [name for name in _MOVED_TO_TRACKER if name in kwargs]
    if moved:
        given = ", ".join(f"{name}=..." for name in moved)
        raise TypeError(
            f"BatchOptions has no {', '.join(moved)}: the batch's tracker settings are one "
            f"value, give tracker=TrackerOptions({given})"
        )
    _attrs_init(self, *args, **kwargs)


# (attrs.evolve goes through __init__ too, so evolve(options, poll=...) says the same)
BatchOptions.__init__ = _init_naming_moved_keywords  # type: ignore[method-assign]
