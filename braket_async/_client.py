"""BraketClient: one aiobotocore session, its Braket / S3 / CloudWatch Logs / SQS clients, and
the features that need nothing more (operations, pagination, waiters, results, hybrid jobs).

:class:`~braket_async.BraketSession` (``_session.py``) is this client plus the features built
on a whole client: the task tracker and batches. Those name :class:`BraketClient` as their
dependency, so the import graph runs one way: client -> tracking / batch -> session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, overload

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.loaders import Loader, create_loader

from . import errors
from ._aws_accessors import LogStreams, S3Objects
from ._aws_errors import TRANSPORT_ERRORS, braket_error, not_json_answer, transport_error
from ._base import Clock, Sleep, delegate
from ._converter import parse_timestamp
from ._credentials import CredentialsProvider, install_credentials_provider
from ._operations import Operations
from ._sdk_retries import register_retry_switch
from ._service_model import SERVICE_MODEL
from ._user_agent import cache_user_agent
from ._version import __version__
from .events import EventFeed
from .jobs import Jobs
from .paginate import Pages
from .ratelimit import RateLimiter, RateLimits, observe_throttles, pace_retries
from .results import Results
from .telemetry import CallRecord, Telemetry
from .waiters import BraketWaiter, Waiters

if TYPE_CHECKING:
    from .models import Job, QuantumTask

__all__ = ["BraketClient"]

_log = logging.getLogger("braket_async.session")

_NEW: Final = "new"
_OPEN: Final = "open"
_CLOSED: Final = "closed"

#: Model operation name -> aiobotocore client method name.
_METHOD_NAMES: Final = {op: xform_name(op) for op in SERVICE_MODEL.operation_names}
_USER_AGENT: Final = f"braket-async/{__version__}"
# botocore's loader caches the model files it reads; one per data path, shared by every
# session, so opening a second session does not parse endpoints/partitions/models again.
_LOADERS: dict[str | None, Loader] = {}


class BraketClient:
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
        if max_pool_connections < 1:
            raise errors.ParameterError(
                "max_pool_connections", f"must be >= 1, got {max_pool_connections}"
            )
        _check_credential_sources(
            session, profile_name, credentials_provider, aws_access_key_id, aws_secret_access_key
        )
        self._given_session = session
        self._credentials_provider = credentials_provider
        self._region_arg = region_name
        self._endpoint_arg = endpoint_url
        self._profile_name = profile_name
        self._credentials: dict[str, str | None] = {
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
        }
        self._lazy_endpoints: dict[str, str | None] = {
            "s3": s3_endpoint_url,
            "logs": logs_endpoint_url,
            "sqs": sqs_endpoint_url,
            "events": events_endpoint_url,
        }
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
        self._config = _merge_config(max_pool_connections, config)
        self._sleep = sleep
        self._clock = clock
        self._rate_limiter = RateLimiter(
            rate_limits if rate_limits is not None else RateLimits.aws_defaults(),
            clock=clock,
            sleep=sleep,
        )
        self._telemetry = telemetry if telemetry is not None else Telemetry()
        self._state: str = _NEW
        self._loop: asyncio.AbstractEventLoop | None = None
        self._region: str | None = region_name
        self._stack: contextlib.AsyncExitStack | None = None
        self._session: AioSession | None = None
        self._client: Any = None
        self._methods: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {}
        self._lazy_clients: dict[str, Any] = {}
        self._lazy_lock: asyncio.Lock | None = None
        # The first call runs alone so concurrent first calls share one warm connection
        # instead of each opening its own (aiobotocore#1695).
        self._cold = True
        self._warm_lock: asyncio.Lock | None = None
        # The features, each given its real dependencies (see docs/ARCHITECTURE.md).
        self._operations = Operations(self._invoke)
        self._pages = Pages(self._operations)
        self._waiters = Waiters(
            self._operations,
            sleep=sleep,
            clock=clock,
            telemetry=self._telemetry,
            events=lambda: self._events_feed,
        )
        s3 = S3Objects(self._s3)
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
        if self._state != _NEW:
            raise errors.SessionStateError(
                "this BraketSession is already open"
                if self._state == _OPEN
                else "this BraketSession is closed; create a new one"
            )
        loop = asyncio.get_running_loop()
        stack = contextlib.AsyncExitStack()
        try:
            session = self._given_session
            if session is None:
                session = AioSession(profile=self._profile_name)
                # Aware UTC datetimes straight from the parser, and cheaper than dateutil.
                # (A caller's session is left as it is: the converter normalises either way.)
                session.get_component("response_parser_factory").set_parser_defaults(
                    timestamp_parser=parse_timestamp
                )
            region = await asyncio.to_thread(self._prepare, session)
            client = await stack.enter_async_context(
                session.create_client(
                    "braket",
                    region_name=region,
                    endpoint_url=self._endpoint_arg,
                    config=self._config,
                    **self._credentials,
                )
            )
        except BaseException as exc:
            await stack.aclose()
            translated = _configuration_error(exc)
            if translated is exc:
                raise
            raise translated from exc
        self._stack = stack
        self._session = session
        self._region = region
        self._client = client
        # every throttled attempt, including those botocore retries itself, slows the limiter,
        # and botocore's retries take a token like first attempts do
        cache_user_agent(client)  # the same header, built once per feature set
        observe_throttles(client.meta.events, self._rate_limiter)
        pace_retries(client.meta.events, self._rate_limiter)
        # callers with their own retry loop (a batch's creates) can turn botocore's off
        register_retry_switch(client.meta.events)
        self._telemetry.register(client.meta.events)
        self._methods = {op: getattr(client, name) for op, name in _METHOD_NAMES.items()}
        self._lazy_lock = asyncio.Lock()
        self._warm_lock = asyncio.Lock()
        self._loop = loop
        self._state = _OPEN
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

            source = SqsEventSource(arg, session=self)
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
        if self._state == _CLOSED:
            return
        self._check_loop_for_close()
        feed, self._owned_feed = self._owned_feed, None
        if feed is not None:
            await feed.aclose()  # stops its receive loop before its SQS client closes
        self._events_feed = None
        self._state = _CLOSED
        self._loop = None
        stack, self._stack = self._stack, None
        self._client = None
        self._lazy_clients = {}
        self._methods = {}
        try:
            await self._rate_limiter.aclose()
        finally:
            if stack is not None:
                await stack.aclose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"<BraketSession {self._state} region={self._region!r} "
            f"endpoint_url={self.endpoint_url!r}>"
        )

    # -- public properties -------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The raw aiobotocore Braket client, for dict-level calls."""
        self._check_state()
        return self._client

    @property
    def region_name(self) -> str | None:
        """The region in use (``None`` before open when none was given)."""
        return self._region

    @property
    def endpoint_url(self) -> str | None:
        """The Braket endpoint in use (known before open only when given explicitly)."""
        if self._client is not None:
            return str(self._client.meta.endpoint_url)
        return self._endpoint_arg

    @property
    def is_open(self) -> bool:
        """Whether the session is open."""
        return self._state == _OPEN

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
    def rate_limiter(self) -> RateLimiter:
        """The client-side rate limiter shared by every call of this session."""
        return self._rate_limiter

    # -- transport: every Braket call, and the lazily created AWS clients --------------------

    async def _invoke(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            if self._telemetry.recording:
                with self._telemetry.operation(operation) as record:
                    return await self._send(operation, params, record)
            return await self._send(operation, params, None)
        except errors.BraketError as exc:
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "%s failed: %s",
                    operation,
                    exc,
                    extra={
                        "operation": operation,
                        "error_code": getattr(exc, "code", None),
                        "request_id": getattr(exc, "request_id", None),
                    },
                )
            raise

    async def _send(
        self, operation: str, params: dict[str, Any], record: CallRecord | None
    ) -> dict[str, Any]:
        loop = self._loop
        if loop is None or loop is not asyncio.get_running_loop():
            raise self._state_error()
        try:
            method = self._methods[operation]
        except KeyError:
            raise self._unknown_operation(operation) from None
        try:
            if self._cold:
                response = await self._first_call(operation, method, params, record)
            else:
                await self._acquire(operation, record)
                response = await method(**params)
        except ClientError as exc:
            raise braket_error(operation, exc) from exc
        except TRANSPORT_ERRORS as exc:
            if self._state != _OPEN:
                raise self._state_error() from exc
            raise transport_error(operation, exc, endpoint_url=self.endpoint_url) from exc
        except errors.BraketError:
            raise  # from our own hooks (the credentials provider's answer), as it is
        except Exception as exc:  # botocore could not parse what came back
            if self._state != _OPEN:
                raise self._state_error() from exc
            raise errors.ResponseError(
                f"{operation}: the response could not be parsed ({type(exc).__name__}: {exc})",
                operation=operation,
            ) from exc
        not_json = not_json_answer(operation, response.pop("ResponseMetadata", None))
        if not_json is not None:
            raise not_json
        return response

    async def _s3(self) -> Any:
        return await self._aws_client("s3")

    async def _logs(self) -> Any:
        return await self._aws_client("logs")

    async def _sqs(self) -> Any:
        """The session's aiobotocore SQS client (event queues), created on first need."""
        return await self._aws_client("sqs")

    async def _eventbridge(self) -> Any:
        """The session's aiobotocore EventBridge client, created on first need."""
        return await self._aws_client("events")

    async def _aws_client(self, service: str) -> Any:
        self._check_state()
        client = self._lazy_clients.get(service)
        if client is None:
            client = await self._lazy_client(service, self._lazy_endpoints[service])
        return client

    # -- internals ---------------------------------------------------------------------------

    def _prepare(self, session: AioSession) -> str:
        """Share the model loader between sessions, install the credentials provider, and
        resolve the region (in a thread: all three read files). A caller's session keeps
        its own loader and credential chain."""
        if self._given_session is None:
            data_path = session.get_config_variable("data_path")
            loader = _LOADERS.get(data_path)
            if loader is None:
                loader = _LOADERS.setdefault(data_path, create_loader(data_path))
            session.register_component("data_loader", loader)
            if self._credentials_provider is not None:
                install_credentials_provider(session, self._credentials_provider)
        return self._resolve_region(session)

    def _resolve_region(self, session: AioSession) -> str:
        # botocore reads AWS_DEFAULT_REGION and the profile, but not AWS_REGION.
        region = (
            self._region_arg
            or os.environ.get("AWS_REGION")
            or session.get_config_variable("region")
        )
        if not region:
            raise errors.ConfigurationError(
                "no AWS region: pass region_name=..., or set AWS_REGION / AWS_DEFAULT_REGION, "
                "or a region in the AWS profile (any string works for a local service)"
            )
        return str(region)

    async def _lazy_client(self, service: str, endpoint_url: str | None) -> Any:
        assert self._lazy_lock is not None and self._stack is not None
        async with self._lazy_lock:
            client = self._lazy_clients.get(service)
            if client is None:
                self._check_state()
                config = self._config
                if service == "s3" and endpoint_url is not None:
                    # Custom S3 endpoints (moto, MinIO, LocalStack) want path-style URLs.
                    config = config.merge(Config(s3={"addressing_style": "path"}))
                assert self._session is not None
                try:
                    client = await self._stack.enter_async_context(
                        self._session.create_client(
                            service,
                            region_name=self._region,
                            endpoint_url=endpoint_url,
                            config=config,
                            **self._credentials,
                        )
                    )
                except (BotoCoreError, ValueError) as exc:
                    raise _configuration_error(exc) from exc
                cache_user_agent(client)  # as the Braket client's: built once per feature set
                self._lazy_clients[service] = client
            return client

    async def _first_call(
        self,
        operation: str,
        method: Callable[..., Coroutine[Any, Any, dict[str, Any]]],
        params: dict[str, Any],
        record: CallRecord | None,
    ) -> dict[str, Any]:
        assert self._warm_lock is not None
        # Tokens are taken only when the call can go out: a token taken before waiting for the
        # first call would be spent late, bunched with later ones (429s at the quota's edge).
        async with self._warm_lock:
            if self._cold:
                await self._acquire(operation, record)
                try:
                    return await method(**params)
                finally:
                    self._cold = False
        # Warm now: the calls that queued behind the first one go out concurrently.
        await self._acquire(operation, record)
        return await method(**params)

    async def _acquire(self, operation: str, record: CallRecord | None) -> None:
        """Take the rate limiter's token for one call (timed when telemetry records)."""
        if record is None:
            await self._rate_limiter.acquire(operation)
            return
        started = self._clock()
        await self._rate_limiter.acquire(operation)
        record.limiter_wait = self._clock() - started

    def _check_state(self) -> None:
        loop = self._loop
        if loop is None:
            raise self._state_error()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return  # sync access from the owning thread (e.g. a property) is fine
        if running is not loop:
            raise self._state_error()

    def _check_loop_for_close(self) -> None:
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            raise errors.SessionStateError(
                "this BraketSession belongs to another event loop; close it from that loop"
            )

    def _state_error(self) -> errors.SessionStateError:
        if self._state == _NEW:
            return errors.SessionStateError(
                "this BraketSession is not open; use 'async with BraketSession(...) as braket' "
                "or 'await session.open()' first"
            )
        if self._state == _CLOSED:
            return errors.SessionStateError("this BraketSession is closed; create a new one")
        return errors.SessionStateError(
            "this BraketSession was opened on another event loop; a session (and its "
            "aiobotocore clients) can only be used from the loop that opened it"
        )

    @staticmethod
    def _unknown_operation(operation: str) -> errors.ParameterError:
        return errors.ParameterError(
            "operation",
            f"must be a Braket operation name ({sorted(_METHOD_NAMES)}), got {operation!r}",
        )


#: botocore's retry mode. "standard", not "adaptive": the session's RateLimiter is the adaptive
#: client-side limiter (it paces every attempt and adapts to 429s only); botocore's adaptive
#: mode would add a second one whose CUBIC rate collapses after each 429 and recovers slowly.
_RETRY_MODE: Final = "standard"


def _check_credential_sources(
    session: AioSession | None,
    profile_name: str | None,
    provider: CredentialsProvider | None,
    key_id: str | None,
    secret: str | None,
) -> None:
    """Refuse the combinations where one credentials source would silently lose."""
    if session is not None and not isinstance(session, AioSession):
        raise errors.ParameterError(
            "session", f"must be an aiobotocore AioSession, got {type(session).__name__}"
        )
    if session is not None and profile_name is not None:
        raise errors.ParameterError(
            "profile_name", "cannot be combined with session= (the session has its profile)"
        )
    if provider is not None:
        if not callable(provider):
            raise errors.ParameterError(
                "credentials_provider",
                f"must be an async function returning credentials, got {provider!r}",
            )
        if session is not None:
            raise errors.ParameterError(
                "credentials_provider",
                "cannot be combined with session= (set the credentials on that session)",
            )
        if key_id is not None or secret is not None:
            raise errors.ParameterError(
                "credentials_provider",
                "cannot be combined with aws_access_key_id / aws_secret_access_key",
            )


def _merge_config(max_pool_connections: int, user: Config | None) -> AioConfig:
    base = AioConfig(
        max_pool_connections=max_pool_connections,
        # _RETRY_MODE, not "adaptive": adaptive keeps one client-side rate bucket per client,
        # so one throttled operation would slow all others; the session's per-operation
        # RateLimiter paces calls instead.
        retries={"mode": _RETRY_MODE},
        user_agent_extra=_USER_AGENT,
        # Load the service model files in a thread, off the event loop.
        warm_up_loader_caches=True,
    )
    if user is None:
        return base
    merged = base.merge(user)
    user_retries = user._user_provided_options.get("retries")
    if isinstance(user_retries, dict) and "mode" not in user_retries:
        # Keep the session's retry mode when the caller only tunes the number of attempts.
        merged = merged.merge(AioConfig(retries={"mode": _RETRY_MODE, **user_retries}))
    return merged


def _configuration_error(exc: BaseException) -> BaseException:
    if isinstance(exc, errors.BraketError):
        return exc
    if isinstance(exc, NoRegionError):
        return errors.ConfigurationError(
            "no AWS region: pass region_name=... or set AWS_REGION / AWS_DEFAULT_REGION"
        )
    if isinstance(exc, ProfileNotFound | NoCredentialsError | PartialCredentialsError):
        return errors.ConfigurationError(str(exc))
    if isinstance(exc, BotoCoreError | ValueError):
        return errors.ConfigurationError(f"cannot create the Braket client: {exc}")
    return exc
