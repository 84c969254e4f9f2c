"""Typed paginators and lazy item iterators against the local service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs
import boto3
import botocore.session
import pytest
from _common import BELL, SV1
from _wire import Reply, WireServer, session_on_wire

from braket_async import (
    BraketSession,
    OpenQASMProgram,
    ParameterError,
    RateLimits,
    ResponseError,
)
from braket_async._searches import SEARCHES
from braket_async._service_model import SERVICE_MODEL
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


def test_search_table_agrees_with_botocore() -> None:
    """One row per operation botocore's Braket client can paginate, each fact as botocore has
    it, and a page model that reads botocore's response shape."""
    client = botocore.session.get_session().create_client(
        "braket", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    pageable = {op for op in SERVICE_MODEL.operation_names if client.can_paginate(
        botocore.xform_name(op))}
    searches = {search.name: search for search in SEARCHES.values()}
    assert set(searches) == pageable == {
        op for op in SERVICE_MODEL.operation_names if op.startswith("Search")
    }
    for name, search in searches.items():
        assert SEARCHES[search.method] is search
        config = client.get_paginator(search.method)._pagination_cfg
        assert (search.result_key, search.input_token, search.output_token, search.limit_key) == (
            config["result_key"], config["input_token"], config["output_token"],
            config["limit_key"],
        )
        operation = SERVICE_MODEL.operation_model(name)
        inputs = operation.input_shape.members
        assert {botocore.xform_name(m) for m in inputs} == search.parameters | {
            botocore.xform_name(search.input_token)
        }
        assert search.filters_required == ("filters" in operation.input_shape.required_members)
        outputs = set(operation.output_shape.members)
        assert outputs == {search.result_key, search.output_token}
        assert {f.name for f in attrs.fields(search.page_type)} == {
            search.items, botocore.xform_name(search.output_token)
        }
        page = search.build({search.result_key: [], search.output_token: "more"})
        assert isinstance(page, search.page_type)
        assert search.items_of(page) == () and page.next_token == "more"


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


def _boto3_tasks(arns: list[str], config: dict[str, Any]) -> tuple[list[str], str | None]:
    """boto3's own paginator over ``arns`` (blocking: run it in a thread)."""
    client = boto3.client("braket")
    pages = client.get_paginator("search_quantum_tasks").paginate(
        filters=[{"name": "quantumTaskArn", "operator": "EQUAL", "values": arns}],
        PaginationConfig=config,
    )
    found = [t["quantumTaskArn"] for page in pages for t in page["quantumTasks"]]
    return found, pages.resume_token


async def test_resume_tokens_are_botocores(
    session: BraketSession, five_tasks: list[str], local_env: dict[str, str]
) -> None:
    """A resume token of ours continues in boto3's paginator and the other way round."""
    only = [QuantumTaskFilter.quantum_task_arns(*five_tasks)]
    paginator = session.get_paginator("search_quantum_tasks")
    ours = paginator.paginate(filters=only, PaginationConfig={"PageSize": 2, "MaxItems": 3})
    head = [t.quantum_task_arn async for page in ours for t in page.quantum_tasks]
    tail, _ = await asyncio.to_thread(
        _boto3_tasks, five_tasks, {"PageSize": 2, "StartingToken": ours.resume_token}
    )
    assert len(head) == 3 and sorted(head + tail) == sorted(five_tasks)

    head, token = await asyncio.to_thread(
        _boto3_tasks, five_tasks, {"PageSize": 2, "MaxItems": 1}
    )
    assert len(head) == 1 and token is not None
    rest = paginator.paginate(
        filters=only, PaginationConfig={"PageSize": 2, "StartingToken": token}
    )
    tail = [t.quantum_task_arn async for page in rest for t in page.quantum_tasks]
    assert sorted(head + tail) == sorted(five_tasks)


async def test_a_repeated_next_token_is_an_error_not_a_loop(wire: WireServer) -> None:
    async with session_on_wire(wire) as braket:
        wire.reply = Reply(body='{"devices": [], "nextToken": "again"}')
        items = braket.iter_devices()
        with pytest.raises(ResponseError) as info:
            await items.collect()
        assert info.value.operation == "SearchDevices" and "again" in str(info.value)
        assert len(wire.requests) == 2  # the first page and the one that answered it again
