"""``python -m braket_async.local serve``: the ready line, serving, and stopping."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import aiohttp
import pytest

from braket_async.local import LocalBraket
from braket_async.local.__main__ import build_parser, serve


def test_parser_reads_every_option() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
            "--queue-delay",
            "0.5",
            "--run-delay",
            "1",
            "--quota-scale",
            "2",
            "--no-quotas",
            "--workers",
            "1",
            "--s3-endpoint-url",
            "http://s3.local",
        ]
    )
    assert (args.host, args.port, args.queue_delay, args.run_delay) == ("0.0.0.0", 8080, 0.5, 1.0)
    assert (args.quota_scale, args.no_quotas, args.workers) == (2.0, True, 1)
    assert args.s3_endpoint_url == "http://s3.local"
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


async def test_serve_prints_ready_line_and_stops_on_event(
    local_braket: LocalBraket, simulator_executor: Any
) -> None:
    stop = asyncio.Event()
    out = io.StringIO()
    server = asyncio.create_task(
        serve(
            stop=stop,
            out=out,
            no_quotas=True,
            executor=simulator_executor,
            s3_endpoint_url=local_braket.s3_endpoint_url,
        )
    )
    for _ in range(500):
        if out.getvalue() or server.done():
            break
        await asyncio.sleep(0.01)
    line = json.loads(out.getvalue())
    assert set(line) == {"endpoint_url", "s3_endpoint_url", "default_bucket", "region"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{line['endpoint_url']}/_local/health") as resp,
    ):
        health = await resp.json()
    assert health["quotas"]["rates"] == {}
    stop.set()
    await server


async def test_subprocess_service_answers_braket_calls(
    local_braket_subprocess: dict[str, Any],
) -> None:
    url = local_braket_subprocess["endpoint_url"]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/devices", json={"filters": []}) as resp:
            assert resp.status == 200
            devices = (await resp.json())["devices"]
        async with http.get(f"{url}/_local/ledger") as resp:
            ledger = await resp.json()
    assert {d["deviceName"] for d in devices} >= {"SV1", "DM1", "TN1"}
    assert ledger["calls"]["SearchDevices"] >= 1
