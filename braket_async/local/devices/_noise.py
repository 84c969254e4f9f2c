"""The noise of an emulated QPU: a model built from the device's published fidelities.

The model is the one the Braket SDK's own emulator builds (``braket.emulation.LocalEmulator``,
``_setup_basic_noise_model_strategy``): after every one-qubit gate a depolarizing channel of
probability ``(1 - F1) * 3/2`` on its qubit, after every two-qubit gate a two-qubit depolarizing
channel of probability ``(1 - F2) * 5/4`` on its pair, and before readout a bit flip of
probability ``1 - Fro`` on every measured qubit (the factors turn an average gate fidelity into
a depolarizing probability). ``F1``, ``F2`` and ``Fro`` are the device's medians, read from its
capability document: the standardized properties (v1 per qubit and coupler, v3 device-level), or
IonQ's ``provider.fidelity`` means.

A QPU program is normally compiled first (``simulation._compile``): every gate is then native and
costs one channel, routing SWAPs included. A program the compiler leaves alone (mid-circuit
measurement, reset, ...) runs as written, and each gate carries the noise of the native gates a
compilation would need (``NATIVE_TWO_QUBIT_COST``: a SWAP is three native two-qubit gates, a
Toffoli six, a controlled phase two; every one-qubit gate one native one-qubit gate; a native
gate itself one). Inside verbatim boxes every gate is native (``_qpu_rules`` checks it).

Runs in the simulator worker (the engine's instruction list); :func:`noise_levels` also runs in
the service, to decide what to send with a task.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = ["NATIVE_TWO_QUBIT_COST", "NoiseLevels", "add_noise", "noise_levels"]

#: Native two-qubit gates a gate costs once compiled (default 1 for other two-qubit gates).
NATIVE_TWO_QUBIT_COST: Mapping[str, int] = {
    "swap": 3,
    "iswap": 2,
    "pswap": 3,
    "xy": 2,
    "cphaseshift": 2,
    "cphaseshift00": 2,
    "cphaseshift01": 2,
    "cphaseshift10": 2,
    "ccnot": 6,
    "cswap": 8,
}
# The engine's gate_type names for the Braket gates whose names differ.
_ENGINE_NAMES = {"cx": "cnot", "ccx": "ccnot", "cnot": "cnot"}


@attrs.frozen
class NoiseLevels:
    """Channel probabilities of one device: ``one_qubit`` and ``two_qubit`` depolarizing,
    ``readout`` bit flip; ``native`` is the native gate set (lower case)."""

    one_qubit: float
    two_qubit: float
    readout: float
    native: tuple[str, ...] = ()

    def as_list(self) -> list[Any]:
        """The JSON form sent to a simulator worker."""
        return [self.one_qubit, self.two_qubit, self.readout, list(self.native)]

    @classmethod
    def from_list(cls, value: Sequence[Any]) -> NoiseLevels:
        """Inverse of :meth:`as_list`."""
        return cls(float(value[0]), float(value[1]), float(value[2]), tuple(value[3]))


def _fidelities(entries: Iterable[Mapping[str, Any]], kinds: Iterable[str]) -> list[float]:
    wanted = set(kinds)
    out = []
    for entry in entries:
        kind = (entry.get("fidelityType") or {}).get("name")
        if kind in wanted and entry.get("fidelity") is not None:
            out.append(float(entry["fidelity"]))
    return out


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _medians(capabilities: Mapping[str, Any]) -> tuple[float | None, float | None, float | None]:
    standardized = capabilities.get("standardized") or {}
    version = (standardized.get("braketSchemaHeader") or {}).get("version")
    f1 = f2 = fro = None
    if version == "3":
        f1 = _median([float(f["fidelity"]) for f in standardized.get("singleQubitFidelity") or ()])
        f2 = _median([float(f["fidelity"]) for f in standardized.get("twoQubitGateFidelity") or ()])
        fro = _median([float(f["fidelity"]) for f in standardized.get("readoutFidelity") or ()])
    elif standardized:
        ones = (standardized.get("oneQubitProperties") or {}).values()
        rb = [
            _fidelities(q.get("oneQubitFidelity") or (), ["RANDOMIZED_BENCHMARKING"]) for q in ones
        ]
        if not any(rb):
            rb = [
                _fidelities(
                    q.get("oneQubitFidelity") or (), ["SIMULTANEOUS_RANDOMIZED_BENCHMARKING"]
                )
                for q in ones
            ]
        f1 = _median([v for values in rb for v in values])
        fro = _median(
            [v for q in ones for v in _fidelities(q.get("oneQubitFidelity") or (), ["READOUT"])]
        )
        twos = (standardized.get("twoQubitProperties") or {}).values()
        f2 = _median(
            [
                float(g["fidelity"])
                for edge in twos
                for g in edge.get("twoQubitGateFidelity") or ()
                if g.get("fidelity") is not None
            ]
        )
    provider = (capabilities.get("provider") or {}).get("fidelity") or {}
    if f1 is None and "1Q" in provider:
        f1 = float(provider["1Q"]["mean"])
    if f2 is None and "2Q" in provider:
        f2 = float(provider["2Q"]["mean"])
    if fro is None and "spam" in provider:
        fro = float(provider["spam"]["mean"])
    return f1, f2, fro


def noise_levels(capabilities: Mapping[str, Any]) -> NoiseLevels | None:
    """The device's noise model, or None when its document publishes no fidelities."""
    f1, f2, fro = _medians(capabilities)
    if f1 is None and f2 is None and fro is None:
        return None
    native = tuple(
        g.lower() for g in (capabilities.get("paradigm") or {}).get("nativeGateSet") or ()
    )
    return NoiseLevels(
        one_qubit=min(0.75, (1 - (f1 if f1 is not None else 1.0)) * 3 / 2),
        two_qubit=min(15 / 16, (1 - (f2 if f2 is not None else 1.0)) * 5 / 4),
        readout=min(0.5, 1 - (fro if fro is not None else 1.0)),
        native=native,
    )


def _repeated(probability: float, times: int) -> float:
    """One depolarizing channel equal to ``times`` in a row (depolarizing channels compose by
    multiplying their ``1 - p * d^2/(d^2 - 1)`` factors; for small p this is ``1-(1-p)^n``)."""
    return 1 - (1 - probability) ** times


def add_noise(instructions: list[Any], measured: Sequence[int], levels: NoiseLevels) -> list[Any]:
    """``instructions`` (the engine's gate operations) with the noise channels of ``levels``
    after each gate and a readout bit flip on each of ``measured`` at the end."""
    from braket.default_simulator.noise_operations import (
        BitFlip,
        Depolarizing,
        TwoQubitDepolarizing,
    )

    noisy: list[Any] = []
    for op in instructions:
        noisy.append(op)
        targets = [int(t) for t in getattr(op, "targets", ()) or ()]
        name = str(getattr(op, "gate_type", "") or "").lower()
        name = _ENGINE_NAMES.get(name, name)
        if not targets or not name or name in ("gphase", "i", "identity"):
            continue
        if len(targets) == 1:
            if levels.one_qubit > 0:
                noisy.append(Depolarizing(targets, levels.one_qubit))
            continue
        cost = 1 if name in levels.native else NATIVE_TWO_QUBIT_COST.get(name, 1)
        pairs = list(itertools.pairwise(targets))
        per_pair = max(1, round(cost / len(pairs)))
        probability = min(15 / 16, _repeated(levels.two_qubit, per_pair))
        if probability > 0:
            noisy.extend(TwoQubitDepolarizing(list(pair), probability) for pair in pairs)
    if levels.readout > 0:
        noisy.extend(BitFlip([q], levels.readout) for q in measured)
    return noisy
