"""The aiohttp application of the local Braket service: routing, quotas, faults, errors.

One generic dispatcher serves all 17 operations: the route table comes from botocore's
service model (``_model.routes``), path labels are matched on the raw, percent-encoded path,
members are gathered from path / query / JSON body per their ``location``, validated against
the input shape, handed to ``_handlers.Handlers`` and the result rendered per the output shape
with the operation's ``responseCode``.

Order for each request: route (404 UnknownOperationException when none) -> ledger call count
-> quota (429 "Rate exceeded") -> injected latency and faults -> body parse (400
SerializationException) -> validation (400 ValidationException) -> handler. Every response,
errors included, carries ``x-amzn-RequestId``; errors carry ``x-amzn-ErrorType`` and a JSON
body ``{"message": ...}``.

Outside the Braket routes: the ``/_local/*`` control routes of ``_control`` (health, ledger,
faults, quotas).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._control import Controls, add_control_routes
from ._errors import (
    InternalServiceError,
    Serialization,
    ServiceError,
    Throttling,
    UnknownOperation,
)
from ._faults import FaultConfig
from ._handlers import Handlers
from ._ledger import Ledger
from ._model import find_route, parse_request_params, render_output
from ._quotas import Quotas
from ._validation import check_request

__all__ = ["MAX_BODY_BYTES", "build_app"]

_log = logging.getLogger(__name__)

#: Largest request body accepted (actions may be large OpenQASM programs).
MAX_BODY_BYTES = 16 * 1024 * 1024


class _Dropped(Exception):
    """The connection was dropped on purpose (fault injection); nothing is answered."""


def _error_response(err: ServiceError, request_id: str) -> web.Response:
    return web.json_response(
        err.body(),
        status=err.status,
        headers={"x-amzn-ErrorType": err.code, "x-amzn-RequestId": request_id},
    )


def _drop(request: web.Request) -> None:
    # Abort the socket without writing a byte: the client sees the connection reset/closed.
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise _Dropped


class _Dispatcher:
    def __init__(
        self,
        handlers: Handlers,
        ledger: Ledger,
        quotas: Callable[[], Quotas],
        faults: Callable[[], FaultConfig | None],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._handlers = handlers
        self._ledger = ledger
        self._quotas = quotas
        self._faults = faults
        self._sleep = sleep

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        operation = "Unknown"
        try:
            match = find_route(request.method, request.rel_url.raw_path)
            if match is None:
                raise UnknownOperation(
                    f"No Braket operation for {request.method} {request.rel_url.path}"
                )
            route, labels = match
            operation = route.operation
            response = await self._serve(request, route, labels, operation)
        except _Dropped:
            # aiohttp needs a response object; the transport is already gone.
            return web.Response(status=500)
        except ServiceError as err:
            self._ledger.record_error(operation, err.code)
            return _error_response(err, request_id)
        except Exception:
            _log.exception("local Braket: %s failed", operation)
            internal = InternalServiceError("We encountered an internal error. Please try again.")
            self._ledger.record_error(operation, internal.code)
            return _error_response(internal, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    async def _serve(
        self, request: web.Request, route: Any, labels: dict[str, str], operation: str
    ) -> web.StreamResponse:
        self._ledger.record_call(operation)
        if not self._quotas().try_acquire(operation):
            self._ledger.record_throttle(operation)
            raise Throttling()
        faults = self._faults()
        fault = None
        if faults is not None:
            delay = faults.latency_for(operation)
            if delay > 0:
                self._ledger.record_fault(operation, "latency")
                await self._sleep(delay)
            fault = faults.draw(operation)
            if fault is not None:
                self._ledger.record_fault(operation, fault)
            if fault == "internal_error":
                raise InternalServiceError(
                    "We encountered an internal error. Please try again. (injected)"
                )
            if fault == "throttle":
                raise Throttling("Rate exceeded")
            if fault == "drop_connection":
                _drop(request)
        raw = await request.read()
        body: Any = {}
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise Serialization(f"Request body is not valid JSON: {exc}") from None
            if not isinstance(body, dict):
                raise Serialization("Request body must be a JSON object")
        query = {key: request.rel_url.query.getall(key) for key in request.rel_url.query}
        params = parse_request_params(route, labels, query, body)
        model = route.model
        check_request(model.input_shape, params)
        result = await self._handlers.get(operation)(params)
        if fault == "drop_after_effect":
            _drop(request)
        rendered = render_output(model.output_shape, result)
        return web.json_response(rendered, status=route.status)


def build_app(
    handlers: Handlers,
    controls: Controls,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> web.Application:
    """The aiohttp application: ``/_local/*`` control routes, then every Braket route.

    Quotas and faults are read through ``controls`` per request, so the service's settings
    can change while it runs (from Python or over ``PUT /_local/...``).
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_control_routes(app, controls)
    dispatcher = _Dispatcher(
        handlers, controls.ledger, controls.get_quotas, controls.get_faults, sleep
    )

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await dispatcher(request)

    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
