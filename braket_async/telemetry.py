"""OpenTelemetry traces and metrics for braket-async, free when nobody is listening.

Install the ``otel`` extra (``opentelemetry-api``) and configure an OpenTelemetry SDK as usual;
every :class:`~braket_async.BraketSession` then reports:

Traces
    One CLIENT span per Braket operation call, named ``Braket.<Operation>`` and attributed by the
    semantic conventions for AWS SDK calls (``rpc.system=aws-api``, ``rpc.service=Braket``,
    ``rpc.method``, ``aws.request_id``, ``http.response.status_code``, ``error.type``), so it
    joins what botocore's own instrumentation would produce, plus ``braket_async.attempts``,
    ``braket_async.throttled_attempts`` and ``braket_async.limiter_wait_s``. Instrumentation
    below the call (botocore, aiohttp) is suppressed while it runs, so turning those on as
    well gives no double spans. The trace context travels in the request headers (after
    signing: SigV4 does not cover it), so a local Braket service in the same trace shows its
    server span under the client's. Waiters, tracker sweeps, batches and hybrid-job uploads
    open INTERNAL parent spans with :meth:`Telemetry.span`.
Metrics (meter ``braket_async``)
    ``braket_async.calls`` and ``braket_async.throttles`` (by ``rpc.method``, and ``error.type``
    for failed calls), the histogram ``braket_async.limiter.wait`` (s),
    ``braket_async.batch.items`` (by ``state``: submitted, completed, failed),
    ``braket_async.results.downloaded`` and ``braket_async.results.bytes``, and the observable
    gauge ``braket_async.tracker.tasks`` (tracked tasks by ``status``).

With no OpenTelemetry installed, or none configured (the API's proxy providers still in place),
a call costs one identity check: ``Telemetry.recording`` is false and nothing is created.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import attrs

__all__ = [
    "GLOBAL_RECHECK_INTERVAL",
    "CallRecord",
    "Telemetry",
    "TrackedCounts",
    "current_call",
]

try:  # the ``otel`` extra
    from opentelemetry import context as _otel_context
    from opentelemetry import metrics as _otel_metrics
    from opentelemetry import propagate as _otel_propagate
    from opentelemetry import trace as _otel_trace

    _HAVE_OTEL = True
except ImportError:  # pragma: no cover - exercised in environments without the extra
    _HAVE_OTEL = False

SCOPE = "braket_async"
GLOBAL_RECHECK_INTERVAL = 1.0
"""Seconds between looks at OpenTelemetry's global providers while none is set."""
_monotonic = time.monotonic  # the clock of those looks (tests replace it)
_SERVICE = "Braket"


class TrackedCounts(Protocol):
    """What the tracked-tasks gauge reads: a tracker's tasks by status."""

    def status_counts(self) -> dict[str, int]:
        """The number of tracked tasks by status."""
        ...


class CallRecord:
    """What one operation call learned on its way: attempts, throttles, limiter wait.

    Args:
        operation: The operation's model name.
    """

    __slots__ = ("attempts", "limiter_wait", "operation", "request_id", "status_code", "throttled")

    def __init__(self, operation: str) -> None:
        self.operation = operation
        #: Attempts that got a response (botocore retries inside one call).
        self.attempts = 0
        self.throttled = 0
        self.limiter_wait = 0.0
        #: The last response's request id and HTTP status.
        self.request_id: str | None = None
        self.status_code: int | None = None


_CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "braket_async_current_call", default=None
)


def current_call() -> CallRecord | None:
    """The record of the operation call running in this context, if telemetry is recording."""
    return _CURRENT_CALL.get()


@attrs.frozen(eq=False)
class Telemetry:
    """Where a session sends its spans and metrics.

    ``Telemetry()`` (the default) uses OpenTelemetry's global tracer and meter providers, i.e.
    whatever the application configured. Pass providers to keep one session's signals apart
    (tests do). ``Telemetry.off()`` reports nothing even when a global SDK is configured.
    Without the ``otel`` extra ``Telemetry()`` reports nothing, and a provider given raises
    ImportError naming ``pip install 'braket-async[otel]'``.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    enabled: bool = True
    _state: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Without the API, providers given on purpose would be ignored without a word.
        if not _HAVE_OTEL and (self.tracer_provider or self.meter_provider) is not None:
            raise ImportError(
                "Telemetry with a tracer or meter provider needs the 'otel' extra "
                "(opentelemetry-api): pip install 'braket-async[otel]'"
            )

    @classmethod
    def off(cls) -> Telemetry:
        """Report nothing."""
        return cls(enabled=False)

    # -- whether anything listens ------------------------------------------------------------

    @property
    def recording(self) -> bool:
        """Whether spans or metrics would go anywhere (cheap: checked on every call).

        OpenTelemetry's global providers are set once per process: once one is set this is
        True for good; until then they are looked at again at most every
        :data:`GLOBAL_RECHECK_INTERVAL` seconds (looking costs more than a cached answer, on
        every call).
        """
        if not (self.enabled and _HAVE_OTEL):
            return False
        if self.tracer_provider is not None or self.meter_provider is not None:
            return True
        state = self._state
        if state.get("global_recording"):
            return True
        now = _monotonic()
        if now < state.get("global_recheck_at", -math.inf):
            return False
        recording = not (
            _is_proxy(_otel_trace.get_tracer_provider())
            and _is_proxy(_otel_metrics.get_meter_provider())
        )
        if recording:
            state["global_recording"] = True
        else:
            state["global_recheck_at"] = now + GLOBAL_RECHECK_INTERVAL
        return recording

    # -- instruments (made once per Telemetry, on first use) ----------------------------------

    def _instruments(self) -> dict[str, Any]:
        made = self._state.get("instruments")
        if made is None:
            made = self._state["instruments"] = _make_instruments(self)
        return made

    def _tracer(self) -> Any:
        tracer = self._state.get("tracer")
        if tracer is None:
            from . import __version__

            provider = self.tracer_provider or _otel_trace.get_tracer_provider()
            tracer = self._state["tracer"] = provider.get_tracer(SCOPE, __version__)
        return tracer

    # -- operation calls ---------------------------------------------------------------------

    @contextlib.contextmanager
    def operation(self, operation: str) -> Iterator[CallRecord]:
        """Span and metrics for one Braket operation call (use only when ``recording``).

        The body fills the record (limiter wait) and calls :meth:`succeeded` or lets a
        :class:`~braket_async.errors.BraketError` out; both end the span.

        Args:
            operation: The operation's model name.

        Yields:
            The call's record, for the body to fill.
        """
        record = CallRecord(operation)
        if _otel_context.get_value(_otel_context._SUPPRESS_INSTRUMENTATION_KEY):
            yield record  # an outer instrumentation owns this call
            return
        tracer = self._tracer()
        span = tracer.start_span(
            f"{_SERVICE}.{operation}",
            kind=_otel_trace.SpanKind.CLIENT,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": _SERVICE,
                "rpc.method": operation,
            },
        )
        ctx = _otel_trace.set_span_in_context(span)
        # Instrumentation below us (botocore, aiohttp) would only repeat this span.
        ctx = _otel_context.set_value(_otel_context._SUPPRESS_INSTRUMENTATION_KEY, True, ctx)
        ctx = _otel_context.set_value(_otel_context._SUPPRESS_HTTP_INSTRUMENTATION_KEY, True, ctx)
        ctx_token = _otel_context.attach(ctx)
        record_token = _CURRENT_CALL.set(record)
        error: BaseException | None = None
        try:
            yield record
        except BaseException as exc:
            error = exc
            raise
        finally:
            _CURRENT_CALL.reset(record_token)
            _otel_context.detach(ctx_token)
            self._end_call(span, record, error)

    def _end_call(self, span: Any, record: CallRecord, error: BaseException | None) -> None:
        instruments = self._instruments()
        labels: dict[str, str] = {"rpc.method": record.operation}
        error_type = _error_type(error) if error is not None else None
        status = getattr(error, "status_code", None) or record.status_code
        request_id = getattr(error, "request_id", None) or record.request_id
        if span.is_recording():
            span.set_attribute("braket_async.attempts", max(record.attempts, 1))
            span.set_attribute("braket_async.throttled_attempts", record.throttled)
            span.set_attribute("braket_async.limiter_wait_s", record.limiter_wait)
            if isinstance(status, int):
                span.set_attribute("http.response.status_code", status)
            if request_id:
                span.set_attribute("aws.request_id", request_id)
            if error_type is not None:
                span.set_attribute("error.type", error_type)
                code = getattr(error, "code", None)
                if code:
                    span.set_attribute("aws.error.code", str(code))
                span.set_status(_otel_trace.StatusCode.ERROR, str(error)[:200])
        span.end()
        if error_type is not None:
            labels["error.type"] = error_type
        instruments["calls"].add(1, labels)
        if record.throttled:
            instruments["throttles"].add(record.throttled, {"rpc.method": record.operation})
        instruments["limiter_wait"].record(record.limiter_wait, {"rpc.method": record.operation})

    # -- parent spans and counters for the features -------------------------------------------

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """An INTERNAL span around a feature's work (a waiter, a sweep, a batch, an upload).

        Yields the span (a non-recording one when telemetry is off).

        Args:
            name: The span's name.
            attributes: The span's attributes (``None`` values are left out).

        Yields:
            The span.
        """
        if not self.recording:
            yield _NO_SPAN
            return
        attrs_ = {k: v for k, v in (attributes or {}).items() if v is not None}
        with self._tracer().start_as_current_span(
            name, kind=_otel_trace.SpanKind.INTERNAL, attributes=attrs_
        ) as span:
            yield span

    @contextlib.contextmanager
    def server_span(self, name: str, headers: Mapping[str, str]) -> Iterator[Any]:
        """A SERVER span for one request a local Braket service answers, continuing the
        trace whose context ``headers`` carry (the client span's, when traced).

        Args:
            name: The span's name.
            headers: The request's headers (the trace context).

        Yields:
            The span.
        """
        if not self.recording:
            yield _NO_SPAN
            return
        with self._tracer().start_as_current_span(
            name,
            context=_otel_propagate.extract(headers),
            kind=_otel_trace.SpanKind.SERVER,
            attributes={"rpc.system": "aws-api", "rpc.service": _SERVICE},
        ) as span:
            yield span

    def count(self, name: str, value: int = 1, attributes: Mapping[str, str] | None = None) -> None:
        """Add to one of the feature counters (``batch_items``, ``results``, ``result_bytes``).

        Args:
            name: The counter's name.
            value: The amount to add.
            attributes: The data point's attributes.
        """
        if self.recording:
            self._instruments()[name].add(value, dict(attributes or {}))

    def watch_tracker(self, tracker: TrackedCounts) -> None:
        """Count ``tracker``'s tasks in the ``braket_async.tracker.tasks`` gauge while it lives.

        Args:
            tracker: The tracker to count (held weakly).
        """
        trackers: weakref.WeakSet[Any] = self._state.setdefault("trackers", weakref.WeakSet())
        trackers.add(tracker)
        if self.recording:
            self._instruments()  # the gauge's callback exists from now on

    def tracked_counts(self) -> dict[str, int]:
        """Tracked tasks by status, over every live tracker this telemetry watches."""
        totals: dict[str, int] = {}
        for tracker in list(self._state.get("trackers", ())):
            for status, n in tracker.status_counts().items():
                totals[status] = totals.get(status, 0) + n
        return totals

    # -- the botocore side ---------------------------------------------------------------------

    def register(self, events: Any, service: str = "braket") -> None:
        """Hook an aiobotocore client's events: count attempts and throttles of the current
        call, and carry the trace context in the request headers.

        Args:
            events: The client's ``meta.events``.
            service: The botocore service name whose calls to hook.
        """

        def on_response(parsed_response: Mapping[str, Any] | None = None, **_: Any) -> None:
            record = _CURRENT_CALL.get()
            if record is None:
                return
            record.attempts += 1
            error = (parsed_response or {}).get("Error")
            if error and error.get("Code") == "ThrottlingException":
                record.throttled += 1
            metadata = (parsed_response or {}).get("ResponseMetadata") or {}
            record.request_id = metadata.get("RequestId") or record.request_id
            record.status_code = metadata.get("HTTPStatusCode") or record.status_code

        def before_send(request: Any = None, **_: Any) -> None:
            if request is not None and _CURRENT_CALL.get() is not None:
                _otel_propagate.inject(request.headers)

        if _HAVE_OTEL and self.enabled:
            events.register(f"response-received.{service}", on_response)
            events.register(f"before-send.{service}", before_send)


class _NoSpan:
    """What :meth:`Telemetry.span` yields when nothing records."""

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def update_name(self, name: str) -> None:
        pass

    def is_recording(self) -> bool:
        return False


_NO_SPAN = _NoSpan()


def _is_proxy(provider: object) -> bool:
    # The API's placeholders until an SDK provider is set: nothing would record.
    return type(provider).__name__ in {"ProxyTracerProvider", "_ProxyMeterProvider"}


def _error_type(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return str(code) if code else type(error).__name__


def _make_instruments(telemetry: Telemetry) -> dict[str, Any]:
    from . import __version__

    provider = telemetry.meter_provider or _otel_metrics.get_meter_provider()
    meter = provider.get_meter(SCOPE, __version__)

    def observe_tracked(_options: Any) -> Iterator[Any]:
        for status, n in telemetry.tracked_counts().items():
            yield _otel_metrics.Observation(n, {"status": status})

    callbacks: list[Callable[[Any], Any]] = [observe_tracked]
    return {
        "calls": meter.create_counter(
            "braket_async.calls", unit="{call}", description="Braket operation calls"
        ),
        "throttles": meter.create_counter(
            "braket_async.throttles",
            unit="{attempt}",
            description="throttled attempts (HTTP 429), including those retried by botocore",
        ),
        "limiter_wait": meter.create_histogram(
            "braket_async.limiter.wait",
            unit="s",
            description="time a call waited in the session's rate limiter",
        ),
        "batch_items": meter.create_counter(
            "braket_async.batch.items", unit="{item}", description="batch items by state"
        ),
        "results": meter.create_counter(
            "braket_async.results.downloaded", unit="{result}", description="results downloaded"
        ),
        "result_bytes": meter.create_counter(
            "braket_async.results.bytes", unit="By", description="result bytes downloaded"
        ),
        "tracked": meter.create_observable_gauge(
            "braket_async.tracker.tasks",
            callbacks=callbacks,
            unit="{task}",
            description="tasks followed by live trackers, by status",
        ),
    }
