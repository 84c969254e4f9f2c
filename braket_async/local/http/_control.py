"""The local service's control routes, outside the Braket API (all under ``/_local/``).

- ``GET /_local/health``: status, endpoints, counts, quotas in force.
- ``GET /_local/ledger``, ``POST /_local/ledger/reset``: the call counters.
- ``GET /_local/faults``, ``PUT /_local/faults``: the fault injection, in the JSON form of
  :class:`~._faults.FaultConfig` (a PUT replaces it whole; ``{}`` injects nothing).
- ``GET /_local/quotas``, ``PUT /_local/quotas``: the request-rate quotas
  (``{"off", "scale", "overrides"}``, see ``_quotas``); a PUT keeps the concurrency limits.
- ``POST /_local/reset``: a clean slate (``LocalBraket.reset``): tasks, jobs and spending
  limits forgotten (running ones stopped), ledger zeroed, the quotas and faults the service
  started with back in force; answers the health document.

So a benchmark or a test in another process can change the service while it runs. A bad
body is answered 400 with ``x-amzn-ErrorType: ValidationException`` and a message naming
the key and the rule it breaks; nothing changes then. Bodies follow the Braket routes' rules
(``_body``): at most 10 MB (413), ``application/json`` (415), JSON nested at most 64 deep
(400 SerializationException).

Every route but ``GET /_local/health`` needs ``Authorization: Bearer <control token>`` (403
AccessDeniedException otherwise). Health stays open: it changes nothing and tells only what a
readiness probe needs (status, endpoints, counts, quotas), and probes do not hold the token.
No route answers a web browser (``_guard.browser_refusal``), health included.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from .._errors import AccessDenied, InternalServiceError, ServiceError, Validation
from ..api._model import service_model
from ..guards._body import check_json_content_type, parse_json, read_body
from ..guards._guard import bound_host, browser_refusal, check_control_token
from ..state._faults import FaultConfig
from ..state._ledger import Ledger
from ..state._quotas import Quotas

__all__ = ["Controls", "add_control_routes"]

_log = logging.getLogger(__name__)


@attrs.frozen
class Controls:
    """What the control routes read and replace (getters and setters of the live service)."""

    ledger: Ledger
    get_quotas: Callable[[], Quotas]
    set_quotas: Callable[[Quotas], None]
    get_faults: Callable[[], FaultConfig | None]
    set_faults: Callable[[FaultConfig | None], None]
    health: Callable[[], dict[str, Any]] | None = None
    reset: Callable[[], Awaitable[None]] | None = None


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _error(err: ServiceError) -> web.Response:
    return web.json_response(
        err.body(),
        status=err.status,
        headers={"x-amzn-ErrorType": err.code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _bad_request(message: str) -> web.Response:
    return _error(Validation(message))


async def _read_json(request: web.Request) -> object:
    raw = await read_body(request)
    check_json_content_type(request, raw)
    return parse_json(raw, what="body")


def _guarded(handler: Handler, token: str | None) -> Handler:
    # token None: the route is open (health), still never to a browser.
    async def guarded(request: web.Request) -> web.Response:
        try:
            refusal = browser_refusal(request.headers.get, bound_host(request))
            if refusal is not None:
                raise AccessDenied(refusal)
            if token is not None:
                check_control_token(request, token)
            return await handler(request)
        except ServiceError as err:
            return _error(err)
        except Exception:
            # A bug, not the caller's doing: logged, and answered in the service's JSON form.
            _log.exception("local Braket: %s %s failed", request.method, request.path)
            return _error(InternalServiceError("We encountered an internal error."))

    return guarded


def _faults_doc(config: FaultConfig | None) -> dict[str, Any]:
    return (config or FaultConfig()).to_json()


def add_control_routes(app: web.Application, controls: Controls, token: str) -> None:
    """Register the ``/_local/*`` routes on ``app`` (before any catch-all route); all but
    health need ``token``."""
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

    async def reset(_request: web.Request) -> web.Response:
        if controls.reset is None:
            return _bad_request("this service cannot be reset")
        await controls.reset()
        return await get_health(_request)

    app.router.add_get("/_local/health", _guarded(get_health, None))
    app.router.add_get("/_local/ledger", _guarded(get_ledger, token))
    app.router.add_post("/_local/ledger/reset", _guarded(reset_ledger, token))
    app.router.add_get("/_local/faults", _guarded(get_faults, token))
    app.router.add_put("/_local/faults", _guarded(put_faults, token))
    app.router.add_get("/_local/quotas", _guarded(get_quotas, token))
    app.router.add_put("/_local/quotas", _guarded(put_quotas, token))
    app.router.add_post("/_local/reset", _guarded(reset, token))
