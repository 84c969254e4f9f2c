"""Fault injection for the local Braket service.

A :class:`FaultConfig` gives each operation a :class:`FaultSpec` (probabilities and a latency).
The server consults it for every Braket request after the quota check, in this order:

1. ``latency`` seconds of delay, with probability ``latency_probability``;
2. ``internal_error``: 500 InternalServiceException, the operation does NOT take effect;
3. ``throttle``: 429 ThrottlingException, the operation does NOT take effect;
4. ``drop_connection``: the socket is closed with no response, the operation does NOT take
   effect;
5. ``drop_after_effect``: the operation runs (a CreateQuantumTask creates its task) and
   then the socket is closed with no response — the case where a client must rely on its
   ``clientToken`` to retry without creating a second task.

At most one of 2-5 fires per request (one draw, the probabilities stacked in that order).
Draws come from a ``random.Random(seed)``, so a seeded config replays the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = ["FaultConfig", "FaultKind", "FaultSpec"]

FaultKind = Literal["internal_error", "throttle", "drop_connection", "drop_after_effect"]
_KINDS: tuple[FaultKind, ...] = (
    "internal_error",
    "throttle",
    "drop_connection",
    "drop_after_effect",
)


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"FaultSpec.{attribute.name} must be a probability in [0, 1], got {value}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"FaultSpec.{attribute.name} must be >= 0 seconds, got {value}")


@attrs.frozen
class FaultSpec:
    """Fault probabilities (each in [0, 1]; their sum at most 1) and an added latency."""

    internal_error: float = attrs.field(default=0.0, validator=_probability)
    throttle: float = attrs.field(default=0.0, validator=_probability)
    drop_connection: float = attrs.field(default=0.0, validator=_probability)
    drop_after_effect: float = attrs.field(default=0.0, validator=_probability)
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    latency_probability: float = attrs.field(default=1.0, validator=_probability)

    def __attrs_post_init__(self) -> None:
        total = sum(getattr(self, kind) for kind in _KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"FaultSpec probabilities must sum to at most 1, got {total}")

    @property
    def active(self) -> bool:
        """Whether this spec can inject anything."""
        return self.latency > 0 or any(getattr(self, kind) > 0 for kind in _KINDS)


@attrs.define
class FaultConfig:
    """Faults per operation (``per_operation``, model names) falling back to ``default``."""

    default: FaultSpec = attrs.field(factory=FaultSpec)
    per_operation: Mapping[str, FaultSpec] = attrs.field(factory=dict)
    seed: int | None = None
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def spec_for(self, operation: str) -> FaultSpec:
        """The spec that applies to ``operation``."""
        return self.per_operation.get(operation, self.default)

    def latency_for(self, operation: str) -> float:
        """Seconds of latency to add to this call of ``operation`` (0 when none)."""
        spec = self.spec_for(operation)
        if spec.latency > 0 and self._rng.random() < spec.latency_probability:
            return spec.latency
        return 0.0

    def draw(self, operation: str) -> FaultKind | None:
        """The fault to inject into this call of ``operation``, if any."""
        spec = self.spec_for(operation)
        if not any(getattr(spec, kind) > 0 for kind in _KINDS):
            return None
        roll = self._rng.random()
        edge = 0.0
        for kind in _KINDS:
            edge += getattr(spec, kind)
            if roll < edge:
                return kind
        return None
