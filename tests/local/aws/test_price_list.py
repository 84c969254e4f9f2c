"""The offers file the Braket SDK's cost ``Tracker`` downloads, served by the local service."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from braket_async.local import LocalBraket
from braket_async.local.aws._price_list import PRICE_LIST_PATH, offers_csv, sdk_device_name
from braket_async.local.devices._devices import DM1_ARN, SV1_ARN, TN1_ARN
from braket_async.local.devices._prices import PRICED_DEVICES, PRICED_SIMULATOR_REGIONS, price_of

QPUS = sorted(arn for arn in PRICED_DEVICES if "/qpu/" in arn)


def _rows(body: bytes) -> list[dict[str, str]]:
    text = io.StringIO(body.decode("utf-8"))
    metadata = [text.readline() for _ in range(5)]  # as the SDK skips them
    assert [line.split(",")[0] for line in metadata] == [
        '"FormatVersion"', '"Disclaimer"', '"Publication Date"', '"Version"', '"OfferCode"'
    ]  # fmt: skip
    return list(csv.DictReader(text))


async def test_served_without_signature_and_environ_names_it(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    url = local_env["BRAKET_PRICE_OFFERS_URL"]
    assert url == local_braket.endpoint_url + PRICE_LIST_PATH
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        body = await response.read()
    assert body == offers_csv([local_braket.region])
    assert {row["Region Code"] for row in _rows(body)} >= {"us-east-1", "eu-north-1"}


async def test_browsers_are_refused(local_braket: LocalBraket) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            local_braket.endpoint_url + PRICE_LIST_PATH, headers={"Origin": "https://a.example"}
        ) as response,
    ):
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "FormatVersion" not in await response.text()


def test_service_region_gets_simulator_prices() -> None:
    rows = _rows(offers_csv(["local-1"]))
    versions = {
        row["Version"] for row in rows if row["Region Code"] == "local-1" and row["Version"]
    }
    assert versions == {"SV1", "DM1", "TN1"}
    # QPUs only in their own region
    assert not [r for r in rows if r["Region Code"] == "local-1" and r["DeviceName"]]


def _sdk_costs(tasks: dict[str, dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """The SDK tracker's QPU and simulator costs for ``tasks`` (ARN -> event fields),
    prices fetched from ``BRAKET_PRICE_OFFERS_URL``."""
    from braket.tracking import Tracker
    from braket.tracking.pricing import _pricing
    from braket.tracking.tracking_events import _TaskCompletionEvent, _TaskCreationEvent

    _pricing._price_list = []  # the SDK caches the list per process: fetch ours
    _pricing.price_search.cache_clear()
    tracker = Tracker()
    for arn, task in tasks.items():
        tracker.receive_event(
            _TaskCreationEvent(arn, task["shots"], task["job_task"], task["device"])
        )
        tracker.receive_event(_TaskCompletionEvent(arn, task.get("duration_ms"), "COMPLETED"))
    return tracker.qpu_tasks_cost(), tracker.simulator_tasks_cost()


@pytest.mark.parametrize("job_task", [False, True])
async def test_sdk_tracker_prices_every_qpu_as_published(
    local_env: dict[str, str], job_task: bool
) -> None:
    for arn in QPUS:
        region = arn.split(":")[3]
        task = f"arn:aws:braket:{region}:123456789012:quantum-task/{sdk_device_name(arn)}"
        qpu, simulator = await asyncio.to_thread(
            _sdk_costs, {task: {"shots": 1000, "job_task": job_task, "device": arn}}
        )
        assert (qpu, simulator) == (price_of(arn).task_cost(1000), 0), arn


@pytest.mark.parametrize("job_task", [False, True])
async def test_sdk_tracker_prices_simulator_minutes(
    local_env: dict[str, str], job_task: bool
) -> None:
    for region in PRICED_SIMULATOR_REGIONS:
        for arn in (SV1_ARN, DM1_ARN, TN1_ARN):
            task = f"arn:aws:braket:{region}:123456789012:quantum-task/x"
            tasks = {
                task: {"shots": 10, "job_task": job_task, "device": arn, "duration_ms": 90_000}
            }
            qpu, simulator = await asyncio.to_thread(_sdk_costs, tasks)
            # 90 s at the per-minute price (above the SDK's 3 s minimum)
            assert qpu == 0
            assert simulator == price_of(arn).per_minute * Decimal("1.5"), (region, arn)
