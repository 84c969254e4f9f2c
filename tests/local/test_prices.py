"""The price list: Braket's published prices, loaded from the one data file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from braket_async.local._devices import DM1_ARN, SV1_ARN, TN1_ARN
from braket_async.local._prices import (
    PRICED_DEVICES,
    DevicePrice,
    UnknownDevicePrice,
    price_of,
)

QPU = "arn:aws:braket:{}::device/qpu/{}"
PUBLISHED = {
    # device ARN: (per task, per shot, per minute), docs/prices.md
    SV1_ARN: ("0", "0", "0.075"),
    DM1_ARN: ("0", "0", "0.075"),
    TN1_ARN: ("0", "0", "0.275"),
    QPU.format("us-east-1", "ionq/Forte-1"): ("0.30", "0.08", "0"),
    QPU.format("us-east-1", "ionq/Forte-Enterprise-1"): ("0.30", "0.08", "0"),
    QPU.format("eu-north-1", "iqm/Garnet"): ("0.30", "0.00145", "0"),
    QPU.format("eu-north-1", "iqm/Emerald"): ("0.30", "0.0016", "0"),
    QPU.format("us-west-1", "rigetti/Ankaa-3"): ("0.30", "0.0009", "0"),
    QPU.format("us-west-1", "rigetti/Cepheus-1-108Q"): ("0.30", "0.000425", "0"),
    QPU.format("eu-north-1", "aqt/Ibex-Q1"): ("0.30", "0.0235", "0"),
    QPU.format("us-east-1", "quera/Aquila"): ("0.30", "0.01", "0"),
}


@pytest.mark.parametrize("arn", sorted(PUBLISHED))
def test_published_price(arn: str) -> None:
    assert price_of(arn) == DevicePrice(*(Decimal(p) for p in PUBLISHED[arn]))


def test_every_priced_device_is_checked() -> None:
    assert set(PUBLISHED) == PRICED_DEVICES


def test_task_cost_is_task_fee_plus_shots() -> None:
    garnet = price_of(QPU.format("eu-north-1", "iqm/Garnet"))
    assert garnet.task_cost(1000) == Decimal("1.75")
    assert garnet.task_cost(0) == Decimal("0.30")
    with pytest.raises(ValueError, match="shots must be >= 0"):
        garnet.task_cost(-1)


def test_unknown_device_names_it() -> None:
    arn = "arn:aws:braket:us-east-1::device/qpu/local/Aurora"
    with pytest.raises(UnknownDevicePrice, match="local/Aurora"):
        price_of(arn)
    assert issubclass(UnknownDevicePrice, LookupError)
