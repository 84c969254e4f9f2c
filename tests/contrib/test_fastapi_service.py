"""The example FastAPI service (examples/fastapi_service.py), driven over real HTTP.

Issue 7's "done when": while a batch of 500 tasks runs in the background, every task is
reported complete exactly once over the Server-Sent Events stream, and the app keeps
answering other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from _common import SV1

from braket_async import BraketSession
from braket_async.local import FaultConfig, FaultSpec, LocalBraket, Quotas

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_service.py"
# Raised quotas on the service and the same client limits (the 20/s default would make 500
# tasks take 25 s): the arithmetic is the same, only faster.
SCALE = 10.0
BATCH = 500


@pytest.fixture(scope="module")
def service_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def fast_local(make_local: Any) -> LocalBraket:
    local: LocalBraket = await make_local(quotas=Quotas.aws_defaults(scale=SCALE))
    return local


@contextlib.asynccontextmanager
async def app_client(
    service_module: ModuleType, local: LocalBraket, serve: Any, **settings_kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The example app, configured for ``local``, served over HTTP; an HTTP client on it."""
    settings = service_module.Settings(
        endpoint_url=local.endpoint_url,
        s3_endpoint_url=local.s3_endpoint_url,
        region_name="us-east-1",
        bucket=local.default_bucket,
        rate_scale=SCALE,
        **settings_kwargs,
    )
    async with (
        serve(service_module.create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as client,
    ):
        yield client


@pytest.fixture
async def http(
    service_module: ModuleType, fast_local: LocalBraket, local_env: dict[str, str], serve: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(service_module, fast_local, serve) as client:
        yield client


async def read_events(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    """Read an SSE stream to its end: (id, event, data) per event."""
    events: list[tuple[int, str, dict[str, Any]]] = []
    async with http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "data" in fields:
                    events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


async def test_every_task_of_a_500_task_batch_is_reported_complete_exactly_once(
    http: httpx.AsyncClient, fast_local: LocalBraket
) -> None:
    created = await http.post("/batches", json={"n": BATCH, "kind": "mixed", "shots": 10})
    assert created.status_code == 202
    batch_id = created.json()["batch_id"]

    stream = asyncio.create_task(read_events(http, f"/batches/{batch_id}/events"))
    # While the batch runs the app keeps answering: pings, batch status, single tasks.
    pings = 0
    looked_up: set[str] = set()
    while not stream.done():
        assert (await http.get("/ping")).json() == {"ok": True}
        pings += 1
        status = (await http.get(f"/batches/{batch_id}")).json()
        assert status["size"] == BATCH and sum(status["counts"].values()) == BATCH
        arns = [t["arn"] for t in status["tasks"] if t["arn"]]
        if arns and len(looked_up) < 3:
            task = (await http.get(f"/tasks/{arns[0]}")).json()
            assert task["arn"] == arns[0] and task["device_arn"] == SV1
            looked_up.add(arns[0])
        await asyncio.sleep(0.05)
    events = await stream

    task_events = [data for _, kind, data in events if kind == "task"]
    assert len(task_events) == BATCH
    arn_counts = Counter(e["arn"] for e in task_events)
    assert len(arn_counts) == BATCH and set(arn_counts.values()) == {1}
    assert sorted(e["index"] for e in task_events) == list(range(BATCH))
    assert {e["status"] for e in task_events} == {"COMPLETED"}
    assert [kind for _, kind, _ in events].count("done") == 1 and events[-1][1] == "done"
    assert events[-1][2]["counts"] == {"COMPLETED": BATCH}
    assert [event_id for event_id, _, _ in events] == list(range(len(events)))
    assert pings > 0 and looked_up

    # The service agrees: exactly 500 tasks, none created twice.
    ledger = fast_local.ledger.snapshot()
    assert ledger["tasks_created"] == BATCH and ledger["tasks_completed"] == BATCH

    final = (await http.get(f"/batches/{batch_id}")).json()
    assert final["done"] is True and final["counts"] == {"COMPLETED": BATCH}
    assert {t["arn"] for t in final["tasks"]} == set(arn_counts)

    # A late subscriber, or one reconnecting with Last-Event-ID, gets each event once too.
    replay = await read_events(http, f"/batches/{batch_id}/events", {"Last-Event-ID": "249"})
    assert [event_id for event_id, _, _ in replay] == list(range(250, len(events)))

    # A GHZ task's result (even indices are GHZ circuits).
    ghz_arn = next(e["arn"] for e in task_events if e["index"] == 0)
    counts = (await http.get(f"/results/{ghz_arn}")).json()["counts"]
    assert set(counts) <= {"000", "111"} and sum(counts.values()) == 10


async def test_failed_tasks_are_reported_with_their_reason(http: httpx.AsyncClient) -> None:
    good = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
    bad = "OPENQASM 3; qubit[2] q; not_a_gate q[0];"
    response = await http.post("/batches", json={"programs": [good, bad, good], "shots": 5})
    assert response.status_code == 202 and response.json()["size"] == 3
    events = await read_events(http, f"/batches/{response.json()['batch_id']}/events")
    tasks = {data["index"]: data for _, kind, data in events if kind == "task"}
    assert {i: t["status"] for i, t in tasks.items()} == {
        0: "COMPLETED",
        1: "FAILED",
        2: "COMPLETED",
    }
    assert "not_a_gate" in tasks[1]["failure_reason"]
    assert events[-1][2]["counts"] == {"COMPLETED": 2, "FAILED": 1}


async def test_a_program_that_is_not_openqasm_is_refused_before_anything_is_sent(
    http: httpx.AsyncClient, fast_local: LocalBraket
) -> None:
    before = fast_local.ledger.snapshot()["total_calls"]
    response = await http.post("/batches", json={"programs": ["not a program"]})
    assert response.status_code == 400
    assert "items" in response.json()["message"] or "action" in response.json()["message"]
    assert fast_local.ledger.snapshot()["total_calls"] == before


async def test_job_events_stream_in_order_until_the_job_ends(
    http: httpx.AsyncClient, fast_local: LocalBraket
) -> None:
    async with BraketSession(
        endpoint_url=fast_local.endpoint_url, s3_endpoint_url=fast_local.s3_endpoint_url
    ) as braket:
        arn = await braket.create_job(
            job_name="sse-job",
            role_arn="arn:aws:iam::123456789012:role/Test",
            algorithm_specification={
                "scriptModeConfig": {"entryPoint": "x:main", "s3Uri": "s3://b/x.py"}
            },
            instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
            output_data_config={"s3Path": f"s3://{fast_local.default_bucket}/jobs/out"},
            device_config={"device": SV1},
        )
    events = await read_events(http, f"/jobs/{arn}/events")
    kinds = [data["type"] for _, kind, data in events if kind == "job"]
    assert kinds[-1] == "COMPLETED" and "RUNNING" in kinds
    assert len(kinds) == len(set(kinds))
    assert events[-1][1] == "done" and events[-1][2]["status"] == "COMPLETED"


async def test_errors_map_to_http_statuses(http: httpx.AsyncClient) -> None:
    missing = (
        "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000000"
    )
    not_found = await http.get(f"/tasks/{missing}")
    assert not_found.status_code == 404
    assert not_found.json()["error"] == "ResourceNotFoundException"

    bad_arn = await http.get("/tasks/not-an-arn")
    assert bad_arn.status_code == 400 and "quantum_task_arn" in bad_arn.json()["message"]

    assert (await http.get("/batches/nope")).status_code == 404
    assert (await http.get("/batches/nope/events")).status_code == 404
    assert (await http.post("/batches", json={"n": 0})).status_code == 422
    assert (await http.post("/batches", json={"n": 10**6})).status_code == 422


async def test_cancel_a_running_batch(
    service_module: ModuleType, make_local: Any, local_env: dict[str, str], serve: Any
) -> None:
    slow = await make_local(quotas=Quotas.aws_defaults(scale=SCALE), queue_delay=30.0)
    async with app_client(service_module, slow, serve) as http:
        batch_id = (await http.post("/batches", json={"n": 5})).json()["batch_id"]
        for _ in range(400):  # until all 5 are created (they then wait 30 s in the queue)
            if (await http.get(f"/batches/{batch_id}")).json()["counts"].get("PENDING") == 5:
                break
            await asyncio.sleep(0.05)
        cancelled = await http.delete(f"/batches/{batch_id}")
        assert cancelled.status_code == 200
        assert cancelled.json()["batch_id"] == batch_id
        assert cancelled.json()["cancel_requested"] == 5
        events = await read_events(http, f"/batches/{batch_id}/events")
    assert Counter(d["status"] for _, k, d in events if k == "task") == {"CANCELLED": 5}


async def test_delete_on_a_finished_batch_answers_its_final_state(
    http: httpx.AsyncClient,
) -> None:
    """Issue #20 (9): it answered 502 "this batch is closed; cancel it before closing"."""
    batch_id = (await http.post("/batches", json={"n": 3})).json()["batch_id"]
    events = await read_events(http, f"/batches/{batch_id}/events")  # ends with "done"
    assert events[-1][1] == "done"
    for _ in range(2):  # a second DELETE answers the same
        answer = await http.delete(f"/batches/{batch_id}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["batch_id"] == batch_id and body["done"] is True
        assert body["counts"] == {"COMPLETED": 3}
        assert body["cancel_requested"] == 0


async def test_items_a_cancel_kept_from_being_sent_are_not_submitted(
    service_module: ModuleType, make_local: Any, local_env: dict[str, str], serve: Any
) -> None:
    """Issue #20 (9): items never sent were reported SUBMIT_FAILED, like a failed create."""
    slow_creates = FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(latency=0.3)})
    slow = await make_local(
        quotas=Quotas.aws_defaults(scale=SCALE), queue_delay=30.0, faults=slow_creates
    )
    n = 40
    async with app_client(service_module, slow, serve, max_in_flight=4) as http:
        batch_id = (await http.post("/batches", json={"n": n})).json()["batch_id"]
        while slow.ledger.snapshot()["calls"].get("CreateQuantumTask", 0) < 4:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the first creates are on the wire, the rest queued
        cancelled = (await http.delete(f"/batches/{batch_id}")).json()["cancel_requested"]
        events = await read_events(http, f"/batches/{batch_id}/events")
        state = (await http.get(f"/batches/{batch_id}")).json()
    created = slow.ledger.snapshot()["tasks_created"]
    assert 4 <= created == cancelled < n
    assert state["counts"] == {"CANCELLED": created, "NOT_SUBMITTED": n - created}
    statuses = Counter(task["status"] for task in state["tasks"])
    assert statuses == {"CANCELLED": created, "NOT_SUBMITTED": n - created}
    unsent = [d for _, kind, d in events if kind == "not_submitted"]
    assert len(unsent) == n - created and all(d["status"] == "NOT_SUBMITTED" for d in unsent)
    assert not [d for _, kind, d in events if kind == "error"]  # no failed submission
