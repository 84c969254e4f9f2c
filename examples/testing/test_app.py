"""Testing the FastAPI app of ``app.py`` end to end: the braket-async pytest plugin runs a local
Braket service, ``braket_env`` points the app's AWS settings at it, httpx calls the app.

Needs ``pip install 'braket-async[local,fastapi]' pytest pytest-asyncio httpx``. The plugin's
default service runs on its own thread, so the tests may run on any event loop; they are
marked ``@pytest.mark.asyncio(loop_scope="session")`` so that they also run in this repository,
whose suite keeps the service on pytest-asyncio's session loop (``braket_local_mode =
session-loop``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from braket_async.local import Ledger, LocalBraket

from .app import create_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")  # an async fixture in any asyncio mode
async def client(
    braket_env: dict[str, str], braket_local: LocalBraket, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, started (lifespan) with the local service's environment, behind httpx."""
    monkeypatch.setenv("BRAKET_OUTPUT_BUCKET", braket_local.default_bucket)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


async def test_bell_pair_end_to_end(
    client: httpx.AsyncClient, braket_ledger: Ledger
) -> None:
    response = await client.post("/bell", params={"shots": 200})

    assert response.status_code == 200
    body = response.json()
    assert set(body["counts"]) <= {"00", "11"}
    assert sum(body["counts"].values()) == 200
    # one task created, on the service the app was pointed at
    assert braket_ledger.calls["CreateQuantumTask"] == 1


async def test_device_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/devices/sv1")
    assert response.json() == {"status": "ONLINE"}


@pytest.mark.braket_local(faults={"per_operation": {"GetDevice": {"internal_error": 1.0}}})
async def test_braket_outage_is_a_bad_gateway(client: httpx.AsyncClient) -> None:
    # this test has its own service, whose GetDevice always fails with a 500
    response = await client.get("/devices/sv1")
    assert response.status_code == 502
    assert response.json() == {"braket_error": "InternalServiceException"}
