"""Typed paginators and lazy item iterators against the local service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _common import BELL, SV1

from braket_async import BraketSession, OpenQASMProgram, ParameterError, RateLimits
from braket_async.local import LocalBraket
from braket_async.models import (
    DeviceSummary,
    QuantumTaskFilter,
    QuantumTaskSummary,
    SearchDevicesPage,
    SearchQuantumTasksPage,
)


@pytest.fixture
async def session(local_braket: LocalBraket) -> AsyncIterator[BraketSession]:
    async with BraketSession(
        endpoint_url=local_braket.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        rate_limits=RateLimits.off(),
    ) as braket:
        yield braket


@pytest.fixture
async def five_tasks(session: BraketSession, local_braket: LocalBraket) -> list[str]:
    return [
        await session.create_quantum_task(
            device_arn=SV1, action=OpenQASMProgram(BELL), shots=1,
            output_s3_bucket=local_braket.default_bucket, output_s3_key_prefix="pages",
        )
        for _ in range(5)
    ]


def calls(local: LocalBraket, operation: str) -> int:
    return int(local.ledger.snapshot()["calls"].get(operation, 0))


@pytest.mark.parametrize(
    "name",
    ["search_quantum_tasks", "SearchQuantumTasks", "search_jobs", "search_devices",
     "SearchSpendingLimits"],
)
def test_can_paginate(name: str) -> None:
    session = BraketSession(region_name="us-east-1")
    assert session.can_paginate(name)
    assert session.get_paginator(name).operation_name.startswith("Search")


def test_cannot_paginate_others() -> None:
    session = BraketSession(region_name="us-east-1")
    assert not session.can_paginate("get_device")
    with pytest.raises(ParameterError) as info:
        session.get_paginator("get_device")
    assert info.value.field == "operation_name"


async def test_paginate_yields_typed_pages_of_page_size(
    session: BraketSession, local_braket: LocalBraket
) -> None:
    everything = (await session.search_devices()).devices
    before = calls(local_braket, "SearchDevices")
    pages = session.get_paginator("search_devices").paginate(PaginationConfig={"PageSize": 2})
    assert calls(local_braket, "SearchDevices") == before  # nothing sent yet
    collected = [page async for page in pages]
    assert all(isinstance(page, SearchDevicesPage) for page in collected)
    assert all(len(page.devices) <= 2 for page in collected)
    assert tuple(d for page in collected for d in page.devices) == everything
    assert calls(local_braket, "SearchDevices") - before == len(collected)
    assert pages.resume_token is None


async def test_max_items_and_starting_token(
    session: BraketSession, five_tasks: list[str]
) -> None:
    paginator = session.get_paginator("search_quantum_tasks")
    only = [QuantumTaskFilter.quantum_task_arns(*five_tasks)]
    first = paginator.paginate(filters=only, PaginationConfig={"PageSize": 2, "MaxItems": 3})
    head = [t.quantum_task_arn async for page in first for t in page.quantum_tasks]
    assert len(head) == 3 and first.resume_token is not None
    rest = paginator.paginate(
        filters=only, PaginationConfig={"PageSize": 2, "StartingToken": first.resume_token}
    )
    tail = [t.quantum_task_arn async for page in rest for t in page.quantum_tasks]
    assert sorted(head + tail) == sorted(five_tasks)


async def test_build_full_result(session: BraketSession, five_tasks: list[str]) -> None:
    pages = session.get_paginator("search_quantum_tasks").paginate(
        filters=[QuantumTaskFilter.quantum_task_arns(*five_tasks)],
        PaginationConfig={"PageSize": 2},
    )
    full = await pages.build_full_result()
    assert isinstance(full, SearchQuantumTasksPage)
    assert sorted(t.quantum_task_arn for t in full.quantum_tasks) == sorted(five_tasks)
    assert full.next_token is None


async def test_paginate_checks_parameters_up_front(session: BraketSession) -> None:
    paginator = session.get_paginator("search_quantum_tasks")
    with pytest.raises(ParameterError) as info:
        paginator.paginate(filters=[], nxt_token="x")
    assert info.value.field == "nxt_token"
    with pytest.raises(ParameterError) as info:
        paginator.paginate(filters=[], PaginationConfig={"PageSize": 0})
    assert info.value.field == "PaginationConfig.PageSize"
    with pytest.raises(ParameterError) as info:
        paginator.paginate(filters=[], PaginationConfig={"Limit": 3})
    assert info.value.field == "PaginationConfig"


async def test_iter_quantum_tasks_is_lazy_and_pages(
    session: BraketSession, local_braket: LocalBraket, five_tasks: list[str]
) -> None:
    before = calls(local_braket, "SearchQuantumTasks")
    items = session.iter_quantum_tasks(
        [QuantumTaskFilter.quantum_task_arns(*five_tasks)], page_size=2
    )
    assert calls(local_braket, "SearchQuantumTasks") == before
    found = [task async for task in items]
    assert all(isinstance(t, QuantumTaskSummary) for t in found)
    assert sorted(t.quantum_task_arn for t in found) == sorted(five_tasks)
    assert calls(local_braket, "SearchQuantumTasks") - before == 3  # pages of 2, 2, 1
    assert items.num_results == 5 and items.next_token is None


async def test_iter_max_items_stops_early(
    session: BraketSession, local_braket: LocalBraket, five_tasks: list[str]
) -> None:
    before = calls(local_braket, "SearchQuantumTasks")
    items = session.iter_quantum_tasks(
        [QuantumTaskFilter.quantum_task_arns(*five_tasks)], page_size=2, max_items=3
    )
    found = await items.collect()
    assert len(found) == 3
    assert calls(local_braket, "SearchQuantumTasks") - before == 2
    assert items.next_token is not None


async def test_iter_devices_jobs_spending_limits(
    session: BraketSession, local_braket: LocalBraket
) -> None:
    devices = [d async for d in session.iter_devices(page_size=1)]
    assert all(isinstance(d, DeviceSummary) for d in devices)
    assert tuple(devices) == (await session.search_devices()).devices
    jobs = await session.iter_jobs([{"name": "jobArn", "operator": "EQUAL",
                                     "values": ["arn:aws:braket:us-east-1:123456789012:job/x"]}
                                    ]).collect()
    assert jobs == []
    limits = await session.iter_spending_limits(
        [{"name": "deviceArn", "operator": "EQUAL", "values": ["arn:aws:braket:::device/x/y"]}]
    ).collect()
    assert limits == []


def test_iter_checks_parameters_before_any_request() -> None:
    session = BraketSession(region_name="us-east-1")  # not even open: nothing is sent
    with pytest.raises(ParameterError) as info:
        session.iter_quantum_tasks(page_size=0)
    assert info.value.field == "page_size"
    with pytest.raises(ParameterError) as info:
        session.iter_devices(page_size=500)
    assert info.value.field == "page_size"
    assert "100" in info.value.rule
    with pytest.raises(ParameterError) as info:
        session.iter_jobs([{"name": "jobArn", "operator": "NOPE", "values": ["a"]}])
    assert info.value.field == "filters[0].operator"
