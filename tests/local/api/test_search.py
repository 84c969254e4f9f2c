"""Search filters and pagination over loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket, Quotas
from braket_async.local.api._search import parse_time

from .._helpers import DM1, SV1, GatedSleep, RawClients, job_request, task_request, wait_until


def _f(name: str, operator: str, *values: str) -> dict[str, Any]:
    return {"name": name, "operator": operator, "values": list(values)}


async def _all_pages(client: Any, filters: list[dict[str, Any]], size: int) -> list[str]:
    arns: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"filters": filters, "maxResults": size}
        if token:
            kwargs["nextToken"] = token
        page = await client.search_quantum_tasks(**kwargs)
        assert len(page["quantumTasks"]) <= size
        arns += [t["quantumTaskArn"] for t in page["quantumTasks"]]
        token = page.get("nextToken")
        if token is None:
            return arns


@pytest.fixture
async def populated(
    make_local: Any, clients: RawClients
) -> tuple[LocalBraket, Any, dict[str, Any]]:
    """A service holding 6 queued tasks (4 SV1, 2 DM1) and 1 cancelled, with a time boundary."""
    gate = GatedSleep()
    local: LocalBraket = await make_local(queue_delay=60, quotas=Quotas.off(), sleep=gate)
    client = await clients.braket(local)

    async def create(device: str) -> str:
        return str(
            (await client.create_quantum_task(**task_request(local, deviceArn=device)))[
                "quantumTaskArn"
            ]
        )

    early = [await create(SV1), await create(DM1), await create(SV1)]
    await asyncio.sleep(0.01)  # a boundary strictly between the two groups
    boundary = datetime.now(UTC)
    await asyncio.sleep(0.01)
    late = [await create(SV1), await create(DM1), await create(SV1)]
    await client.cancel_quantum_task(quantumTaskArn=early[0])
    await wait_until(
        lambda: client.get_quantum_task(quantumTaskArn=early[0]),
        lambda r: r["status"] == "CANCELLED",
    )
    return local, client, {"early": early, "late": late, "boundary": boundary}


async def test_pagination_is_newest_first_complete_and_stable(
    populated: tuple[LocalBraket, Any, dict[str, Any]],
) -> None:
    local, client, info = populated
    everything = info["early"] + info["late"]
    assert await _all_pages(client, [], 100) == everything[::-1]
    first = await client.search_quantum_tasks(filters=[], maxResults=4)
    # A task created between pages does not shift the next page.
    newer = (await client.create_quantum_task(**task_request(local)))["quantumTaskArn"]
    second = await client.search_quantum_tasks(
        filters=[], maxResults=4, nextToken=first["nextToken"]
    )
    pages = [t["quantumTaskArn"] for t in first["quantumTasks"] + second["quantumTasks"]]
    assert pages == everything[::-1] and newer not in pages
    assert "nextToken" not in second
    assert await _all_pages(client, [], 1) == [newer, *everything[::-1]]


async def test_filters_by_device_status_and_time(
    populated: tuple[LocalBraket, Any, dict[str, Any]],
) -> None:
    _local, client, info = populated
    early, late, boundary = info["early"], info["late"], info["boundary"]
    assert await _all_pages(client, [_f("deviceArn", "EQUAL", DM1)], 10) == [late[1], early[1]]
    assert await _all_pages(client, [_f("status", "EQUAL", "CANCELLED")], 10) == [early[0]]
    assert (
        await _all_pages(client, [_f("status", "EQUAL", "QUEUED", "CANCELLED")], 2)
        == ((early + late)[::-1])
    )
    iso = boundary.isoformat().replace("+00:00", "Z")
    assert await _all_pages(client, [_f("createdAt", "GTE", iso)], 10) == late[::-1]
    assert await _all_pages(client, [_f("createdAt", "LT", iso)], 10) == early[::-1]
    epoch = str(boundary.timestamp())
    far = str(boundary.timestamp() + 3600)
    assert await _all_pages(client, [_f("createdAt", "BETWEEN", epoch, far)], 10) == late[::-1]
    both = [_f("createdAt", "GT", epoch), _f("deviceArn", "EQUAL", SV1)]
    assert await _all_pages(client, both, 10) == [late[2], late[0]]
    assert await _all_pages(client, [_f("quantumTaskArn", "EQUAL", late[0])], 10) == [late[0]]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"filters": [_f("color", "EQUAL", "red")]}, "Invalid filter name 'color'"),
        ({"filters": [_f("createdAt", "BETWEEN", "1")]}, "exactly 2 values"),
        ({"filters": [_f("createdAt", "LT", "1", "2")]}, "exactly 1 value"),
        ({"filters": [_f("createdAt", "GT", "yesterday")]}, "Invalid createdAt"),
        ({"filters": [], "nextToken": "garbage"}, "Invalid nextToken"),
    ],
)
async def test_bad_searches_are_validation_errors(
    raw: Any, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ClientError) as info:
        await raw.search_quantum_tasks(**kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in info.value.response["Error"]["Message"]


async def test_token_is_bound_to_its_filters(raw: Any, local_braket: LocalBraket) -> None:
    for _ in range(2):
        await raw.create_quantum_task(**task_request(local_braket))
    page = await raw.search_quantum_tasks(filters=[], maxResults=1)
    with pytest.raises(ClientError) as info:
        await raw.search_quantum_tasks(
            filters=[_f("deviceArn", "EQUAL", SV1)], nextToken=page["nextToken"]
        )
    assert "does not come from this search" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        await raw.search_jobs(filters=[], nextToken=page["nextToken"])


async def test_search_jobs_contains_and_spending_limit_operators(
    make_local: Any, clients: RawClients
) -> None:
    local: LocalBraket = await make_local(quotas=Quotas.off())
    client = await clients.braket(local)
    arns = [
        (await client.create_job(**job_request(name)))["jobArn"]
        for name in ("alpha-1", "beta-1", "alpha-2")
    ]
    found = await client.search_jobs(filters=[_f("jobArn", "CONTAINS", "alpha")])
    assert [j["jobArn"] for j in found["jobs"]] == [arns[2], arns[0]]
    with pytest.raises(ClientError) as info:
        await client.search_jobs(filters=[_f("status", "EQUAL", "QUEUED")])
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        await client.search_spending_limits(filters=[_f("deviceArn", "LT", SV1)])
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_parse_time_accepts_iso_seconds_and_millis() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("2024-01-02T03:04:05Z") == when
    assert parse_time("2024-01-02T03:04:05") == when  # naive means UTC
    assert parse_time(str(int(when.timestamp()))) == when
    assert parse_time(str(int(when.timestamp() * 1000))) == when
