"""Shapes shared by tasks, jobs and errors."""

from __future__ import annotations

import json
from typing import Any

import attrs

from .enums import AssociationType, ExperimentalCapabilitiesEnablement

__all__ = ["Association", "ExperimentalCapabilities", "ProgramSetValidationFailure"]


@attrs.frozen
class Association:
    """A resource associated with a task or job (e.g. a reservation)."""

    arn: str
    type: AssociationType = AssociationType.RESERVATION_TIME_WINDOW_ARN


@attrs.frozen
class ExperimentalCapabilities:
    """Experimental capabilities enabled for a quantum task."""

    enabled: ExperimentalCapabilitiesEnablement | None = None


@attrs.frozen
class ProgramSetValidationFailure:
    """One failing program of a program set (``ValidationException``)."""

    program_index: int
    inputs_index: int | None = None
    errors: tuple[str, ...] = ()


def _parse_json_object(raw: str) -> dict[str, Any]:
    """A wire JSON string as a dict (``{}`` when empty; a non-object under ``"value"``)."""
    if not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {"value": value}
