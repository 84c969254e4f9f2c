"""OpenTelemetry spans and metrics, read back from the SDK's in-memory exporters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _common import SV1
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from braket_async import BraketSession, RateLimits, ResourceNotFoundException, Telemetry
from braket_async.local import LocalBraket
from tests._wire import Reply, wire_server
from tests.conftest import TEST_CREDENTIALS, TEST_REGION

NOT_FOUND = Reply(404, '{"message": "no"}', {"x-amzn-ErrorType": "ResourceNotFoundException"})


class Signals:
    """One session's telemetry, kept apart from every other test's."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
        )

    def finished(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return found


@pytest.fixture
def signals() -> Iterator[Signals]:
    yield Signals()


def session_on(endpoint_url: str, telemetry: Telemetry, **kwargs: Any) -> BraketSession:
    return BraketSession(
        endpoint_url=endpoint_url,
        region_name=TEST_REGION,
        telemetry=telemetry,
        **TEST_CREDENTIALS,
        **kwargs,
    )


@pytest.fixture
async def traced(local_braket: LocalBraket, signals: Signals) -> AsyncIterator[BraketSession]:
    async with session_on(
        local_braket.endpoint_url,
        signals.telemetry,
        s3_endpoint_url=local_braket.s3_endpoint_url,
    ) as session:
        yield session


async def test_one_call_is_one_client_span_with_aws_sdk_attributes(
    traced: BraketSession, signals: Signals
) -> None:
    await traced.get_device(SV1)

    (span,) = signals.finished("Braket.GetDevice")
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["rpc.system"] == "aws-api"
    assert attributes["rpc.service"] == "Braket"
    assert attributes["rpc.method"] == "GetDevice"
    assert attributes["http.response.status_code"] == 200
    assert len(str(attributes["aws.request_id"])) == 36  # the service's uuid4
    assert attributes["braket_async.attempts"] == 1
    assert attributes["braket_async.throttled_attempts"] == 0
    assert float(attributes["braket_async.limiter_wait_s"]) >= 0.0  # type: ignore[arg-type]
    assert span.status.status_code is StatusCode.UNSET

    (calls,) = signals.points("braket_async.calls")
    assert calls.value == 1
    assert dict(calls.attributes) == {"rpc.method": "GetDevice"}
    (wait,) = signals.points("braket_async.limiter.wait")
    assert wait.count == 1


async def test_a_failed_call_records_its_error_code(
    traced: BraketSession, signals: Signals
) -> None:
    missing = "arn:aws:braket:us-east-1:123456789012:quantum-task/does-not-exist"
    with pytest.raises(ResourceNotFoundException):
        await traced.get_quantum_task(missing)

    (span,) = signals.finished("Braket.GetQuantumTask")
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "ResourceNotFoundException"
    assert attributes["http.response.status_code"] == 404
    assert span.status.status_code is StatusCode.ERROR
    (calls,) = signals.points("braket_async.calls")
    assert dict(calls.attributes) == {
        "rpc.method": "GetQuantumTask",
        "error.type": "ResourceNotFoundException",
    }


async def test_a_throttled_then_successful_call_counts_both_attempts(signals: Signals) -> None:
    device = json.dumps(
        {
            "deviceArn": SV1,
            "deviceName": "SV1",
            "deviceType": "SIMULATOR",
            "deviceStatus": "ONLINE",
            "providerName": "Amazon Braket",
            "deviceCapabilities": "{}",
        }
    )
    replies = [
        Reply(429, '{"message": "slow down"}', {"x-amzn-ErrorType": "ThrottlingException"}),
        Reply(200, device, {"x-amzn-RequestId": "req-2"}),
    ]
    async with wire_server() as server:

        async def script(_request: Any) -> Any:
            from aiohttp import web

            reply = replies.pop(0)
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

        server.handler = script
        async with session_on(
            server.url, signals.telemetry, rate_limits=RateLimits.off()
        ) as session:
            await session.get_device(SV1)

    assert len(server.requests) == 2  # botocore retried the 429 inside one call
    (span,) = signals.finished("Braket.GetDevice")
    attributes = dict(span.attributes or {})
    assert attributes["braket_async.attempts"] == 2
    assert attributes["braket_async.throttled_attempts"] == 1
    assert attributes["aws.request_id"] == "req-2"
    (throttles,) = signals.points("braket_async.throttles")
    assert throttles.value == 1
    assert dict(throttles.attributes) == {"rpc.method": "GetDevice"}


async def test_the_trace_context_travels_in_the_request_headers(signals: Signals) -> None:
    async with wire_server() as server:
        server.reply = NOT_FOUND
        async with session_on(server.url, signals.telemetry) as session:
            with pytest.raises(ResourceNotFoundException):
                await session.get_device(SV1)

    (span,) = signals.finished("Braket.GetDevice")
    traceparent = server.headers[0]["traceparent"]
    assert traceparent.split("-")[1] == format(span.context.trace_id, "032x")
    assert traceparent.split("-")[2] == format(span.context.span_id, "016x")


async def test_telemetry_off_reports_nothing(local_braket: LocalBraket) -> None:
    off = Telemetry.off()
    assert not off.recording
    async with wire_server() as server:
        server.reply = NOT_FOUND
        async with session_on(server.url, off) as session:
            with pytest.raises(ResourceNotFoundException):
                await session.get_device(SV1)
    assert "traceparent" not in server.headers[0]


async def test_feature_spans_nest_the_calls_they_make(
    traced: BraketSession, signals: Signals
) -> None:
    with signals.telemetry.span("braket_async.test.parent", {"arn": SV1, "skip": None}) as parent:
        assert parent.is_recording()
        await traced.get_device(SV1)

    (outer,) = signals.finished("braket_async.test.parent")
    (call,) = signals.finished("Braket.GetDevice")
    assert dict(outer.attributes or {}) == {"arn": SV1}
    assert call.parent is not None and call.parent.span_id == outer.context.span_id


async def test_downloaded_results_are_counted_with_their_bytes(
    traced: BraketSession, signals: Signals, local_braket: LocalBraket
) -> None:
    arn = await traced.create_quantum_task(
        device_arn=SV1,
        action="OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;",
        shots=10,
        output_s3_bucket=local_braket.default_bucket,
        output_s3_key_prefix="telemetry",
    )
    task = await traced.wait_for_quantum_task(arn, timeout=60)
    await traced.get_quantum_task_result(arn)

    stored = await local_braket.objects.get_bytes(
        local_braket.default_bucket, f"{task.output_s3_directory}/results.json"
    )
    (downloaded,) = signals.points("braket_async.results.downloaded")
    (size,) = signals.points("braket_async.results.bytes")
    assert downloaded.value == 1
    assert size.value == len(stored) > 0


async def test_a_hybrid_job_upload_is_a_span_that_ends_before_create_job(
    traced: BraketSession, signals: Signals, local_braket: LocalBraket, tmp_path: Any
) -> None:
    script = tmp_path / "job.py"
    script.write_text("def main():\n    pass\n")
    await traced.create_hybrid_job(
        source_module=script,
        entry_point="job:main",
        device=SV1,
        job_name=f"telemetry-{tmp_path.name[-8:]}".replace("_", "-"),
        role_arn="arn:aws:iam::123456789012:role/braket-jobs",
        s3_bucket=local_braket.default_bucket,
    )

    (upload,) = signals.finished("braket_async.job.upload")
    (create,) = signals.finished("Braket.CreateJob")
    assert dict(upload.attributes or {})["job_name"].startswith("telemetry-")
    assert create.parent is None  # a sibling of the upload, not inside it
    assert upload.end_time is not None and create.start_time is not None
    assert upload.end_time <= create.start_time  # the upload happens before the create


async def test_a_failed_call_is_logged_at_debug_with_stable_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with wire_server() as server:
        server.reply = Reply(
            404,
            '{"message": "no such device"}',
            {"x-amzn-ErrorType": "ResourceNotFoundException", "x-amzn-RequestId": "req-9"},
        )
        async with session_on(server.url, Telemetry.off()) as session:
            with (
                caplog.at_level("DEBUG", logger="braket_async"),
                pytest.raises(ResourceNotFoundException),
            ):
                await session.get_device(SV1)

    (record,) = [r for r in caplog.records if r.name == "braket_async.session"]
    assert record.levelname == "DEBUG"
    assert record.__dict__["operation"] == "GetDevice"
    assert record.__dict__["error_code"] == "ResourceNotFoundException"
    assert record.__dict__["request_id"] == "req-9"


async def test_a_waiter_is_one_span_over_its_polls(
    traced: BraketSession, signals: Signals, local_braket: LocalBraket
) -> None:
    arn = await traced.create_quantum_task(
        device_arn=SV1,
        action="OPENQASM 3; qubit[1] q; bit[1] c; h q[0]; c = measure q;",
        shots=10,
        output_s3_bucket=local_braket.default_bucket,
        output_s3_key_prefix="telemetry",
    )
    await traced.wait_for_quantum_task(arn, timeout=60)

    (waiter,) = signals.finished("braket_async.wait_for_quantum_task")
    polls = signals.finished("Braket.GetQuantumTask")
    assert dict(waiter.attributes or {}) == {
        "braket_async.arn": arn,
        "braket_async.status": "COMPLETED",
        "braket_async.events": False,
    }
    assert polls and all(
        p.parent is not None and p.parent.span_id == waiter.context.span_id for p in polls
    )


async def test_tracker_sweeps_are_spans_and_tracked_tasks_a_gauge(
    traced: BraketSession,
    signals: Signals,
    local_braket: LocalBraket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    arns = [
        await traced.create_quantum_task(
            device_arn=SV1,
            action="OPENQASM 3; qubit[1] q; bit[1] c; h q[0]; c = measure q;",
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="telemetry",
        )
        for _ in range(3)
    ]
    tracker = traced.track()
    for arn in arns:
        tracker.add(arn, device_arn=SV1, just_created=True)
    (gauge,) = signals.points("braket_async.tracker.tasks")  # read while the tasks are pending
    assert gauge.value == 3
    with caplog.at_level("INFO", logger="braket_async.tracking"):
        async with tracker:
            await tracker.wait_all(details=False)

    sweeps = signals.finished("braket_async.tracker.sweep")
    assert sweeps
    assert {dict(s.attributes or {})["braket_async.sweep"] for s in sweeps} <= {
        "window",
        "arn",
        "locate",
        "get",
    }
    calls = [
        s for s in signals.spans.get_finished_spans() if s.name.startswith("Braket.")
        and s.name != "Braket.CreateQuantumTask"
    ]
    sweep_ids = {s.context.span_id for s in sweeps}
    assert calls and all(c.parent is not None and c.parent.span_id in sweep_ids for c in calls)
    started, stopped = (r for r in caplog.records if r.name == "braket_async.tracking")
    assert started.getMessage().startswith("tracker started: 3 tasks pending")
    assert stopped.getMessage().startswith("tracker stopped: 0 tasks pending")


async def test_the_local_service_span_continues_the_client_trace(
    make_local: Any, signals: Signals
) -> None:
    local: LocalBraket = await make_local(telemetry=signals.telemetry)
    async with session_on(local.endpoint_url, signals.telemetry) as session:
        await session.get_device(SV1)

    (client,) = signals.finished("Braket.GetDevice")
    (server,) = signals.finished("Braket.GetDevice (local service)")
    assert server.kind is SpanKind.SERVER
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    attributes = dict(server.attributes or {})
    assert attributes["rpc.method"] == "GetDevice"
    assert attributes["http.response.status_code"] == 200
    assert attributes["aws.request_id"] == dict(client.attributes or {})["aws.request_id"]


async def test_a_batch_is_one_span_with_item_counters_and_two_log_lines(
    traced: BraketSession,
    signals: Signals,
    local_braket: LocalBraket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = "OPENQASM 3; qubit[1] q; bit[1] c; x q[0]; c = measure q;"
    with caplog.at_level("INFO", logger="braket_async.batch"):
        async with traced.submit_batch(
            [good] * 4 + ["OPENQASM 3; qubit[1] q; nonsense q[0];"],
            device_arn=SV1,
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="telemetry-batch",
            details=False,
        ) as batch:
            outcomes = await batch.wait()

    assert sum(o.ok for o in outcomes) == 4
    (span,) = signals.finished("braket_async.batch")
    attributes = dict(span.attributes or {})
    assert attributes["braket_async.batch_id"] == batch.batch_id
    assert attributes["braket_async.items"] == 5
    creates = signals.finished("Braket.CreateQuantumTask")
    assert len(creates) == 5
    assert all(c.context.trace_id == span.context.trace_id for c in creates)
    points = signals.points("braket_async.batch.items")
    items = {dict(p.attributes)["state"]: p.value for p in points}
    assert items == {"submitted": 5, "completed": 4, "failed": 1}
    started, ended = (r for r in caplog.records if r.name == "braket_async.batch")
    assert started.__dict__["batch_id"] == batch.batch_id and started.__dict__["items"] == 5
    assert ended.getMessage() == (
        f"batch {batch.batch_id} ended: 5 submitted, 4 completed, 1 failed, 0 not submitted"
    )


def test_global_providers_are_looked_at_most_once_a_second_until_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from braket_async import telemetry as module

    now = [100.0]
    looks = []
    real: list[object] = []

    class ProxyTracerProvider:  # the API's placeholder, by name
        pass

    class SdkProvider:
        pass

    def tracer_provider() -> object:
        looks.append(now[0])
        return real[0] if real else ProxyTracerProvider()

    monkeypatch.setattr(module, "_monotonic", lambda: now[0])
    monkeypatch.setattr(module._otel_trace, "get_tracer_provider", tracer_provider)
    monkeypatch.setattr(module._otel_metrics, "get_meter_provider", ProxyTracerProvider)
    telemetry = Telemetry()
    assert [telemetry.recording for _ in range(50)] == [False] * 50
    assert looks == [100.0]
    now[0] += module.GLOBAL_RECHECK_INTERVAL
    real.append(SdkProvider())  # an SDK provider is set: seen at the next look, for good
    assert telemetry.recording and telemetry.recording
    assert looks == [100.0, 101.0]
    real.clear()
    now[0] += 10
    assert telemetry.recording and len(looks) == 2
