"""``braket-async devices``."""

from __future__ import annotations

from typing import Any

from _common import SV1

from braket_async import BraketSession


async def test_devices_prints_every_device_the_service_lists(
    cli: Any, braket: BraketSession
) -> None:
    expected = {d.device_arn: d async for d in braket.iter_devices()}
    run = await cli("devices", "--json")
    assert run.code == 0, run.err
    listed = {d["arn"]: d for d in run.json()}
    assert listed.keys() == expected.keys()
    for arn, device in expected.items():
        assert listed[arn]["name"] == device.device_name
        assert listed[arn]["status"] == device.device_status


async def test_devices_table_shows_names_statuses_and_arns(cli: Any) -> None:
    run = await cli("devices")
    assert run.code == 0, run.err
    assert "SV1" in run.out and "ONLINE" in run.out and "OFFLINE" in run.out
    assert SV1 in run.out


async def test_devices_can_be_narrowed_by_arn(cli: Any) -> None:
    run = await cli("devices", "--arn", SV1, "--json")
    assert run.code == 0, run.err
    assert [d["arn"] for d in run.json()] == [SV1]
