"""braket_async.contrib.fastapi: background work, the lifespan and the dependencies."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from typing import Any

import httpx
import pytest
from _common import SV1
from fastapi import FastAPI
from starlette.requests import HTTPConnection

from braket_async import BraketSession
from braket_async.contrib.fastapi import (
    BackgroundDep,
    BackgroundWork,
    BraketDep,
    BraketLifespan,
    braket_lifespan,
    get_background,
    get_braket,
)
from braket_async.local import LocalBraket

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def session_kwargs(local: LocalBraket) -> dict[str, Any]:
    return {
        "endpoint_url": local.endpoint_url,
        "s3_endpoint_url": local.s3_endpoint_url,
        "region_name": "us-east-1",
        **CREDENTIALS,
    }


# ---------------------------------------------------------------- BackgroundWork


async def test_spawned_work_is_found_by_key_and_outlives_its_caller() -> None:
    work = BackgroundWork()
    release = asyncio.Event()

    async def job() -> str:
        await release.wait()
        return "done"

    entry = work.spawn(job(), key="b1", value={"n": 3})
    assert "b1" in work and len(work) == 1 and work.running == 1
    assert work.get("b1") is entry and work.value("b1", dict) == {"n": 3}
    release.set()
    assert await entry.task == "done"
    assert entry.done() and work.running == 0
    assert work.get("b1").value == {"n": 3}  # finished work stays findable
    await work.shutdown(timeout=1)


async def test_generated_keys_are_unique_and_taken_keys_are_refused() -> None:
    work = BackgroundWork()
    first = work.spawn(asyncio.sleep(0))
    second = work.spawn(asyncio.sleep(0))
    assert first.key != second.key
    coro = asyncio.sleep(0)
    with pytest.raises(ValueError, match="already used"):
        work.spawn(coro, key=first.key)
    await work.shutdown(timeout=1)


async def test_lookup_errors_name_the_key_and_the_type() -> None:
    work = BackgroundWork()
    work.spawn(asyncio.sleep(0), key="k", value="text")
    with pytest.raises(KeyError, match="'nope'"):
        work.get("nope")
    with pytest.raises(TypeError, match="holds a str, not a int"):
        work.value("k", int)
    await work.shutdown(timeout=1)


async def test_only_the_most_recent_finished_entries_are_kept() -> None:
    work = BackgroundWork(keep_finished=2)
    for i in range(4):
        await work.spawn(asyncio.sleep(0), key=f"k{i}").task
    await asyncio.sleep(0)  # let the done callbacks run
    assert [e.key for e in work] == ["k2", "k3"]
    await work.shutdown(timeout=1)


async def test_shutdown_drains_running_work_within_the_timeout() -> None:
    work = BackgroundWork()
    entry = work.spawn(asyncio.sleep(0.05, result="finished"))
    await work.shutdown(timeout=5, drain=True)
    assert entry.task.result() == "finished"
    assert work.closed
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="shutting down"):
        work.spawn(coro)


async def test_shutdown_cancels_what_does_not_finish_and_lets_it_clean_up() -> None:
    work = BackgroundWork()
    cleaned = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    drained = work.spawn(forever())
    cancelled = work.spawn(forever())
    await work.shutdown(timeout=0.05, drain=True)
    assert drained.task.cancelled() and cancelled.task.cancelled()
    assert cleaned.is_set()


async def test_shutdown_without_drain_cancels_at_once() -> None:
    work = BackgroundWork()
    entry = work.spawn(asyncio.Event().wait())
    await work.shutdown(timeout=30, drain=False)  # returns without waiting 30 s
    assert entry.task.cancelled()


async def test_failed_work_is_logged_and_keeps_its_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = BackgroundWork()

    async def boom() -> None:
        raise RuntimeError("kaput")

    entry = work.spawn(boom(), key="bad")
    with caplog.at_level(logging.ERROR, logger="braket_async.contrib.fastapi"):
        await asyncio.wait({entry.task})
        await asyncio.sleep(0)
    assert isinstance(entry.task.exception(), RuntimeError)
    assert "background work 'bad' failed" in caplog.text
    await work.shutdown(timeout=1)


# ---------------------------------------------------------------- lifespan + dependencies


def make_app(lifespan: BraketLifespan) -> FastAPI:
    app = FastAPI(lifespan=lifespan)

    @app.get("/devices")
    async def devices(braket: BraketDep) -> list[str]:
        return sorted([d.device_name async for d in braket.iter_devices()])

    @app.post("/work/{key}")
    async def start(key: str, braket: BraketDep, work: BackgroundDep) -> dict[str, str]:
        async def count() -> int:
            return len([d async for d in braket.iter_devices()])

        work.spawn(count(), key=key)
        return {"key": key}

    @app.get("/work/{key}")
    async def result(key: str, work: BackgroundDep) -> dict[str, Any]:
        entry = work.get(key)
        await entry.task
        return {"key": key, "devices": entry.task.result()}

    return app


async def test_lifespan_opens_one_session_shared_by_requests_and_closes_it(
    local_braket: LocalBraket, serve: Any
) -> None:
    sessions: list[BraketSession] = []

    def factory() -> BraketSession:
        sessions.append(BraketSession(**session_kwargs(local_braket)))
        return sessions[-1]

    app = make_app(BraketLifespan(session_factory=factory))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        first = await http.get("/devices")
        second = await http.get("/devices")
        assert first.status_code == 200 and first.json() == second.json()
        assert "SV1" in first.json()
        assert len(sessions) == 1 and sessions[0].is_open
    assert not sessions[0].is_open
    assert not hasattr(app.state, "braket")


async def test_background_work_started_in_one_request_is_read_in_another(
    local_braket: LocalBraket, serve: Any
) -> None:
    app = make_app(braket_lifespan(**session_kwargs(local_braket)))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/work/w1")).json() == {"key": "w1"}
        body = (await http.get("/work/w1")).json()
    assert body["key"] == "w1" and body["devices"] >= 3


async def test_shutdown_waits_for_background_work_then_closes_the_session(
    local_braket: LocalBraket, serve: Any
) -> None:
    seen: dict[str, Any] = {}
    app = FastAPI(lifespan=braket_lifespan(shutdown_timeout=5, **session_kwargs(local_braket)))

    @app.post("/slow")
    async def slow(braket: BraketDep, work: BackgroundDep) -> dict[str, bool]:
        async def later() -> None:
            await asyncio.sleep(0.2)
            # the session is still open while background work drains
            seen["device"] = (await braket.get_device(SV1)).device_name

        seen["entry"] = work.spawn(later())
        return {"ok": True}

    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/slow")).status_code == 200
    assert seen["device"] == "SV1"
    assert seen["entry"].done() and not seen["entry"].task.cancelled()


def test_the_dependency_says_how_to_fix_a_missing_lifespan() -> None:
    app = FastAPI()  # no braket lifespan
    conn = HTTPConnection({"type": "http", "app": app, "state": {}})
    with pytest.raises(RuntimeError, match=r"lifespan=braket_lifespan"):
        get_braket(conn)
    with pytest.raises(RuntimeError, match=r"no BackgroundWork"):
        get_background(conn)


def test_lifespan_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="not both"):
        BraketLifespan(session_factory=BraketSession, region_name="us-east-1")
    with pytest.raises(ValueError, match="shutdown_timeout must be >= 0"):
        BraketLifespan(shutdown_timeout=-1)
    with pytest.raises(ValueError, match="keep_finished must be >= 0"):
        BackgroundWork(keep_finished=-1)


def test_without_fastapi_the_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "braket_async.contrib.fastapi")
    with pytest.raises(ImportError, match=r"pip install 'braket-async\[fastapi\]'"):
        importlib.import_module("braket_async.contrib.fastapi")
