"""BraketClient: the composition. It holds the connection (:class:`~braket_async._transport.
BraketTransport`: the aiobotocore session, the Braket client and the path of every call, the
credentials, the lazily created S3 / CloudWatch Logs / SQS / EventBridge clients) and assembles
the features that need nothing more: operations, pagination, waiters, results, hybrid jobs,
the AWS accessors and the event feed.

:class:`~braket_async.BraketSession` (``_session.py``) is this client plus the features built
on a whole client: the task tracker and batches. Those name :class:`BraketClient` as their
dependency, so the import graph runs one way: transport -> client -> tracking / batch ->
session.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from aiobotocore.session import AioSession
from botocore.config import Config

from . import errors
from ._aws_accessors import EventBridge, LogStreams, S3Objects, SqsQueues
from ._base import AsyncContext, Clock, Sleep, delegate
from ._credentials import CredentialsProvider
from ._operations import Operations
from ._transport import BraketTransport
from .events import EventFeed
from .jobs import Jobs
from .paginate import Pages
from .ratelimit import RateLimiter, RateLimits
from .results import Results
from .telemetry import Telemetry
from .waiters import BraketWaiter, Waiters

if TYPE_CHECKING:
    from .models import Job, QuantumTask

__all__ = ["BraketClient"]


class BraketClient(AsyncContext):
    """The connection to Braket and the features that need only it; see
    :class:`~braket_async.BraketSession` for the arguments (it adds no others)."""

    def __init__(
        self,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        config: Config | None = None,
        s3_endpoint_url: str | None = None,
        logs_endpoint_url: str | None = None,
        max_pool_connections: int = 100,
        rate_limits: RateLimits | None = None,
        telemetry: Telemetry | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        events: EventFeed | str | None = None,
        sqs_endpoint_url: str | None = None,
        events_endpoint_url: str | None = None,
        session: AioSession | None = None,
        credentials_provider: CredentialsProvider | None = None,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._telemetry = telemetry if telemetry is not None else Telemetry()
        self._rate_limiter = RateLimiter(
            rate_limits if rate_limits is not None else RateLimits.aws_defaults(),
            clock=clock,
            sleep=sleep,
        )
        # The connection: everything below the features (see _transport.py).
        self._transport = BraketTransport(
            region_name=region_name,
            endpoint_url=endpoint_url,
            profile_name=profile_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            config=config,
            max_pool_connections=max_pool_connections,
            endpoints={
                "s3": s3_endpoint_url,
                "logs": logs_endpoint_url,
                "sqs": sqs_endpoint_url,
                "events": events_endpoint_url,
            },
            rate_limiter=self._rate_limiter,
            telemetry=self._telemetry,
            clock=clock,
            session=session,
            credentials_provider=credentials_provider,
        )
        if isinstance(events, str):
            if not events.startswith(("https://", "http://")):
                raise errors.ParameterError(
                    "events", f"must be an EventFeed or an SQS queue URL, got {events!r}"
                )
        elif events is not None and not callable(getattr(events, "subscribe", None)):
            raise errors.ParameterError(
                "events", f"must be an EventFeed or an SQS queue URL, got {events!r}"
            )
        self._events_arg = events
        self._events_feed: EventFeed | None = None
        self._owned_feed: Any = None
        # The features, each given its real dependencies (see docs/ARCHITECTURE.md).
        self._operations = Operations(self._transport.invoke)
        self._pages = Pages(self._operations)
        self._waiters = Waiters(
            self._operations,
            sleep=sleep,
            clock=clock,
            telemetry=self._telemetry,
            events=lambda: self._events_feed,
        )
        s3 = S3Objects(self._s3)
        self._sqs_queues = SqsQueues(self._sqs)
        self._event_bridge = EventBridge(self._eventbridge)
        self._results = Results(
            self._operations,
            waiters=self._waiters,
            s3=s3,
            telemetry=self._telemetry,
        )
        self._jobs = Jobs(
            self._operations,
            waiters=self._waiters,
            s3=s3,
            logs=LogStreams(self._logs),
            sleep=sleep,
            clock=clock,
            telemetry=self._telemetry,
        )

    # -- operations: one coroutine per Braket operation (``_operations.Operations``) ----------

    create_quantum_task = delegate("_operations", Operations.create_quantum_task)
    get_quantum_task = delegate("_operations", Operations.get_quantum_task)
    cancel_quantum_task = delegate("_operations", Operations.cancel_quantum_task)
    search_quantum_tasks = delegate("_operations", Operations.search_quantum_tasks)
    create_job = delegate("_operations", Operations.create_job)
    get_job = delegate("_operations", Operations.get_job)
    cancel_job = delegate("_operations", Operations.cancel_job)
    search_jobs = delegate("_operations", Operations.search_jobs)
    get_device = delegate("_operations", Operations.get_device)
    search_devices = delegate("_operations", Operations.search_devices)
    list_tags_for_resource = delegate("_operations", Operations.list_tags_for_resource)
    tag_resource = delegate("_operations", Operations.tag_resource)
    untag_resource = delegate("_operations", Operations.untag_resource)
    create_spending_limit = delegate("_operations", Operations.create_spending_limit)
    update_spending_limit = delegate("_operations", Operations.update_spending_limit)
    delete_spending_limit = delegate("_operations", Operations.delete_spending_limit)
    search_spending_limits = delegate("_operations", Operations.search_spending_limits)

    # -- pagination: paginators and lazy item iterators (``paginate.Pages``) -----------------

    can_paginate = delegate("_pages", Pages.can_paginate)
    get_paginator = delegate("_pages", Pages.get_paginator)
    iter_quantum_tasks = delegate("_pages", Pages.iter_quantum_tasks)
    iter_jobs = delegate("_pages", Pages.iter_jobs)
    iter_devices = delegate("_pages", Pages.iter_devices)
    iter_spending_limits = delegate("_pages", Pages.iter_spending_limits)

    # -- results and hybrid jobs (``results.Results``, ``jobs.Jobs``) -------------------------

    get_quantum_task_result = delegate("_results", Results.get_quantum_task_result)
    stream_job_logs = delegate("_jobs", Jobs.stream_job_logs)
    get_job_result = delegate("_jobs", Jobs.get_job_result)
    create_hybrid_job = delegate("_jobs", Jobs.create_hybrid_job)

    # -- waiters (``waiters.Waiters``) ---------------------------------------------------------

    wait_for_quantum_task = delegate("_waiters", Waiters.wait_for_quantum_task)
    wait_for_job = delegate("_waiters", Waiters.wait_for_job)
    follow_job = delegate("_waiters", Waiters.follow_job)
    device_poll_interval = delegate("_waiters", Waiters.device_poll_interval)

    @property
    def waiter_names(self) -> list[str]:
        """Names :meth:`get_waiter` accepts (snake_case, as boto3 lists them)."""
        return self._waiters.waiter_names

    # Not a ``delegate``: mypy binds a delegated overloaded method to its first overload only,
    # so the typed waiters (``BraketWaiter[Job]`` for job names) would be lost for callers.
    @overload
    def get_waiter(
        self, name: Literal["quantum_task_completed", "quantum_task_terminal"]
    ) -> BraketWaiter[QuantumTask]: ...
    @overload
    def get_waiter(self, name: Literal["job_completed", "job_terminal"]) -> BraketWaiter[Job]: ...
    @overload
    def get_waiter(self, name: str) -> BraketWaiter[Any]: ...
    def get_waiter(self, name: str) -> BraketWaiter[Any]:
        """A boto3-style waiter by name (snake_case or the model's PascalCase)."""
        return self._waiters.get_waiter(name)

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> Self:
        """Create the aiobotocore session and the Braket client. Returns the session."""
        await self._transport.open()
        try:
            await self._open_events()
        except BaseException:
            await self.close()
            raise
        return self

    async def _open_events(self) -> None:
        arg = self._events_arg
        if isinstance(arg, str):
            from .events import SqsEventSource

            source = SqsEventSource(arg, sqs=self._sqs_queues, sleep=self._sleep, clock=self._clock)
            self._owned_feed = source
            await source.check()  # a missing queue is an error now, naming it
            self._events_feed = source
        else:
            open_for = getattr(arg, "open_for", None)
            if callable(open_for):  # a feed built on the session (RedisEventFanout(queue_url))
                self._owned_feed = arg
                await open_for(self)
            self._events_feed = arg

    async def close(self) -> None:
        """Close every client of the session (idempotent)."""
        transport = self._transport
        if transport.is_closed:
            return
        transport.check_loop_for_close()
        feed, self._owned_feed = self._owned_feed, None
        if feed is not None:
            await feed.aclose()  # stops its receive loop before its SQS client closes
        self._events_feed = None
        await transport.close()

    async def _enter(self) -> None:
        await self.open()

    async def _exit(self) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"<BraketSession {self._transport.state} region={self.region_name!r} "
            f"endpoint_url={self.endpoint_url!r}>"
        )

    # -- public properties -------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The raw aiobotocore Braket client, for dict-level calls."""
        return self._transport.client

    @property
    def region_name(self) -> str | None:
        """The region in use (``None`` before open when none was given)."""
        return self._transport.region_name

    @property
    def endpoint_url(self) -> str | None:
        """The Braket endpoint in use (known before open only when given explicitly)."""
        return self._transport.endpoint_url

    @property
    def is_open(self) -> bool:
        """Whether the session is open."""
        return self._transport.is_open

    @property
    def sleep(self) -> Sleep:
        """The session's sleep (``asyncio.sleep`` unless injected)."""
        return self._sleep

    @property
    def clock(self) -> Clock:
        """The session's monotonic clock (``time.monotonic`` unless injected)."""
        return self._clock

    @property
    def telemetry(self) -> Telemetry:
        """Where this session reports spans and metrics (see :mod:`braket_async.telemetry`)."""
        return self._telemetry

    @property
    def events(self) -> EventFeed | None:
        """The feed of Braket state-change events (``events=``), or None: the waiters, the
        tracker and batches use it when set."""
        return self._events_feed

    @property
    def sqs(self) -> SqsQueues:
        """The session's SQS calls (event queues), on its SQS client (``sqs_endpoint_url``),
        created on first use, errors as :mod:`braket_async.errors`."""
        return self._sqs_queues

    @property
    def eventbridge(self) -> EventBridge:
        """The session's EventBridge calls (``events setup``'s rule and target), on its
        EventBridge client (``events_endpoint_url``), created on first use."""
        return self._event_bridge

    @property
    def rate_limiter(self) -> RateLimiter:
        """The client-side rate limiter shared by every call of this session."""
        return self._rate_limiter

    # -- the transport's calls, for the features and accessors ------------------------------

    async def _invoke(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self._transport.invoke(operation, params)

    async def _s3(self) -> Any:
        return await self._transport.aws_client("s3")

    async def _logs(self) -> Any:
        return await self._transport.aws_client("logs")

    async def _sqs(self) -> Any:
        """The session's aiobotocore SQS client (event queues), created on first need."""
        return await self._transport.aws_client("sqs")

    async def _eventbridge(self) -> Any:
        """The session's aiobotocore EventBridge client, created on first need."""
        return await self._transport.aws_client("events")
