"""The local service's control routes, outside the Braket API (all under ``/_local/``).

- ``GET /_local/health``: status, endpoints, counts, quotas in force.
- ``GET /_local/ledger``, ``POST /_local/ledger/reset``: the call counters.
- ``GET /_local/faults``, ``PUT /_local/faults``: the fault injection, in the JSON form of
  :class:`~._faults.FaultConfig` (a PUT replaces it whole; ``{}`` injects nothing).
- ``GET /_local/quotas``, ``PUT /_local/quotas``: the request-rate quotas
  (``{"off", "scale", "overrides"}``, see ``_quotas``); a PUT keeps the concurrency limits.

So a benchmark or a test in another process can change the service while it runs. A bad
body is answered 400 with ``x-amzn-ErrorType: ValidationException`` and a message naming
the key and the rule it breaks; nothing changes then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web

from ._faults import FaultConfig
from ._ledger import Ledger
from ._model import service_model
from ._quotas import Quotas

__all__ = ["Controls", "add_control_routes"]


@attrs.frozen
class Controls:
    """What the control routes read and replace (getters and setters of the live service)."""

    ledger: Ledger
    get_quotas: Callable[[], Quotas]
    set_quotas: Callable[[Quotas], None]
    get_faults: Callable[[], FaultConfig | None]
    set_faults: Callable[[FaultConfig | None], None]
    health: Callable[[], dict[str, Any]] | None = None


def _bad_request(message: str) -> web.Response:
    return web.json_response(
        {"message": message}, status=400, headers={"x-amzn-ErrorType": "ValidationException"}
    )


async def _read_json(request: web.Request) -> object:
    raw = await request.read()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None


def _faults_doc(config: FaultConfig | None) -> dict[str, Any]:
    return (config or FaultConfig()).to_json()


def add_control_routes(app: web.Application, controls: Controls) -> None:
    """Register the ``/_local/*`` routes on ``app`` (before any catch-all route)."""
    operations = frozenset(service_model().operation_names)

    async def get_health(_request: web.Request) -> web.Response:
        extra = controls.health() if controls.health else {}
        return web.json_response({"status": "ok", **extra})

    async def get_ledger(_request: web.Request) -> web.Response:
        return web.json_response(controls.ledger.snapshot())

    async def reset_ledger(_request: web.Request) -> web.Response:
        controls.ledger.reset()
        return web.json_response(controls.ledger.snapshot())

    async def get_faults(_request: web.Request) -> web.Response:
        return web.json_response(_faults_doc(controls.get_faults()))

    async def put_faults(request: web.Request) -> web.Response:
        try:
            config = FaultConfig.from_json(await _read_json(request), operations=operations)
        except ValueError as exc:
            return _bad_request(str(exc))
        controls.set_faults(config)
        return web.json_response(_faults_doc(config))

    async def get_quotas(_request: web.Request) -> web.Response:
        return web.json_response(controls.get_quotas().describe())

    async def put_quotas(request: web.Request) -> web.Response:
        try:
            doc = await _read_json(request)
            quotas = controls.get_quotas().with_rates_from_json(doc, operations=operations)
        except ValueError as exc:
            return _bad_request(str(exc))
        controls.set_quotas(quotas)
        return web.json_response(quotas.describe())

    app.router.add_get("/_local/health", get_health)
    app.router.add_get("/_local/ledger", get_ledger)
    app.router.add_post("/_local/ledger/reset", reset_ledger)
    app.router.add_get("/_local/faults", get_faults)
    app.router.add_put("/_local/faults", put_faults)
    app.router.add_get("/_local/quotas", get_quotas)
    app.router.add_put("/_local/quotas", put_quotas)
