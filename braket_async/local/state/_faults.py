"""Fault injection for the local Braket service.

A :class:`FaultConfig` gives each operation a :class:`FaultSpec` (probabilities and a latency).
The server consults it for every Braket request:

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

Quota tokens: the fault is drawn before the quota check. A ``throttle`` or
``drop_connection`` request (:data:`NOT_ADMITTED`) was never admitted, so it takes no token
of the service's rate buckets, as a request the quota itself refuses takes none (a 429 is the
front end refusing it; a connection dropped before effect models a request that never reached
the service). An ``internal_error`` or ``drop_after_effect`` request was admitted: it takes
its token, and a request the quota refuses is answered 429 whatever fault was drawn for it.

``events`` (an :class:`EventFaultSpec`) disturbs the state-change events the service publishes
to EventBridge, the way at-least-once, unordered delivery can: each event is independently
``drop``-ped (never sent) or ``duplicate``-d (sent twice, the copy in a later PutEvents call),
``reorder``-ed (held back and sent after the next event) and/or ``delay``-ed by ``delay``
seconds with probability ``delay_probability``.

JSON form (``GET/PUT /_local/faults``; :meth:`FaultConfig.to_json`, :meth:`FaultConfig.from_json`)::

    {"default": {"throttle": 0.1, "latency": 0.05},
     "per_operation": {"CreateQuantumTask": {"drop_after_effect": 0.2}},
     "events": {"duplicate": 0.1, "reorder": 0.1, "drop": 0.0, "delay": 0.5},
     "seed": 7}

Every key is optional; a spec's missing fields take their defaults (no fault).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, TypeVar

import attrs

__all__ = [
    "EVENT_FIELDS",
    "MAX_LATENCY",
    "NOT_ADMITTED",
    "SPEC_FIELDS",
    "EventFault",
    "EventFaultSpec",
    "FaultConfig",
    "FaultKind",
    "FaultSpec",
]

#: Longest injected latency, in seconds (a held request must not outlive a test run).
MAX_LATENCY = 600.0

FaultKind = Literal["internal_error", "throttle", "drop_connection", "drop_after_effect"]
_KINDS: tuple[FaultKind, ...] = (
    "internal_error",
    "throttle",
    "drop_connection",
    "drop_after_effect",
)
#: Faults whose request the service never admits: they take no quota token (see above).
NOT_ADMITTED: frozenset[FaultKind | None] = frozenset({"throttle", "drop_connection"})


S = TypeVar("S")

#: The fields of :class:`FaultSpec`, in declaration order (its JSON keys).
SPEC_FIELDS: tuple[str, ...] = (*_KINDS, "latency", "latency_probability")


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"FaultSpec.{attribute.name} must be a probability in [0, 1], got {value}")


def _latency(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= MAX_LATENCY:
        raise ValueError(
            f"FaultSpec.{attribute.name} must be in [0, {MAX_LATENCY:g}] seconds, got {value}"
        )


@attrs.frozen
class FaultSpec:
    """Fault probabilities (each in [0, 1]; their sum at most 1) and an added latency."""

    internal_error: float = attrs.field(default=0.0, validator=_probability)
    throttle: float = attrs.field(default=0.0, validator=_probability)
    drop_connection: float = attrs.field(default=0.0, validator=_probability)
    drop_after_effect: float = attrs.field(default=0.0, validator=_probability)
    latency: float = attrs.field(default=0.0, validator=_latency)
    latency_probability: float = attrs.field(default=1.0, validator=_probability)

    def __attrs_post_init__(self) -> None:
        total = sum(getattr(self, kind) for kind in _KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"FaultSpec probabilities must sum to at most 1, got {total}")

    @property
    def active(self) -> bool:
        """Whether this spec can inject anything."""
        return self.latency > 0 or any(getattr(self, kind) > 0 for kind in _KINDS)

    def to_json(self) -> dict[str, float]:
        """The JSON form: every field by name."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, doc: object, *, where: str = "spec") -> FaultSpec:
        """A spec from its JSON form; ``ValueError`` names the key (``where``) and the rule.

        Args:
            doc: The JSON form.
            where: The key to name in errors.

        Returns:
            The spec.

        Raises:
            ValueError: A key or value breaks its rule.
        """
        return _from_json(cls, doc, SPEC_FIELDS, where, "a fault field")


#: The fields of :class:`EventFaultSpec`, in declaration order (its JSON keys).
EVENT_FIELDS: tuple[str, ...] = ("drop", "duplicate", "reorder", "delay", "delay_probability")


@attrs.frozen
class EventFault:
    """What happens to one published event (drawn by :meth:`FaultConfig.draw_event`)."""

    drop: bool = False
    duplicate: bool = False
    reorder: bool = False
    delay: float = 0.0


_NO_EVENT_FAULT = EventFault()


@attrs.frozen
class EventFaultSpec:
    """Probabilities of dropping, duplicating and reordering a published event, and a delay.

    ``drop`` and ``duplicate`` exclude each other (their sum is at most 1).
    """

    drop: float = attrs.field(default=0.0, validator=_probability)
    duplicate: float = attrs.field(default=0.0, validator=_probability)
    reorder: float = attrs.field(default=0.0, validator=_probability)
    delay: float = attrs.field(default=0.0, validator=_latency)
    delay_probability: float = attrs.field(default=1.0, validator=_probability)

    def __attrs_post_init__(self) -> None:
        total = self.drop + self.duplicate
        if total > 1.0 + 1e-9:
            raise ValueError(f"EventFaultSpec drop + duplicate must be at most 1, got {total}")

    @property
    def active(self) -> bool:
        """Whether this spec can disturb anything."""
        return self.delay > 0 or self.drop > 0 or self.duplicate > 0 or self.reorder > 0

    def to_json(self) -> dict[str, float]:
        """The JSON form: every field by name."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, doc: object, *, where: str = "faults.events") -> EventFaultSpec:
        """A spec from its JSON form; ``ValueError`` names the key and the rule."""
        return _from_json(cls, doc, EVENT_FIELDS, where, "an event fault field")


@attrs.define
class FaultConfig:
    """Faults per operation (``per_operation``, model names) falling back to ``default``,
    and ``events``: faults of the published state-change events."""

    default: FaultSpec = attrs.field(factory=FaultSpec)
    per_operation: Mapping[str, FaultSpec] = attrs.field(factory=dict)
    seed: int | None = None
    events: EventFaultSpec = attrs.field(factory=EventFaultSpec)
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: ``{"default": spec, "per_operation": {op: spec}, "events": spec,
        "seed": int|null}``."""
        return {
            "default": self.default.to_json(),
            "per_operation": {op: spec.to_json() for op, spec in self.per_operation.items()},
            "events": self.events.to_json(),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, doc: object, *, operations: Collection[str] | None = None) -> FaultConfig:
        """A config from its JSON form (see the module docstring).

        ``operations``, when given, are the names ``per_operation`` may use (a typo in an
        operation name would otherwise inject nothing, silently).

        Args:
            doc: The JSON form.
            operations: The operation names ``per_operation`` may use.

        Returns:
            The config.

        Raises:
            ValueError: A key or value breaks its rule.
        """
        if not isinstance(doc, Mapping):
            raise ValueError(f"faults must be a JSON object, got {type(doc).__name__}")
        unknown = set(doc) - {"default", "per_operation", "events", "seed"}
        if unknown:
            raise ValueError(
                f"faults.{sorted(unknown)[0]} is not a field "
                "(expected default, per_operation, events, seed)"
            )
        default = FaultSpec.from_json(doc.get("default", {}), where="faults.default")
        per_op_doc = doc.get("per_operation", {})
        if not isinstance(per_op_doc, Mapping):
            raise ValueError("faults.per_operation must be a JSON object of operation -> spec")
        per_operation: dict[str, FaultSpec] = {}
        for op, spec in per_op_doc.items():
            if operations is not None and op not in operations:
                raise ValueError(f"faults.per_operation.{op} is not a Braket operation name")
            per_operation[op] = FaultSpec.from_json(spec, where=f"faults.per_operation.{op}")
        seed = doc.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"faults.seed must be an integer or null, got {seed!r}")
        events = EventFaultSpec.from_json(doc.get("events", {}))
        return cls(default=default, per_operation=per_operation, seed=seed, events=events)

    def spec_for(self, operation: str) -> FaultSpec:
        """The spec that applies to ``operation``.

        Args:
            operation: The operation's name.

        Returns:
            Its spec, else the default one.
        """
        return self.per_operation.get(operation, self.default)

    def latency_for(self, operation: str) -> float:
        """Seconds of latency to add to this call of ``operation`` (0 when none).

        Args:
            operation: The operation's name.

        Returns:
            Seconds of latency.
        """
        spec = self.spec_for(operation)
        if spec.latency > 0 and self._rng.random() < spec.latency_probability:
            return spec.latency
        return 0.0

    def draw(self, operation: str) -> FaultKind | None:
        """The fault to inject into this call of ``operation``, if any.

        Args:
            operation: The operation's name.

        Returns:
            The fault's kind, or None.
        """
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

    def draw_event(self) -> EventFault:
        """What happens to the next published state-change event."""
        spec = self.events
        if not spec.active:
            return _NO_EVENT_FAULT
        roll = self._rng.random()
        delayed = spec.delay > 0 and self._rng.random() < spec.delay_probability
        return EventFault(
            drop=roll < spec.drop,
            duplicate=spec.drop <= roll < spec.drop + spec.duplicate,
            reorder=self._rng.random() < spec.reorder,
            delay=spec.delay if delayed else 0.0,
        )


def _from_json(
    make: Callable[..., S], doc: object, names: tuple[str, ...], where: str, noun: str
) -> S:
    """A spec made from JSON ``doc`` (fields ``names``, each a finite number); every
    ``ValueError`` names the key (``where``) and the rule."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(doc).__name__}")
    fields: dict[str, float] = {}
    for key, value in doc.items():
        if key not in names:
            raise ValueError(f"{where}.{key} is not {noun} (expected one of {', '.join(names)})")
        fields[key] = _number(value, f"{where}.{key}")
    try:
        return make(**fields)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _number(value: object, where: str) -> float:
    # bool is an int subclass; true/false is never a probability or a latency here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, got {value!r}")
    return float(value)
