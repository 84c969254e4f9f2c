"""The aiohttp application of the local Braket service: routing, quotas, faults, errors.

One generic dispatcher serves all 17 operations: the route table comes from botocore's
service model (``_model.routes``), path labels are matched on the raw, percent-encoded path,
members are gathered from path / query / JSON body per their ``location``, validated against
the input shape, handed to ``_handlers.Handlers`` and the result rendered per the output shape
with the operation's ``responseCode``.

Order for each request: route -> ledger call count -> browser refusal (403
AccessDeniedException for a request carrying ``Origin`` / ``Sec-Fetch-*``, or a non-loopback
``Host`` on a loopback bind) -> SigV4 claims (403 MissingAuthenticationTokenException,
IncompleteSignatureException, UnrecognizedClientException, InvalidSignatureException) -> body
read, declared size first (413 RequestTooLargeException) -> content type (415
UnsupportedMediaTypeException unless ``application/json``) -> signature over the received bytes
(403 InvalidSignatureException) -> 404 UnknownOperationException when no route -> quota (429
"Rate exceeded"; a request an injected throttle or dropped connection refuses takes no token)
-> injected latency and faults -> body parse (400 SerializationException, also
for JSON nested too deeply) -> validation (400 ValidationException) -> handler. Every response,
errors included, carries ``x-amzn-RequestId``; errors carry ``x-amzn-ErrorType`` and a JSON
body ``{"message": ...}``.
No response carries CORS headers; an ``OPTIONS`` preflight is an unsigned request like any
other.

Injected latency is cancelled when the application shuts down (``on_shutdown``), so a held
request never delays ``close()``.

Outside the Braket routes: the ``/_local/*`` control routes of ``_control`` (health, ledger,
faults, quotas), the public price list of ``_price_list`` and ECR for the job images
(``_ecr``, ``POST /`` with an ECR ``X-Amz-Target``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botocore.exceptions import ParamValidationError

from ...telemetry import Telemetry
from .._errors import (
    AccessDenied,
    InternalServiceError,
    Serialization,
    ServiceError,
    Throttling,
    UnknownOperation,
    Validation,
)
from ..api._handlers import Handlers
from ..api._model import find_route, parse_request_params, render_output
from ..api._validation import check_request
from ..aws._ecr import ECR_TARGET_PREFIX, EcrService
from ..aws._price_list import add_price_list_route
from ..devices._regions import REQUEST_REGION
from ..guards._body import MAX_BODY_BYTES, check_json_content_type, parse_json_object, read_body
from ..guards._guard import BraketAuth, bound_host, browser_refusal
from ..state._faults import NOT_ADMITTED, FaultConfig
from ..state._ledger import Ledger
from ..state._quotas import Quotas
from ._control import Controls, add_control_routes

__all__ = ["build_app"]

_log = logging.getLogger(__name__)


class _Dropped(Exception):
    """The connection was dropped on purpose (fault injection); nothing is answered."""


class _ShuttingDown(Exception):
    """Injected latency was cut short because the service is closing."""


def _error_response(err: ServiceError, request_id: str) -> web.Response:
    return web.json_response(
        err.body(),
        status=err.status,
        headers={"x-amzn-ErrorType": err.code, "x-amzn-RequestId": request_id},
    )


def _caller_fault(exc: Exception) -> ServiceError | None:
    """The 4xx for an exception that only what the caller sent can cause (None: our bug).

    The checks that name the field come first (``_validation``, ``_body.load_json``, the
    handlers); this is the net under them, so a value that slips past a check still gets a
    non-retryable answer instead of a 500 that every client retries.
    """
    if isinstance(exc, ParamValidationError):
        # A caller's value handed to an S3 / Logs call that botocore refuses.
        return Validation(f"Invalid parameter: {exc}")
    if isinstance(exc, RecursionError):
        return Serialization("The request is nested too deeply")
    return None


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
        auth: BraketAuth,
        telemetry: Telemetry,
    ) -> None:
        self._telemetry = telemetry
        self._handlers = handlers
        self._ledger = ledger
        self._quotas = quotas
        self._faults = faults
        self._sleep = sleep
        self._auth = auth
        self._latencies: set[asyncio.Future[None]] = set()
        self._closing = False

    async def close(self) -> None:
        """Cut every injected latency short (at application shutdown)."""
        self._closing = True
        for waiter in list(self._latencies):
            waiter.cancel()

    async def _latency(self, delay: float) -> None:
        if self._closing:
            raise _ShuttingDown
        waiter = asyncio.ensure_future(self._sleep(delay))
        self._latencies.add(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if self._closing and waiter.cancelled():
                raise _ShuttingDown from None
            raise
        finally:
            self._latencies.discard(waiter)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        with self._telemetry.server_span("Braket (local service)", request.headers) as span:
            response = await self._dispatch(request, span)
            span.set_attribute("http.response.status_code", response.status)
            return response

    async def _dispatch(self, request: web.Request, span: Any) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        span.set_attribute("aws.request_id", request_id)
        operation = "Unknown"
        try:
            match = find_route(request.method, request.rel_url.raw_path)
            if match is not None:
                operation = match[0].operation
                span.update_name(f"Braket.{operation} (local service)")
                span.set_attribute("rpc.method", operation)
                self._ledger.record_call(operation)
            body = await self._authenticate(request)
            if match is None:
                raise UnknownOperation(
                    f"No Braket operation for {request.method} {request.rel_url.path}"
                )
            route, labels = match
            response = await self._serve(request, route, labels, operation, body)
        except (_Dropped, _ShuttingDown):
            # aiohttp needs a response object; the transport is already gone (or going).
            _drop_quietly(request)
            return web.Response(status=503)
        except ServiceError as err:
            self._ledger.record_error(operation, err.code)
            return _error_response(err, request_id)
        except Exception as exc:
            caller_fault = _caller_fault(exc)
            if caller_fault is None:
                _log.exception("local Braket: %s failed", operation)
                caller_fault = InternalServiceError(
                    "We encountered an internal error. Please try again."
                )
            else:
                # A 4xx all the same, but a check belongs earlier: keep the trace visible.
                _log.warning("local Braket: %s: unchecked bad input", operation, exc_info=True)
            self._ledger.record_error(operation, caller_fault.code)
            return _error_response(caller_fault, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    async def _authenticate(self, request: web.Request) -> bytes:
        # Browser check, SigV4 claims, size-limited body, content type, then the signature.
        refusal = browser_refusal(request.headers.get, bound_host(request))
        if refusal is not None:
            raise AccessDenied(refusal)
        received, signed = self._auth.check(request)
        # The handlers serve the devices of the region the request is signed for.
        REQUEST_REGION.set(signed.region)
        body = await read_body(request)
        check_json_content_type(request, body)
        self._auth.verify(received, signed, body)
        return body

    async def _serve(
        self,
        request: web.Request,
        route: Any,
        labels: dict[str, str],
        operation: str,
        raw: bytes,
    ) -> web.StreamResponse:
        faults = self._faults()
        fault = faults.draw(operation) if faults is not None else None
        # A request the fault throttles or drops is not admitted, so it takes no quota token
        # (a refused call takes nothing); one that fails inside the service or loses its
        # answer was admitted and took its token (see _faults).
        if fault not in NOT_ADMITTED and not self._quotas().try_acquire(operation):
            self._ledger.record_throttle(operation)
            raise Throttling()
        if faults is not None:
            delay = faults.latency_for(operation)
            if delay > 0:
                self._ledger.record_fault(operation, "latency")
                await self._latency(delay)
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
        body = parse_json_object(raw)
        query = {key: request.rel_url.query.getall(key) for key in request.rel_url.query}
        params = parse_request_params(route, labels, query, body)
        model = route.model
        check_request(model.input_shape, params)
        result = await self._handlers.get(operation)(params)
        if fault == "drop_after_effect":
            _drop(request)
        rendered = render_output(model.output_shape, result)
        return web.json_response(rendered, status=route.status)


def _drop_quietly(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def build_app(
    handlers: Handlers,
    controls: Controls,
    *,
    auth: BraketAuth,
    control_token: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    telemetry: Telemetry | None = None,
    region: str = "us-east-1",
    ecr: EcrService | None = None,
) -> web.Application:
    """The aiohttp application: ``/_local/*`` control routes, then every Braket route.

    ``auth`` verifies the SigV4 signature of every Braket request; ``control_token`` is the
    bearer token the control routes require. Quotas and faults are read through ``controls``
    per request, so the service's settings can change while it runs (from Python or over
    ``PUT /_local/...``). ``telemetry`` (default: none) gets a SERVER span per Braket request.
    ``region``: the service's region, priced in the offers file (``_price_list``) too.
    ``ecr`` answers ``POST /`` requests whose ``X-Amz-Target`` is ECR's (``_ecr``).
    """
    if len(control_token) < 16:
        raise ValueError("control_token must be at least 16 characters")
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_control_routes(app, controls, control_token)
    add_price_list_route(app, region)
    dispatcher = _Dispatcher(
        handlers,
        controls.ledger,
        controls.get_quotas,
        controls.get_faults,
        sleep,
        auth,
        telemetry or Telemetry.off(),
    )

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await dispatcher(request)

    async def cancel_latency(_app: web.Application) -> None:
        await dispatcher.close()

    app.on_shutdown.append(cancel_latency)
    if ecr is not None:
        ecr_service = ecr

        async def root_post(request: web.Request) -> web.StreamResponse:
            # ECR (AWS JSON 1.1) posts to "/", where Braket has no operation.
            if request.headers.get("X-Amz-Target", "").startswith(ECR_TARGET_PREFIX):
                return await ecr_service.handle(request)
            return await dispatcher(request)

        app.router.add_post("/", root_post)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
