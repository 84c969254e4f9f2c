"""``LocalBraket``: the local Braket service as an async context manager."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from aiohttp import web

from .._base import AsyncContext
from ..telemetry import Telemetry
from ._environ import environ_for, prepare_sdk_defaults
from .api._handlers import Handlers
from .aws._ecr import EcrService, JobImages
from .aws._events import (
    EventPublisher,
    cache_moto_event_paths,
    count_moto_queue_messages_in_one_pass,
)
from .aws._s3 import EmbeddedAws, ObjectStore
from .devices._devices import LocalDevice, default_devices
from .guards._guard import BraketAuth
from .guards._sigv4 import SigV4Verifier
from .http._control import Controls
from .http._server import build_app
from .jobs._jobrun import JobScheduler
from .jobs._jobseam import JobRunner
from .simulation._limits import (
    DEFAULT_TASK_MEMORY_LIMIT,
    DEFAULT_TASK_TIME_LIMIT,
    DEFAULT_WORKERS_MEMORY_LIMIT,
)
from .state._faults import FaultConfig
from .state._ledger import Ledger
from .state._quotas import Quotas
from .state._store import Store
from .tasks._qpu_queue import QpuQueue
from .tasks._tasks import Executor, TaskScheduler

__all__ = ["DEFAULT_BUCKET", "LocalBraket"]

T = TypeVar("T")

DEFAULT_BUCKET = "amazon-braket-local"
"""Bucket created at start for callers without one of their own."""


class LocalBraket(AsyncContext):
    """The local Braket service: rest-json on loopback, real simulator, S3 results.

    ::

        async with LocalBraket() as local:
            local.endpoint_url      # http://127.0.0.1:PORT (Braket)
            local.s3_endpoint_url   # embedded moto: S3, CloudWatch Logs, STS
            local.ledger.snapshot()
            local.control_token     # bearer token of the /_local/* control routes

    Every Braket request must be SigV4-signed with ``credentials`` (access key id, secret;
    default ``("testing", "testing")``), as AWS requires; so must every request to the
    embedded moto server. Requests a web browser sends are refused. ``control_token`` (default:
    a random one per start) guards ``/_local/*`` except ``GET /_local/health``.
    ``queue_delay`` / ``run_delay``: seconds a task stays QUEUED / RUNNING at least.
    ``quotas`` (default :meth:`Quotas.aws_defaults`) and ``faults`` can be replaced while the
    service runs, from Python or over HTTP (``PUT /_local/quotas``, ``PUT /_local/faults``);
    the number of task worker coroutines (the concurrent-task quota) is fixed at start.
    ``s3_endpoint_url=None`` starts an embedded moto server (same ``credentials``); otherwise
    results go to the named S3 endpoint (with botocore's usual credentials unless
    ``s3_credentials``).
    Jobs run on ``job_runner``, or on ``job_runner_factory(self)`` (called once the endpoints
    are known), by default the process runner (``_jobs.ProcessJobRunner``: the job's script
    runs as a local subprocess). Pass ``job_runner=NoScriptJobRunner()`` to run no script.
    ``executor`` replaces the simulator executor (tests); ``devices`` the device catalogue.
    Otherwise ``workers`` simulator processes run the tasks (up to ``max_workers`` while a
    long task holds them all), each task for at most ``task_time_limit`` seconds and
    ``task_memory_limit`` bytes of worker memory (``None``: no limit); past either it FAILS.
    ``workers_memory_limit`` bounds all workers together (default half the machine's memory;
    see docs/limits.md).

    Every task and job status change is published as a Braket state-change event to
    EventBridge at ``events_endpoint_url`` (default: the embedded moto server when one is
    started; with ``s3_endpoint_url`` given and no ``events_endpoint_url``, none is
    published). ``events=False`` publishes nothing. See ``docs/events.md``.
    ``telemetry`` (default: OpenTelemetry's global providers) gets a SERVER span per Braket
    request, continuing the client's trace (see ``docs/observability.md``).
    ``noise=False`` runs QPU tasks without their device's noise model (``_noise``;
    ``docs/devices.md``). ``qpu_queue=QpuQueue(...)`` puts QPU tasks in per-device queues
    with execution windows on a scaled clock (``_qpu_queue``); by default they run at once.

    Args:
        host: The address to listen on.
        port: The port (0: a free one).
        region: The region the service answers for.
        account_id: The 12-digit account id of its ARNs.
        queue_delay: Seconds a task stays QUEUED at least.
        run_delay: Seconds a task stays RUNNING at least.
        quotas: Rate and concurrency limits (default: :meth:`Quotas.aws_defaults`).
        faults: Faults to inject.
        s3_endpoint_url: An S3 endpoint for results (``None``: the embedded moto server).
        s3_credentials: Credentials for ``s3_endpoint_url`` (``None``: botocore's chain).
        credentials: The access key id and secret every request must be signed with.
        control_token: The bearer token of ``/_local/*`` (default: a random one per start).
        workers: Simulator processes.
        max_workers: Simulator processes at most while long tasks hold them all.
        task_time_limit: Seconds a task may simulate (``None``: no limit).
        task_memory_limit: Bytes of worker memory a task may use (``None``: no limit).
        workers_memory_limit: Bytes all workers may use together (see docs/limits.md).
        default_bucket: The bucket created at start.
        job_runner: Runs the jobs.
        job_runner_factory: Makes the job runner once the endpoints are known.
        devices: The device catalogue.
        executor: Replaces the simulator executor (tests).
        sleep: The sleep of the service's delays.
        events: Whether to publish state-change events.
        events_endpoint_url: The EventBridge endpoint events go to.
        telemetry: Where the SERVER spans go.
        noise: Whether QPU tasks use their device's noise model.
        qpu_queue: Per-device QPU queues with execution windows.

    Raises:
        ValueError: An argument breaks its rule.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        queue_delay: float = 0.0,
        run_delay: float = 0.0,
        quotas: Quotas | None = None,
        faults: FaultConfig | None = None,
        s3_endpoint_url: str | None = None,
        s3_credentials: tuple[str, str] | None = ("testing", "testing"),
        credentials: tuple[str, str] = ("testing", "testing"),
        control_token: str | None = None,
        workers: int | None = None,
        max_workers: int | None = None,
        task_time_limit: float | None = DEFAULT_TASK_TIME_LIMIT,
        task_memory_limit: int | None = DEFAULT_TASK_MEMORY_LIMIT,
        workers_memory_limit: int | None = DEFAULT_WORKERS_MEMORY_LIMIT,
        default_bucket: str = DEFAULT_BUCKET,
        job_runner: JobRunner | None = None,
        job_runner_factory: Callable[[LocalBraket], JobRunner] | None = None,
        devices: Sequence[LocalDevice] | None = None,
        executor: Executor | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        events: bool = True,
        events_endpoint_url: str | None = None,
        telemetry: Telemetry | None = None,
        noise: bool = True,
        qpu_queue: QpuQueue | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        if queue_delay < 0 or run_delay < 0:
            raise ValueError("queue_delay and run_delay must be >= 0 seconds")
        if not (len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        if job_runner is not None and job_runner_factory is not None:
            raise ValueError("give job_runner or job_runner_factory, not both")
        if len(credentials) != 2 or not all(isinstance(c, str) and c for c in credentials):
            raise ValueError("credentials must be a (access key id, secret access key) pair")
        if control_token is not None and len(control_token) < 16:
            raise ValueError("control_token must be at least 16 characters")
        self.host = host
        self.region = region
        self.account_id = account_id
        self.queue_delay = queue_delay
        self.run_delay = run_delay
        self.default_bucket = default_bucket
        self.ledger = Ledger()
        self._port = port
        self._quotas = quotas if quotas is not None else Quotas.aws_defaults()
        self._faults = faults
        # what reset() goes back to
        self._initial_quotas, self._initial_faults = self._quotas, faults
        self._s3_endpoint_url_given = s3_endpoint_url
        self._s3_endpoint_url = s3_endpoint_url
        self._s3_credentials = s3_credentials
        self._credentials = (credentials[0], credentials[1])
        self._control_token_given = control_token
        self._control_token: str | None = None
        self._workers = workers
        self._max_workers = max_workers
        self._task_time_limit = task_time_limit
        self._task_memory_limit = task_memory_limit
        self._workers_memory_limit = workers_memory_limit
        self._job_runner = job_runner
        self._job_runner_factory = job_runner_factory
        self._devices = list(devices) if devices is not None else default_devices()
        self._executor: Any = executor
        self._sleep = sleep
        self._events = events
        self._telemetry = telemetry if telemetry is not None else Telemetry()
        self.noise = noise
        self.qpu_queue = qpu_queue
        self._events_endpoint_url_given = events_endpoint_url
        self._events_endpoint_url: str | None = None
        self._stack: AsyncExitStack | None = None
        self._endpoint_url: str | None = None
        self._store: Store | None = None
        self._tasks: TaskScheduler | None = None
        self._jobs: JobScheduler | None = None
        self._objects: ObjectStore | None = None
        self._jobs_role_arn: str | None = None

    # Settings ------------------------------------------------------------------------------

    @property
    def quotas(self) -> Quotas:
        """The quotas in force (assign to replace them; buckets start full)."""
        return self._quotas

    @quotas.setter
    def quotas(self, value: Quotas) -> None:
        self._set_quotas(value)

    def _set_quotas(self, value: Quotas) -> None:
        self._quotas = value
        if self._jobs is not None:
            self._jobs.concurrency = value.concurrent_jobs

    @property
    def faults(self) -> FaultConfig | None:
        """The fault injection in force (assign ``None`` to stop injecting)."""
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig | None) -> None:
        self._set_faults(value)

    def _set_faults(self, value: FaultConfig | None) -> None:
        self._faults = value

    # State ---------------------------------------------------------------------------------

    def _started(self) -> None:
        if self._endpoint_url is None:
            raise RuntimeError("LocalBraket is not started: use 'async with LocalBraket()'")

    def _running(self, part: T | None) -> T:
        """``part`` of the started service (set by :meth:`start`)."""
        self._started()
        assert part is not None
        return part

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the Braket rest-json endpoint."""
        return self._running(self._endpoint_url)

    @property
    def s3_endpoint_url(self) -> str:
        """The S3 endpoint results are written to (the embedded moto server by default)."""
        return self._running(self._s3_endpoint_url)

    @property
    def credentials(self) -> tuple[str, str]:
        """(access key id, secret access key) every request must be signed with."""
        return self._credentials

    @property
    def control_token(self) -> str:
        """Bearer token of the ``/_local/*`` control routes (``Authorization: Bearer ...``)."""
        return self._running(self._control_token)

    @property
    def events_endpoint_url(self) -> str | None:
        """The EventBridge endpoint state-change events go to (None: none are published)."""
        self._started()
        return self._events_endpoint_url

    @property
    def jobs_role_arn(self) -> str | None:
        """ARN of the default jobs role created in the embedded moto server at start (what the
        SDK's ``get_default_jobs_role`` finds); ``None`` with an external ``s3_endpoint_url``."""
        self._started()
        return self._jobs_role_arn

    def environ(self) -> dict[str, str]:
        """Every environment variable an AWS client (boto3, the Braket SDK, aiobotocore, the
        AWS CLI) needs to use this service: ``AWS_ENDPOINT_URL_BRAKET``, the endpoint of each
        service on the S3 port (S3, STS, IAM, CloudWatch Logs, CloudWatch, EventBridge, SQS),
        region and :attr:`credentials`. Also unset the names in
        ``braket_async.local.CONFLICTING_VARIABLES`` (a profile or session token would win)."""
        return environ_for(
            endpoint_url=self.endpoint_url,
            aws_endpoint_url=self.s3_endpoint_url,
            region=self.region,
            credentials=self._credentials,
        )

    @property
    def store(self) -> Store:
        """The in-memory records (for tests)."""
        return self._running(self._store)

    @property
    def objects(self) -> ObjectStore:
        """The service's S3 client wrapper."""
        return self._running(self._objects)

    @property
    def tasks(self) -> TaskScheduler:
        """The quantum-task scheduler (for tests)."""
        return self._running(self._tasks)

    @property
    def jobs(self) -> JobScheduler:
        """The job scheduler (for tests)."""
        return self._running(self._jobs)

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start S3 (unless given), the executor, the schedulers and the HTTP server."""
        if self._stack is not None:
            raise RuntimeError("LocalBraket is already started")
        stack = AsyncExitStack()
        try:
            await self._start(stack)
        except BaseException:
            self._endpoint_url = None
            await stack.aclose()
            raise
        self._stack = stack

    async def _start(self, stack: AsyncExitStack) -> None:
        aws: EmbeddedAws | None = None
        executor = self._executor
        if executor is None:
            from .simulation._executor import SimulatorExecutor

            executor = SimulatorExecutor(
                workers=self._workers,
                max_workers=self._max_workers,
                time_limit=self._task_time_limit,
                memory_limit=self._task_memory_limit,
                workers_memory_limit=self._workers_memory_limit,
                noise=self.noise,
            )
            stack.push_async_callback(executor.close)
        starts: list[Awaitable[Any]] = []
        self._s3_endpoint_url = self._s3_endpoint_url_given
        if self._s3_endpoint_url is None:
            aws = EmbeddedAws(host=self.host, credentials=self._credentials)
            stack.push_async_callback(aws.close)
            starts.append(self._start_aws(aws))
        if self._executor is None:
            starts.append(executor.start())
        # Both take seconds (moto import, worker warm-up): start them together.
        results = await _all_or_none(starts)
        sdk_bucket: str | None = None
        if aws is not None:
            self._s3_endpoint_url, sdk_bucket = results[0]
        assert self._s3_endpoint_url is not None
        creds = self._s3_credentials if aws is None else self._credentials
        objects = ObjectStore(
            self._s3_endpoint_url,
            self.region,
            aws_access_key_id=creds[0] if creds else None,
            aws_secret_access_key=creds[1] if creds else None,
        )
        await objects.open()
        stack.push_async_callback(objects.close)
        await objects.ensure_bucket(self.default_bucket)
        if sdk_bucket is not None:
            await objects.ensure_bucket(sdk_bucket)
        self._objects = objects

        store = Store(self.region, self.account_id, self._devices)
        self._events_endpoint_url = None
        if self._events:
            events_url = self._events_endpoint_url_given or (aws.endpoint_url if aws else None)
            if events_url is not None:
                await asyncio.to_thread(cache_moto_event_paths)  # imports moto's deps: a thread
                await asyncio.to_thread(count_moto_queue_messages_in_one_pass)
                publisher = EventPublisher(
                    events_url,
                    self.region,
                    self.ledger,
                    credentials=creds,
                    faults=lambda: self._faults,
                    sleep=self._sleep,
                )
                await publisher.start()
                # Closed after the schedulers (pushed before them): their last changes go out.
                stack.push_async_callback(publisher.close)
                store.observer = publisher.observe
                self._events_endpoint_url = events_url
        tasks = TaskScheduler(
            executor,
            objects,
            self.ledger,
            concurrency=self._quotas.concurrent_tasks,
            queue_delay=self.queue_delay,
            run_delay=self.run_delay,
            sleep=self._sleep,
            qpu_queue=self.qpu_queue,
        )
        tasks.start()
        stack.push_async_callback(tasks.close)

        sock = socket.create_server((self.host, self._port))
        port = sock.getsockname()[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self._endpoint_url = f"http://{shown}:{port}"
        self._store, self._tasks = store, tasks

        runner = self._job_runner
        if runner is None:
            # imported here: simulator workers import this package and need none of it
            from .jobs._jobs import process_job_runner_factory

            runner = (self._job_runner_factory or process_job_runner_factory)(self)
            stack.push_async_callback(_close_runner, runner)
            await _start_runner(runner)
        jobs = JobScheduler(runner, self.ledger, concurrency=self._quotas.concurrent_jobs)
        stack.push_async_callback(jobs.close)
        self._jobs = jobs

        handlers = Handlers(store, tasks, jobs, objects, self.ledger, lambda: self._quotas)
        controls = Controls(
            ledger=self.ledger,
            get_quotas=lambda: self._quotas,
            set_quotas=self._set_quotas,
            get_faults=lambda: self._faults,
            set_faults=self._set_faults,
            health=self._health,
            reset=self.reset,
        )
        self._control_token = self._control_token_given or secrets.token_urlsafe(32)
        auth = BraketAuth(SigV4Verifier(*self._credentials, service="braket"))
        app = build_app(
            handlers,
            controls,
            auth=auth,
            control_token=self._control_token,
            sleep=self._sleep,
            telemetry=self._telemetry,
            region=self.region,
            ecr=_job_images_ecr(runner, self._credentials, self.account_id),
        )
        app_runner = web.AppRunner(
            # lingering_time: after an early answer (413), read what a client still sends for at
            # most 1 s, not aiohttp's 10 s, which would also hold close() that long.
            app,
            access_log=None,
            handle_signals=False,
            lingering_time=1.0,
        )
        await app_runner.setup()
        stack.push_async_callback(app_runner.cleanup)
        site = web.SockSite(app_runner, sock)
        try:
            await site.start()
        except BaseException:
            sock.close()
            raise

    async def _start_aws(self, aws: EmbeddedAws) -> tuple[str, str]:
        url = await aws.start()
        # What AwsQuantumJob.create discovers through IAM and STS, made while the simulator
        # workers warm up (moto answers its first STS/IAM calls slowly).
        self._jobs_role_arn, sdk_bucket = await prepare_sdk_defaults(
            url, self.region, self._credentials
        )
        return url, sdk_bucket

    def _health(self) -> dict[str, Any]:
        return {
            "endpoint_url": self._endpoint_url,
            "s3_endpoint_url": self._s3_endpoint_url,
            "events_endpoint_url": self._events_endpoint_url,
            "region": self.region,
            "tasks": len(self._store.task_list) if self._store else 0,
            "running_tasks": self._tasks.running if self._tasks else 0,
            "jobs": len(self._store.job_list) if self._store else 0,
            "quotas": self._quotas.describe(),
        }

    async def reset(self) -> None:
        """A clean slate, as if the service had just started: running tasks and jobs are
        stopped, every task, job and spending limit is forgotten, the ledger is zeroed, and
        the quotas (full buckets) and faults given at construction are back. S3 objects, logs
        and the endpoints stay. Also ``POST /_local/reset``."""
        self._started()
        await self.jobs.close()  # running jobs end CANCELLED (their processes stopped)
        await self.tasks.reset()
        self.store.clear()
        self._set_quotas(self._initial_quotas.fresh())
        self._set_faults(self._initial_faults)
        self.ledger.reset()

    async def close(self) -> None:
        """Stop everything started by :meth:`start`. Idempotent."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self._endpoint_url = None
        self._control_token = None
        self._events_endpoint_url = None
        self._jobs_role_arn = None

    async def _enter(self) -> None:
        await self.start()

    async def _exit(self) -> None:
        await self.close()


async def _all_or_none(starts: Sequence[Awaitable[Any]]) -> list[Any]:
    """Await ``starts`` together; when one fails, cancel and await the others before raising
    (a bare gather leaves them running, and ``asyncio.run`` then waits on them)."""
    tasks = [asyncio.ensure_future(start) for start in starts]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _start_runner(runner: object) -> None:
    # e.g. the process runner cleans what a killed service left behind
    start = getattr(runner, "start", None)
    if callable(start):
        result = start()
        if inspect.isawaitable(result):
            await result


async def _close_runner(runner: object) -> None:
    # Runners made by a factory are ours to close, if they have something to close.
    for name in ("aclose", "close"):
        method = getattr(runner, name, None)
        if callable(method):
            result = method()
            if inspect.isawaitable(result):
                with contextlib.suppress(Exception):
                    await result
            return


def _job_images_ecr(runner: object, credentials: tuple[str, str], account_id: str) -> EcrService:
    """ECR for the SDK's job-image check, tagged with the Python of the runner's interpreter
    (``ProcessJobRunner.python``; this one for runners that run no interpreter)."""

    def python() -> str:
        return str(getattr(runner, "python", sys.executable))

    verifier = SigV4Verifier(*credentials, service="ecr")
    return EcrService(JobImages(python), verifier, account_id)
