"""Braket's public on-demand prices for the devices the local service emulates.

The one source is ``data/prices.json`` (USD, as published; sources and dates in
``docs/prices.md``). QPUs cost a fee per task plus a fee per shot; the on-demand simulators
cost per minute of execution (the SDK's ``Tracker`` bills at least 3 s per task). The offers
file the service serves (``_price_list``) and the spending limits read the prices from here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from ._regions import SIMULATOR_REGIONS

__all__ = [
    "PRICED_DEVICES",
    "PRICED_SIMULATOR_REGIONS",
    "PRICES_RETRIEVED",
    "DevicePrice",
    "UnknownDevicePrice",
    "price_of",
]

_ZERO = Decimal(0)


@attrs.frozen
class DevicePrice:
    """One device's on-demand prices in USD; a price the device does not charge is 0."""

    per_task: Decimal = _ZERO
    per_shot: Decimal = _ZERO
    per_minute: Decimal = _ZERO

    def task_cost(self, shots: int) -> Decimal:
        """What a QPU task of ``shots`` shots costs: the task fee plus the shot fees."""
        if shots < 0:
            raise ValueError(f"shots must be >= 0, got {shots}")
        return self.per_task + self.per_shot * shots


class UnknownDevicePrice(LookupError):
    """The device has no published price in the local price list."""


def _decimal(arn: str, name: str, value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"prices.json: {arn} {name} must be a decimal string, got {value!r}")
    price = Decimal(value)
    if not price.is_finite() or price < 0:
        raise ValueError(f"prices.json: {arn} {name} must be a finite price >= 0, got {value}")
    return price


def _load() -> tuple[dict[str, DevicePrice], tuple[str, ...], str]:
    doc = json.loads(Path(__file__).with_name("data").joinpath("prices.json").read_text("utf-8"))
    if doc.get("currency") != "USD":
        raise ValueError("prices.json: currency must be USD")
    prices = {}
    for arn, entry in doc["devices"].items():
        unknown = set(entry) - {"per_task", "per_shot", "per_minute"}
        if unknown:
            raise ValueError(f"prices.json: {arn} has unknown price names {sorted(unknown)}")
        prices[arn] = DevicePrice(**{k: _decimal(arn, k, v) for k, v in entry.items()})
    regions = tuple(doc["simulator_regions"])
    unoffered = set(regions) - SIMULATOR_REGIONS
    if unoffered:
        raise ValueError(f"prices.json: simulators are not offered in {sorted(unoffered)}")
    return prices, regions, str(doc["retrieved"])


# Read once at import (a few hundred bytes) so no coroutine touches the disk for it.
_PRICES, PRICED_SIMULATOR_REGIONS, PRICES_RETRIEVED = _load()
"""Regions whose price list has simulator rows: those that offer the simulators
(``_regions.SIMULATOR_REGIONS``) but eu-north-1, which offers them unpriced (``docs/prices.md``)."""
#: Every device ARN with a published price.
PRICED_DEVICES = frozenset(_PRICES)


def price_of(device_arn: str) -> DevicePrice:
    """The published prices of ``device_arn`` (its exact ARN, region included for QPUs).

    ``UnknownDevicePrice`` (a ``LookupError``) when Braket publishes no price for it.
    """
    try:
        return _PRICES[device_arn]
    except KeyError:
        raise UnknownDevicePrice(
            f"no published Braket price for device {device_arn!r}; priced devices: "
            f"{sorted(PRICED_DEVICES)}"
        ) from None
