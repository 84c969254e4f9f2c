"""The AmazonBraket offers file (AWS bulk price-list CSV) that the Braket SDK's ``Tracker`` reads.

The SDK downloads ``BRAKET_PRICE_OFFERS_URL`` with a plain ``GET``, skips the five metadata
rows of AWS's CSV offer format, and matches rows on ``Region Code``, ``Product Family`` and
``DeviceName`` / ``Device Name`` (QPUs) or ``Version`` + ``operation`` (simulators); exactly one
row must match (``braket/tracking/tracker.py``). The rows come from ``_prices`` (the one price
file); the format and the columns are described in ``docs/prices.md``.

The route is public like AWS's file: it serves one fixed document, built at start, and refuses
web browsers (``_guard.browser_refusal``) like every other route.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator

from aiohttp import web

from ..devices._prices import (
    PRICED_DEVICES,
    PRICED_SIMULATOR_REGIONS,
    PRICES_RETRIEVED,
    DevicePrice,
    price_of,
)
from ..guards._guard import bound_host, browser_refusal

__all__ = ["PRICE_LIST_PATH", "add_price_list_route", "offers_csv", "sdk_device_name"]

#: Where the service serves the offers file (AWS's own path, under the control prefix).
PRICE_LIST_PATH = "/_local/pricing/offers/v1.0/aws/AmazonBraket/current/index.csv"

_COLUMNS = (
    "SKU", "OfferTermCode", "RateCode", "TermType", "PriceDescription", "EffectiveDate",
    "StartingRange", "EndingRange", "Unit", "PricePerUnit", "Currency", "Product Family",
    "serviceCode", "Location Type", "Region Code", "DeviceName", "Device Name", "Version",
    "operation", "usageType", "serviceName",
)  # fmt: skip
_ON_DEMAND = "JRTCKXETXF"  # AWS's offer-term code of on-demand prices


def sdk_device_name(device_arn: str) -> str:
    """The device name the SDK's tracker looks up for a QPU ARN (``_get_qpu_task_cost``)."""
    name = device_arn.rsplit("/", 1)[-1]
    name = name[:1].upper() + name[1:]
    return name.replace("Ibex", "IBEX") if "Ibex" in name else name


def _rows(region: str, arn: str, price: DevicePrice) -> Iterator[dict[str, str]]:
    if "quantum-simulator" in arn:
        version = arn.rsplit("/", 1)[-1].upper()
        for family, operation in (
            ("Simulator Task", "CompleteTask"),
            ("Braket Managed Jobs Simulator Task", "Managed-Jobs"),
        ):
            yield {
                "Unit": "minutes",
                "PricePerUnit": str(price.per_minute),
                "Product Family": family,
                "Version": version,
                "operation": operation,
                "usageType": f"{region}-{version}-Completed-Task-ExecutionDuration",
                "PriceDescription": f"{version} simulator task, per minute, {region}",
            }
        return
    name = sdk_device_name(arn)
    for family, name_column, unit, value in (
        ("Quantum Task", "DeviceName", "Tasks", price.per_task),
        ("Quantum Task-Shot", "DeviceName", "Shots", price.per_shot),
        ("Braket Managed Jobs QPU Task", "Device Name", "Tasks", price.per_task),
        ("Braket Managed Jobs QPU Task Shot", "Device Name", "Shots", price.per_shot),
    ):
        yield {
            "Unit": unit,
            "PricePerUnit": str(value),
            "Product Family": family,
            name_column: name,
            "operation": "CreateQuantumTask",
            "usageType": f"{region}-{name}-{unit}",
            "PriceDescription": f"{family} on {name}, per {unit[:-1].lower()}, {region}",
        }


def _device_regions(arn: str, regions: Iterable[str]) -> list[str]:
    # A QPU is priced in its own region, a simulator in every region that offers it.
    region = arn.split(":")[3]
    return [region] if region else list(regions)


def offers_csv(extra_regions: Iterable[str] = ()) -> bytes:
    """The offers file: AWS's five metadata rows, the header, one row per price.

    Simulators are priced in the regions whose price list has them plus ``extra_regions``
    (the service's own region, so a service started for any region gets simulator prices)."""
    regions = list(dict.fromkeys([*PRICED_SIMULATOR_REGIONS, *extra_regions]))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["FormatVersion", "v1.0"])
    writer.writerow(
        ["Disclaimer", "Braket's public on-demand prices as served by the local Braket service"]
    )
    writer.writerow(["Publication Date", f"{PRICES_RETRIEVED}T00:00:00Z"])
    writer.writerow(["Version", PRICES_RETRIEVED.replace("-", "")])
    writer.writerow(["OfferCode", "AmazonBraket"])
    dicts = csv.DictWriter(out, _COLUMNS, quoting=csv.QUOTE_ALL, lineterminator="\n", restval="")
    dicts.writeheader()
    for arn in sorted(PRICED_DEVICES):
        for region in _device_regions(arn, regions):
            for row in _rows(region, arn, price_of(arn)):
                sku = hashlib.sha256(f"{region}|{arn}|{row['Product Family']}".encode())
                row |= {
                    "SKU": sku.hexdigest()[:16].upper(),
                    "OfferTermCode": _ON_DEMAND,
                    "RateCode": f"{sku.hexdigest()[:16].upper()}.{_ON_DEMAND}.6YS6EN2CT7",
                    "TermType": "OnDemand",
                    "EffectiveDate": PRICES_RETRIEVED,
                    "StartingRange": "0",
                    "EndingRange": "Inf",
                    "Currency": "USD",
                    "serviceCode": "AmazonBraket",
                    "Location Type": "AWS Region",
                    "Region Code": region,
                    "serviceName": "Amazon Braket",
                }
                dicts.writerow(row)
    return out.getvalue().encode("utf-8")


def add_price_list_route(app: web.Application, region: str) -> None:
    """``GET PRICE_LIST_PATH``: the offers file, with simulator rows for ``region`` too."""
    body = offers_csv([region])

    async def price_list(request: web.Request) -> web.Response:
        refusal = browser_refusal(request.headers.get, bound_host(request))
        if refusal is not None:
            return web.json_response(
                {"message": refusal},
                status=403,
                headers={"x-amzn-ErrorType": "AccessDeniedException"},
            )
        return web.Response(body=body, content_type="text/csv", charset="utf-8")

    app.router.add_get(PRICE_LIST_PATH, price_list)
