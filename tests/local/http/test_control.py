"""The ``/_local/*`` control routes over real loopback HTTP: faults and quotas at runtime."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from braket_async.local import FaultSpec, LocalBraket, Quotas
from braket_async.local.state._faults import EventFaultSpec

from .._helpers import SV1, RawClients, control_headers

NO_FAULTS = {
    "default": FaultSpec().to_json(),
    "per_operation": {},
    "events": EventFaultSpec().to_json(),
    "seed": None,
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _call(
    http: aiohttp.ClientSession,
    local: LocalBraket,
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes = b"",
) -> tuple[int, dict[str, Any], str]:
    """(status, JSON body, x-amzn-ErrorType) of one control call, with the control token."""
    data = (io.BytesIO(raw) if len(raw) > 1024 * 1024 else raw) if body is None else None
    headers = {**control_headers(local), "Content-Type": "application/json"}
    async with http.request(method, url, json=body, data=data, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers.get("x-amzn-ErrorType", "")


async def _codes(call: Any, times: int) -> list[str]:
    """The outcome of ``times`` calls: "ok" or the error code."""
    codes = []
    for _ in range(times):
        try:
            await call()
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
        else:
            codes.append("ok")
    return codes


async def test_faults_put_over_http_inject_and_get_reads_them_back(
    make_local: Any, clients: RawClients, http: aiohttp.ClientSession
) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    url = f"{local.endpoint_url}/_local/faults"
    assert await _call(http, local, "GET", url) == (200, NO_FAULTS, "")

    doc = {"per_operation": {"SearchDevices": {"throttle": 1.0}}, "seed": 3}
    status, answer, _ = await _call(http, local, "PUT", url, doc)
    assert status == 200
    assert answer["per_operation"]["SearchDevices"]["throttle"] == 1.0
    assert answer["seed"] == 3
    assert (await _call(http, local, "GET", url))[1] == answer
    assert local.faults is not None and local.faults.spec_for("SearchDevices").throttle == 1.0

    client = await clients.braket(local)
    assert await _codes(lambda: client.search_devices(filters=[]), 2) == ["ThrottlingException"] * 2
    assert (await client.get_device(deviceArn=SV1))["deviceArn"] == SV1  # other ops untouched
    assert local.ledger.snapshot()["faults"] == {"SearchDevices": {"throttle": 2}}

    assert (await _call(http, local, "PUT", url, {}))[:2] == (200, NO_FAULTS)
    assert (await client.search_devices(filters=[]))["devices"]


async def _refused_and_unchanged(
    http: aiohttp.ClientSession, local: LocalBraket, route: str, body: Any, message: str
) -> None:
    """PUT ``/_local/{route}`` with a bad ``body``: 400 saying ``message``; nothing changes."""
    before = getattr(local, route)
    url = f"{local.endpoint_url}/_local/{route}"
    status, answer, code = await _call(http, local, "PUT", url, body)
    assert (status, code) == (400, "ValidationException")
    assert message in answer["message"]
    assert getattr(local, route) is before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"per_operation": {"GetDevices": {"throttle": 1}}},
            "GetDevices is not a Braket operation",
        ),
        ({"default": {"throttle": 1.5}}, "throttle must be a probability in [0, 1]"),
        ({"default": {"throttle": 0.6, "internal_error": 0.6}}, "must sum to at most 1"),
        ({"default": {"throttel": 0.1}}, "faults.default.throttel is not a fault field"),
        ({"default": {"latency": "1"}}, "faults.default.latency must be a number"),
        ({"default": {"latency": True}}, "faults.default.latency must be a number"),
        ({"seed": 1.5}, "faults.seed must be an integer or null"),
        ({"defaults": {}}, "faults.defaults is not a field"),
        ([1], "faults must be a JSON object"),
    ],
)
async def test_bad_faults_are_refused_and_change_nothing(
    local_braket: LocalBraket, http: aiohttp.ClientSession, body: Any, message: str
) -> None:
    await _refused_and_unchanged(http, local_braket, "faults", body, message)


async def test_non_json_body_is_refused(
    local_braket: LocalBraket, http: aiohttp.ClientSession
) -> None:
    for route in ("faults", "quotas"):
        url = f"{local_braket.endpoint_url}/_local/{route}"
        status, answer, _ = await _call(http, local_braket, "PUT", url, raw=b"{nope")
        assert status == 400 and "body is not valid JSON" in answer["message"]


async def test_quotas_put_over_http_throttle_then_off(
    make_local: Any, clients: RawClients, http: aiohttp.ClientSession
) -> None:
    local: LocalBraket = await make_local()
    url = f"{local.endpoint_url}/_local/quotas"
    status, before, _ = await _call(http, local, "GET", url)
    assert status == 200
    assert (before["off"], before["scale"], before["overrides"]) == (False, 1.0, {})
    assert before["rates"]["GetDevice"] == [5, 50]

    status, answer, _ = await _call(
        http, local, "PUT", url, {"scale": 2, "overrides": {"GetDevice": [0.001, 2]}}
    )
    assert status == 200
    assert answer["scale"] == 2.0 and answer["overrides"] == {"GetDevice": [0.001, 2.0]}
    assert answer["rates"]["CreateQuantumTask"] == [40.0, 80.0]
    assert answer["concurrent_jobs"] == before["concurrent_jobs"]  # concurrency is kept
    assert (await _call(http, local, "GET", url))[1] == answer

    client = await clients.braket(local)
    codes = await _codes(lambda: client.get_device(deviceArn=SV1), 4)
    assert codes == ["ok", "ok", "ThrottlingException", "ThrottlingException"]
    assert local.ledger.snapshot()["throttled"]["GetDevice"] == 2

    status, answer, _ = await _call(http, local, "PUT", url, {"off": True})
    assert status == 200 and answer["off"] is True and answer["rates"] == {}
    assert not local.quotas.enabled
    assert local.jobs.concurrency == before["concurrent_jobs"]
    assert await _codes(lambda: client.get_device(deviceArn=SV1), 4) == ["ok"] * 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scale": 0}, "quotas.scale must be > 0"),
        ({"scale": "2"}, "quotas.scale must be a finite number"),
        ({"off": True, "scale": 2}, "scale and overrides must not be given"),
        ({"off": "yes"}, "quotas.off must be true or false"),
        ({"overrides": {"GetDevice": [0, 5]}}, "quotas.overrides.GetDevice[0] (rate) must be > 0"),
        ({"overrides": {"GetDevice": [1, 0.5]}}, "(burst) must be >= 1"),
        ({"overrides": {"GetDevice": 5}}, "quotas.overrides.GetDevice must be [rate, burst]"),
        ({"overrides": {"Nope": [1, 1]}}, "quotas.overrides.Nope is not a Braket operation"),
        ({"rate": 1}, "quotas.rate is not a field"),
    ],
)
async def test_bad_quotas_are_refused_and_change_nothing(
    local_braket: LocalBraket, http: aiohttp.ClientSession, body: Any, message: str
) -> None:
    await _refused_and_unchanged(http, local_braket, "quotas", body, message)


@pytest.mark.parametrize("route", ["ledger", "faults", "quotas"])
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-wrong-token", "Basic dGVzdGluZzp0ZXN0aW5n"]
)
async def test_control_routes_need_the_token(
    local_braket: LocalBraket,
    http: aiohttp.ClientSession,
    route: str,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    url = f"{local_braket.endpoint_url}/_local/{route}"
    before = local_braket.ledger.snapshot()
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 403
        assert resp.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert "Authorization: Bearer <token>" in (await resp.json())["message"]
    async with http.put(url, json={}, headers=headers) as resp:
        assert resp.status in (403, 405)  # ledger has no PUT
    async with http.post(f"{local_braket.endpoint_url}/_local/ledger/reset", headers=headers) as r:
        assert r.status == 403
    assert local_braket.ledger.snapshot()["total_calls"] >= before["total_calls"]  # not reset


async def test_health_is_open_but_not_to_browsers(
    local_braket: LocalBraket, http: aiohttp.ClientSession
) -> None:
    url = f"{local_braket.endpoint_url}/_local/health"
    async with http.get(url) as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "ok"
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
    async with http.get(url, headers={"Origin": "https://evil.example"}) as resp:
        assert resp.status == 403
        assert resp.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
    # DNS rebinding: a page on another name that resolves to 127.0.0.1
    async with http.get(url, headers={"Host": "evil.example"}) as resp:
        assert resp.status == 403
        assert "not a loopback name" in (await resp.json())["message"]


async def test_latency_is_bounded_and_the_field_named(
    local_braket: LocalBraket, http: aiohttp.ClientSession
) -> None:
    url = f"{local_braket.endpoint_url}/_local/faults"
    for body, where in (
        ({"default": {"latency": 1e300}}, "faults.default"),
        ({"per_operation": {"GetDevice": {"latency": 601}}}, "faults.per_operation.GetDevice"),
    ):
        status, answer, code = await _call(http, local_braket, "PUT", url, body)
        assert (status, code) == (400, "ValidationException")
        assert f"{where}: FaultSpec.latency must be in [0, 600] seconds" in answer["message"]
    status, answer, _ = await _call(http, local_braket, "PUT", url, {"default": {"latency": 600}})
    assert status == 200 and answer["default"]["latency"] == 600
    assert (await _call(http, local_braket, "PUT", url, {}))[0] == 200


@pytest.mark.parametrize("route", ["faults", "quotas"])
async def test_oversized_and_overnested_bodies_get_json_4xx(
    local_braket: LocalBraket, http: aiohttp.ClientSession, route: str
) -> None:
    url = f"{local_braket.endpoint_url}/_local/{route}"
    deep = b"[" * 100_000 + b"]" * 100_000
    status, answer, code = await _call(http, local_braket, "PUT", url, raw=deep)
    assert (status, code) == (400, "SerializationException")
    assert "nested too deeply" in answer["message"]
    nested_65 = b'{"default":' * 65 + b"{}" + b"}" * 65
    status, answer, code = await _call(http, local_braket, "PUT", url, raw=nested_65)
    assert (status, code) == (400, "SerializationException")
    big = b'{"pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    status, answer, code = await _call(http, local_braket, "PUT", url, raw=big)
    assert (status, code) == (413, "RequestTooLargeException")
    assert "10485760 bytes" in answer["message"]
