"""An example FastAPI service on braket-async.

It submits batches of circuits in the background, reports batch and task status, and streams
task completions and hybrid-job events as Server-Sent Events::

    POST /batches                 {"n": 500, "kind": "ghz"|"random"|"mixed", "shots": 100}
    GET  /batches/{id}            counts, done, and each task's ARN and last status
    GET  /batches/{id}/events     SSE: one "task" event per finished task, then "done"
    DELETE /batches/{id}          cancel the batch's tasks on the service; its state (200)
    GET  /tasks/{arn}             one task (GetQuantumTask)
    GET  /results/{arn}           a completed task's measurement counts
    GET  /jobs/{arn}/events       SSE: each hybrid-job event once, until the job ends
    GET  /ping                    a trivial endpoint (the loop-responsiveness benchmark hits it)

Run it against an embedded local Braket service (no AWS account needed)::

    BRAKET_LOCAL=1 python examples/fastapi_service.py          # http://127.0.0.1:8000/docs

or against any endpoint with the usual AWS settings (``AWS_ENDPOINT_URL_BRAKET``,
``AWS_ENDPOINT_URL_S3``, ``AWS_DEFAULT_REGION``, credentials) plus ``BRAKET_OUTPUT_BUCKET``.
Settings (environment): ``BRAKET_LOCAL``, ``BRAKET_DEVICE_ARN``, ``BRAKET_OUTPUT_BUCKET``,
``BRAKET_OUTPUT_PREFIX``, ``BRAKET_SHOTS``, ``BRAKET_RATE_SCALE`` (client rate limits for raised
quotas), ``BRAKET_ASYNC_REDIS_URL`` / ``BRAKET_ASYNC_REDIS_KEY`` (share the quotas through
Redis; the key names the account and region; batches then live in Redis too),
``BRAKET_ASYNC_CLAIM_IDLE`` (seconds before the other workers take over a dead worker's share
of a batch), ``HOST``, ``PORT``.

Several worker processes share the account's quotas through Redis (``pip install
'braket-async[redis]'``; a local service started on its own, not ``BRAKET_LOCAL``)::

    braket-async local serve --port 8080 &
    export AWS_ENDPOINT_URL_BRAKET=http://127.0.0.1:8080 AWS_ENDPOINT_URL_S3=<its s3_endpoint_url>
    export AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export BRAKET_OUTPUT_BUCKET=amazon-braket-local
    export BRAKET_ASYNC_REDIS_URL=redis://127.0.0.1:6379/0 BRAKET_ASYNC_REDIS_KEY=local:us-east-1
    uvicorn --app-dir examples fastapi_service:app --workers 4

With ``BRAKET_ASYNC_REDIS_URL`` the batches live in Redis too
(:class:`~braket_async.batch_redis.RedisBatchStore`): every worker takes part in every batch,
any worker answers ``/batches/{id}``, its event stream (an SSE client resumes with
``Last-Event-ID``, the outcome's position) and DELETE, and a batch goes on when the worker
that accepted it dies. Without Redis a batch lives in the worker that accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from braket_async import RateLimits
from braket_async.batch import Batch, BatchOptions, BatchOutcome
from braket_async.contrib.fastapi import BackgroundDep, BraketDep, BraketLifespan
from braket_async.errors import BraketError, ParameterError, ServiceError
from braket_async.ratelimit import SharedQuota
from braket_async.tracking import SweepPolicy, TrackerOptions

__all__ = ["BatchRecord", "EventLog", "Settings", "SharedBatches", "app", "create_app"]

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
HEARTBEAT_SECONDS = 15.0


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the service reaches Braket; :meth:`from_env` reads them from the environment."""

    endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    region_name: str | None = None
    device_arn: str = SV1
    bucket: str | None = None
    prefix: str = "fastapi-service"
    shots: int = 100
    rate_scale: float = 1.0
    redis_url: str | None = None
    redis_key: str = "default"
    local: bool = False
    max_batch: int = 10_000
    #: concurrent creates per batch (None: 16, times ``rate_scale`` when it is larger)
    max_in_flight: int | None = None
    #: seconds before the workers take over a dead worker's share of a Redis batch
    claim_idle: float = 30.0
    local_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from ``BRAKET_*`` variables (AWS_* ones are read by the session itself)."""
        return cls(
            device_arn=environ.get("BRAKET_DEVICE_ARN", SV1),
            bucket=environ.get("BRAKET_OUTPUT_BUCKET"),
            prefix=environ.get("BRAKET_OUTPUT_PREFIX", "fastapi-service"),
            shots=int(environ.get("BRAKET_SHOTS", "100")),
            rate_scale=float(environ.get("BRAKET_RATE_SCALE", "1")),
            redis_url=environ.get("BRAKET_ASYNC_REDIS_URL") or None,
            redis_key=environ.get("BRAKET_ASYNC_REDIS_KEY", "default"),
            claim_idle=float(environ.get("BRAKET_ASYNC_CLAIM_IDLE", "30")),
            local=environ.get("BRAKET_LOCAL", "") not in ("", "0", "false"),
        )


class EventLog:
    """An append-only list of events that any number of readers follow from any point.

    Each reader sees every event exactly once, in order (the event's index is its SSE ``id``,
    so a reconnecting client resumes with ``Last-Event-ID``).
    """

    def __init__(self) -> None:
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._closed = False
        self._changed = asyncio.Event()

    def append(self, kind: str, data: dict[str, Any]) -> None:
        """Add an event and wake the readers."""
        if self._closed:
            raise RuntimeError("the event log is closed")
        self._events.append((kind, data))
        self._wake()

    def close(self) -> None:
        """No more events: readers end after the last one."""
        self._closed = True
        self._wake()

    def __len__(self) -> int:
        return len(self._events)

    async def follow(
        self, start: int = 0, *, heartbeat: float | None = None
    ) -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
        """Yield ``(index, kind, data)`` from ``start`` on until closed; ``None`` as a heartbeat
        after ``heartbeat`` idle seconds."""
        index = max(0, start)
        while True:
            while index < len(self._events):
                kind, data = self._events[index]
                yield index, kind, data
                index += 1
            if self._closed:
                return
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except TimeoutError:
                yield None

    def _wake(self) -> None:
        # A fresh Event per change: readers waiting on the old one all wake, none miss a change.
        self._changed.set()
        self._changed = asyncio.Event()


@dataclasses.dataclass
class BatchRecord:
    """What the service remembers about one batch, for later requests."""

    batch_id: str
    size: int
    created_at: float
    events: EventLog = dataclasses.field(default_factory=EventLog)
    statuses: dict[int, str] = dataclasses.field(default_factory=dict)
    #: items never created: ``SUBMIT_FAILED`` (the create failed) or ``NOT_SUBMITTED`` (a
    #: cancel kept it from being sent)
    unsent: dict[int, str] = dataclasses.field(default_factory=dict)
    errors: dict[int, str] = dataclasses.field(default_factory=dict)
    done: bool = False
    batch: Batch | None = None

    def counts(self) -> dict[str, int]:
        """Items per state: ``UNSUBMITTED`` (not created yet), ``PENDING`` (created, not
        finished), the terminal statuses, ``SUBMIT_FAILED`` (its create failed) and
        ``NOT_SUBMITTED`` (a cancel kept it from being sent)."""
        created = len(self.batch.task_arns) if self.batch is not None else 0
        finished = len(self.statuses)
        counts: dict[str, int] = {
            "UNSUBMITTED": self.size - max(created, finished) - len(self.unsent),
            "PENDING": max(0, created - finished),
        }
        for status in (*self.statuses.values(), *self.unsent.values()):
            counts[status] = counts.get(status, 0) + 1
        return {k: v for k, v in counts.items() if v}

    def finished(self, index: int, arn: str, status: str, failure_reason: str | None) -> None:
        """A task reached a terminal state: record it and publish one ``task`` event."""
        if self.statuses.get(index) in TERMINAL:
            return  # already reported: each task is reported exactly once
        self.statuses[index] = status
        self.events.append(
            "task",
            {"index": index, "arn": arn, "status": status, "failure_reason": failure_reason},
        )

    def summary(self, *, with_tasks: bool) -> dict[str, Any]:
        """The JSON body of ``GET /batches/{id}``."""
        body: dict[str, Any] = {
            "batch_id": self.batch_id,
            "size": self.size,
            "done": self.done,
            "counts": self.counts(),
            "elapsed": round(time.monotonic() - self.created_at, 3),
        }
        if with_tasks:
            arns = self.batch.task_arns if self.batch is not None else {}
            body["tasks"] = [
                {
                    "index": i,
                    "arn": arns.get(i),
                    "status": self.statuses.get(i)
                    or self.unsent.get(i)
                    or ("PENDING" if i in arns else None),
                    "error": self.errors.get(i),
                }
                for i in range(self.size)
            ]
        return body


class BatchRequest(BaseModel):
    """``POST /batches`` body: ``n`` generated circuits, or your own OpenQASM 3 ``programs``."""

    n: int = Field(default=1, ge=1, description="how many circuits")
    programs: list[str] | None = Field(default=None, description="OpenQASM 3 sources to run")
    kind: Literal["ghz", "random", "mixed"] = "mixed"
    qubits: int = Field(default=3, ge=2, le=12)
    shots: int | None = Field(default=None, ge=1, le=100_000)
    seed: int | None = None


def ghz(qubits: int) -> str:
    """OpenQASM 3 for a GHZ state: measures all zeros or all ones, ~50/50."""
    gates = ["h q[0];", *(f"cnot q[{i}], q[{i + 1}];" for i in range(qubits - 1))]
    return _program(qubits, gates)


def random_circuit(qubits: int, depth: int, rng: random.Random) -> str:
    """OpenQASM 3 for ``depth`` layers of random rotations, each followed by a CNOT."""
    gates: list[str] = []
    for _ in range(depth):
        for q in range(qubits):
            gates.append(f"r{rng.choice('xyz')}({rng.uniform(0, 6.283):.4f}) q[{q}];")
        control, target = rng.sample(range(qubits), 2)
        gates.append(f"cnot q[{control}], q[{target}];")
    return _program(qubits, gates)


def _program(qubits: int, gates: list[str]) -> str:
    lines = ["OPENQASM 3;", f"qubit[{qubits}] q;", f"bit[{qubits}] c;", *gates, "c = measure q;"]
    return "\n".join(lines)


def circuits(request: BatchRequest) -> list[str]:
    """The OpenQASM 3 sources a batch request asks for."""
    if request.programs is not None:
        return list(request.programs)
    rng = random.Random(request.seed)
    sources: list[str] = []
    for i in range(request.n):
        use_ghz = request.kind == "ghz" or (request.kind == "mixed" and i % 2 == 0)
        sources.append(ghz(request.qubits) if use_ghz else random_circuit(request.qubits, 4, rng))
    return sources


async def run_batch(record: BatchRecord, batch: Batch) -> None:
    """Follow ``batch`` to the end, publishing each task once when it is terminal.

    ``submit_batch`` paces the creates at the quota and tracks the created tasks with one
    TaskTracker; each item's outcome arrives once, when its task is terminal.
    """
    try:
        async with batch:
            async for outcome in batch:
                state = outcome.final_state  # the full task, or its search summary
                if state is not None:  # the task ran: COMPLETED, FAILED or CANCELLED
                    record.finished(
                        outcome.index,
                        state.quantum_task_arn,
                        str(state.status),
                        # failed and cancelled tasks always come with the full task
                        outcome.task.failure_reason if outcome.task is not None else None,
                    )
                else:  # never created: its create failed, or a cancel came first
                    state = str(outcome.state)  # SUBMIT_FAILED or NOT_SUBMITTED
                    record.unsent[outcome.index] = state
                    record.errors[outcome.index] = str(outcome.error)
                    record.events.append(
                        "error" if state == "SUBMIT_FAILED" else "not_submitted",
                        {"index": outcome.index, "status": state, "error": str(outcome.error)},
                    )
    finally:
        record.done = True
        record.events.append("done", {"counts": record.counts()})
        record.events.close()


class SharedBatches:
    """The batches of a Redis batch store, as this worker takes part in them.

    :meth:`run` joins every batch of the store that is not finished (so a batch goes on
    when the worker that accepted it dies); :meth:`get` finds one for a request, attaching
    (read-only) to a finished one.
    """

    def __init__(self, store: Any, braket: Any, options: BatchOptions) -> None:
        self.store = store
        self._braket = braket
        self._options = options
        self.batches: dict[str, Batch] = {}
        self._runs: set[asyncio.Task[Any]] = set()

    def adopt(self, batch: Batch) -> None:
        """Keep ``batch`` (submitted or joined here) and run it to its end."""
        assert batch.batch_id is not None
        self.batches[batch.batch_id] = batch
        task = asyncio.ensure_future(self._finish(batch))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _finish(self, batch: Batch) -> None:
        with contextlib.suppress(BraketError):
            await batch.wait()

    async def run(self, interval: float = 0.5) -> None:
        """Join the store's unfinished batches as they appear (until cancelled)."""
        try:
            while True:
                for batch_id in await self.store.active_batches():
                    if batch_id not in self.batches:
                        with contextlib.suppress(ParameterError):  # finished and gone
                            self.adopt(
                                await self._braket.attach_batch(
                                    batch_id, store=self.store, options=self._options
                                )
                            )
                await asyncio.sleep(interval)
        finally:
            for task in self._runs:
                task.cancel()
            for batch in list(self.batches.values()):
                await batch.aclose()

    async def get(self, batch_id: str) -> Batch:
        """The batch ``batch_id`` (404 when the store has none)."""
        batch = self.batches.get(batch_id)
        if batch is None:
            try:
                batch = await self._braket.attach_batch(
                    batch_id, store=self.store, take_part=False, options=self._options
                )
            except ParameterError:
                raise HTTPException(404, f"no batch {batch_id!r}") from None
            self.adopt(batch)
        return batch


def shared_summary(batch: Batch, *, with_tasks: bool) -> dict[str, Any]:
    """``GET /batches/{id}`` of a batch in Redis (the counts every worker reads)."""
    p = batch.progress
    counts = {
        "UNSUBMITTED": p.total - p.submitted - p.submit_failed - p.not_submitted,
        "PENDING": p.pending,
        "COMPLETED": p.completed,
        "FAILED": p.failed,
        "CANCELLED": p.cancelled,
        "SUBMIT_FAILED": p.submit_failed,
        "NOT_SUBMITTED": p.not_submitted,
    }
    body: dict[str, Any] = {
        "batch_id": batch.batch_id,
        "size": p.total,
        "done": p.finished,
        "counts": {k: v for k, v in counts.items() if v},
        "worker": os.getpid(),
    }
    if with_tasks:
        arns = batch.task_arns
        body["tasks"] = [{"index": i, "arn": arns.get(i)} for i in range(p.total)]
    return body


def outcome_event(outcome: BatchOutcome) -> tuple[str, str, dict[str, Any]]:
    """An outcome as an SSE event: its position (the event id), kind and data."""
    position = outcome.position or ""
    if outcome.task_arn is not None and outcome.status is not None:
        reason = outcome.task.failure_reason if outcome.task is not None else None
        data = {
            "index": outcome.index, "arn": outcome.task_arn, "status": str(outcome.status),
            "failure_reason": reason,
        }  # fmt: skip
        return position, "task", data
    return position, "error", {"index": outcome.index, "error": str(outcome.error)}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service, configured by ``settings`` (default: :meth:`Settings.from_env`)."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.AsyncExitStack() as stack:
            config = settings
            if settings.local:
                from braket_async.local import LocalBraket

                local = await stack.enter_async_context(LocalBraket(**settings.local_options))
                config = dataclasses.replace(
                    settings,
                    endpoint_url=local.endpoint_url,
                    s3_endpoint_url=local.s3_endpoint_url,
                    region_name=settings.region_name or "us-east-1",
                    bucket=settings.bucket or local.default_bucket,
                )
            # The embedded local service verifies SigV4 with its own credentials; elsewhere the
            # usual AWS settings apply.
            key_id, secret = local.credentials if settings.local else (None, None)
            braket_state = await stack.enter_async_context(
                BraketLifespan(
                    endpoint_url=config.endpoint_url,
                    s3_endpoint_url=config.s3_endpoint_url,
                    region_name=config.region_name,
                    rate_limits=RateLimits.aws_defaults(
                        scale=config.rate_scale, shared=_shared_quota(config)
                    ),
                    aws_access_key_id=key_id,
                    aws_secret_access_key=secret,
                )(app)
            )
            app.state.settings = config
            app.state.shared = None
            if config.redis_url is not None:
                from braket_async.batch_redis import RedisBatchStore

                shared = SharedBatches(
                    RedisBatchStore(config.redis_url, claim_idle=config.claim_idle),
                    braket_state["braket"],
                    _batch_options(config, None),
                )
                app.state.shared = shared
                joining = asyncio.ensure_future(shared.run())
                stack.push_async_callback(_cancelled, joining)
            yield {**braket_state, "settings": config}

    app = FastAPI(title="braket-async example service", lifespan=lifespan)

    @app.exception_handler(BraketError)
    async def braket_error(request: Request, exc: BraketError) -> JSONResponse:
        status = 502
        if isinstance(exc, ParameterError):
            status = 400
        elif isinstance(exc, ServiceError) and exc.status_code and exc.status_code < 500:
            status = exc.status_code
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)

    def settings_of(request: Request) -> Settings:
        config: Settings = request.app.state.settings
        return config

    def shared_of(request: Request) -> SharedBatches | None:
        shared: SharedBatches | None = request.app.state.shared
        return shared

    def record_of(work: BackgroundDep, batch_id: str) -> BatchRecord:
        try:
            return work.value(batch_id, BatchRecord)
        except KeyError:
            raise HTTPException(404, f"no batch {batch_id!r}") from None

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/batches", status_code=202)
    async def create_batch(
        body: BatchRequest, request: Request, braket: BraketDep, work: BackgroundDep
    ) -> dict[str, Any]:
        config = settings_of(request)
        size = len(body.programs) if body.programs is not None else body.n
        if not 1 <= size <= config.max_batch:
            raise HTTPException(422, f"a batch has 1 to {config.max_batch} items, not {size}")
        if config.bucket is None:
            raise HTTPException(500, "no output bucket configured: set BRAKET_OUTPUT_BUCKET")
        sources = circuits(body)
        shared = shared_of(request)
        if shared is not None:
            batch_id = uuid.uuid4().hex
            batch = braket.submit_batch(
                sources,
                device_arn=config.device_arn,
                shots=body.shots or config.shots,
                output_s3_bucket=config.bucket,
                output_s3_key_prefix=f"{config.prefix}/{batch_id}",
                details=False,
                store=shared.store,
                options=_batch_options(config, batch_id),
            )
            await batch.stored()  # any worker can answer for it from now on
            shared.adopt(batch)
            return {
                "batch_id": batch_id,
                "size": len(sources),
                "worker": os.getpid(),
                "status_url": f"/batches/{batch_id}",
                "events_url": f"/batches/{batch_id}/events",
            }
        record = BatchRecord(
            batch_id=uuid.uuid4().hex, size=len(sources), created_at=time.monotonic()
        )
        # Arguments and programs are checked here, before anything is sent: a mistake is a 400.
        record.batch = braket.submit_batch(
            sources,
            device_arn=config.device_arn,
            shots=body.shots or config.shots,
            output_s3_bucket=config.bucket,
            output_s3_key_prefix=f"{config.prefix}/{record.batch_id}",
            # statuses from the tracker's sweeps: no GetQuantumTask (nor its parsing on this
            # loop) per completed task
            details=False,
            options=_batch_options(config, record.batch_id),
        )
        work.spawn(run_batch(record, record.batch), key=record.batch_id, value=record)
        return {
            "batch_id": record.batch_id,
            "size": record.size,
            "status_url": f"/batches/{record.batch_id}",
            "events_url": f"/batches/{record.batch_id}/events",
        }

    @app.get("/batches/{batch_id}")
    async def batch_status(
        batch_id: str, request: Request, work: BackgroundDep, tasks: bool = True
    ) -> Any:
        shared = shared_of(request)
        if shared is not None:
            batch = await shared.get(batch_id)
            await batch.refresh()
            return shared_summary(batch, with_tasks=tasks)
        return record_of(work, batch_id).summary(with_tasks=tasks)

    @app.get("/batches/{batch_id}/events")
    async def batch_events(batch_id: str, request: Request, work: BackgroundDep) -> Any:
        shared = shared_of(request)
        if shared is not None:
            batch = await shared.get(batch_id)
            after = request.headers.get("last-event-id") or None
            return StreamingResponse(
                _sse(_shared_events(batch, after)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        record = record_of(work, batch_id)
        start = _last_event_id(request) + 1
        return StreamingResponse(
            _sse(record.events.follow(start, heartbeat=HEARTBEAT_SECONDS)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.delete("/batches/{batch_id}")
    async def cancel_batch(
        batch_id: str, request: Request, work: BackgroundDep
    ) -> dict[str, Any]:
        """Cancel what the batch created and send nothing more; answers the batch's state
        (``cancel_requested``: tasks asked to cancel). A finished batch has nothing left to
        cancel: its final state, 200, like a second DELETE."""
        shared = shared_of(request)
        if shared is not None:
            batch = await shared.get(batch_id)
            cancelled = () if batch.done else await batch.cancel()
            await batch.refresh()
            return {**shared_summary(batch, with_tasks=False), "cancel_requested": len(cancelled)}
        record = record_of(work, batch_id)
        if record.batch is None:
            raise HTTPException(409, f"batch {batch_id!r} has not started yet")
        cancelled = () if record.done else await record.batch.cancel()
        return {**record.summary(with_tasks=False), "cancel_requested": len(cancelled)}

    @app.get("/tasks/{arn:path}")
    async def task_status(arn: str, braket: BraketDep) -> Any:
        task = await braket.get_quantum_task(arn)
        return {
            "arn": task.quantum_task_arn,
            "status": str(task.status),
            "device_arn": task.device_arn,
            "shots": task.shots,
            "created_at": task.created_at.isoformat() if task.created_at else None,
            "ended_at": task.ended_at.isoformat() if task.ended_at else None,
            "failure_reason": task.failure_reason,
        }

    @app.get("/results/{arn:path}")
    async def task_result(arn: str, braket: BraketDep) -> Any:
        result = await braket.get_quantum_task_result(arn)
        return {"arn": arn, "counts": dict(result.gate_model().counts)}

    @app.get("/jobs/{arn:path}/events")
    async def job_events(arn: str, braket: BraketDep) -> Any:
        async def events() -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
            index = 0
            async for event in braket.follow_job(arn):
                yield (
                    index,
                    "job",
                    {
                        "type": str(event.event_type),
                        "time": event.time_of_event.isoformat() if event.time_of_event else None,
                        "message": event.message,
                    },
                )
                index += 1
            job = await braket.get_job(arn)
            yield index, "done", {"status": str(job.status), "failure_reason": job.failure_reason}

        return StreamingResponse(_sse(events()), media_type="text/event-stream")

    return app


def _batch_options(config: Settings, batch_id: str | None) -> BatchOptions:
    return BatchOptions(
        batch_id=batch_id,
        # Few concurrent calls are enough at the quota's pace, and they spread the app's CPU
        # work over time, so its event loop keeps answering other requests quickly.
        max_in_flight=config.max_in_flight or max(16, round(16 * config.rate_scale)),
        tracker=TrackerOptions(sweep=SweepPolicy(max_concurrency=4)),
    )


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _shared_events(
    batch: Batch, after: str | None
) -> AsyncIterator[tuple[str, str, dict[str, Any]] | None]:
    """A Redis batch's outcomes after ``after`` (an SSE ``Last-Event-ID``), then ``done``."""
    async for outcome in batch.as_completed(after=after):
        yield outcome_event(outcome)
    progress = await batch.refresh()
    yield "done", "done", {"completed": progress.completed, "total": progress.total}


def _shared_quota(settings: Settings) -> SharedQuota | None:
    """Quotas shared by every worker process through Redis, when a URL is configured."""
    if settings.redis_url is None:
        return None
    from braket_async.ratelimit_redis import RedisQuota

    return RedisQuota(settings.redis_url, key=settings.redis_key)


async def _sse(events: AsyncIterator[tuple[Any, str, dict[str, Any]] | None]) -> AsyncIterator[str]:
    """Format events as Server-Sent Events (``None`` becomes a keep-alive comment)."""
    async for item in events:
        if item is None:
            yield ": keep-alive\n\n"
            continue
        index, kind, data = item
        yield f"id: {index}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


def _last_event_id(request: Request) -> int:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() else -1


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        timeout_graceful_shutdown=5,
    )
