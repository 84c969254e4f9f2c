"""BraketTransport: the connection to Braket, held by :class:`~braket_async._client.BraketClient`.

One aiobotocore session and its Braket client (open and close on one event loop), the path of
every Braket call (:meth:`BraketTransport.invoke`: the state and loop check, the rate
limiter's token, telemetry, the one mapping of errors in ``_aws_errors.py``), the credentials
(a caller's session or provider), and the lazily created S3 / CloudWatch Logs / SQS /
EventBridge clients the accessors of ``_aws_accessors.py`` call. It knows no feature: the
client composes those on top (httpx's ``Client`` holding its transport is the model).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, Final

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
from ._aws_errors import TRANSPORT_ERRORS, braket_error, not_json_answer, transport_error
from ._base import Clock
from ._converter import parse_timestamp
from ._credentials import CredentialsProvider, install_credentials_provider
from ._sdk_retries import register_retry_switch
from ._service_model import SERVICE_MODEL
from ._user_agent import cache_user_agent
from ._version import __version__
from .ratelimit import RateLimiter, observe_throttles, pace_retries
from .telemetry import CallRecord, Telemetry

__all__ = ["BraketTransport", "merge_config"]

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


class BraketTransport:
    """The connection (see the module). Its arguments are the session's of the same names;
    ``endpoints`` are the lazily created clients' (by service name), ``rate_limiter`` and
    ``telemetry`` the session's.

    Raises:
        ParameterError: ``max_pool_connections`` is below 1, or two credential sources
            conflict.
    """

    def __init__(
        self,
        *,
        region_name: str | None,
        endpoint_url: str | None,
        profile_name: str | None,
        aws_access_key_id: str | None,
        aws_secret_access_key: str | None,
        aws_session_token: str | None,
        config: Config | None,
        max_pool_connections: int,
        endpoints: dict[str, str | None],
        rate_limiter: RateLimiter,
        telemetry: Telemetry,
        clock: Clock,
        session: AioSession | None,
        credentials_provider: CredentialsProvider | None,
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
        self._lazy_endpoints = dict(endpoints)
        self._config = merge_config(max_pool_connections, config)
        self._clock = clock
        self._rate_limiter = rate_limiter
        self._telemetry = telemetry
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

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the aiobotocore session and the Braket client, on the running loop."""
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

    async def close(self) -> None:
        """Close the Braket client, the lazily created ones and the rate limiter
        (idempotent; from the loop that opened)."""
        if self._state == _CLOSED:
            return
        self.check_loop_for_close()
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

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``"new"``, ``"open"`` or ``"closed"``."""
        return self._state

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._state == _OPEN

    @property
    def is_closed(self) -> bool:
        """Whether the connection was closed (it cannot be reopened)."""
        return self._state == _CLOSED

    @property
    def client(self) -> Any:
        """The raw aiobotocore Braket client (refused before open and after close)."""
        self.check_state()
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

    # -- every Braket call, and the lazily created AWS clients -------------------------------

    async def invoke(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one Braket operation (model name, wire parameters); the parsed response
        without ``ResponseMetadata``, or the error as :mod:`braket_async.errors`."""
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
            raise self.state_error()
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
                raise self.state_error() from exc
            raise transport_error(operation, exc, endpoint_url=self.endpoint_url) from exc
        except errors.BraketError:
            raise  # from our own hooks (the credentials provider's answer), as it is
        except Exception as exc:  # botocore could not parse what came back
            if self._state != _OPEN:
                raise self.state_error() from exc
            raise errors.ResponseError(
                f"{operation}: the response could not be parsed ({type(exc).__name__}: {exc})",
                operation=operation,
            ) from exc
        not_json = not_json_answer(operation, response.pop("ResponseMetadata", None))
        if not_json is not None:
            raise not_json
        return response

    async def aws_client(self, service: str) -> Any:
        """The session's aiobotocore client of ``service`` (``s3``, ``logs``, ``sqs``,
        ``events``), created on first need with the session's credentials and endpoint."""
        self.check_state()
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
                self.check_state()
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

    def check_state(self) -> None:
        """Refuse use before open, after close or from another loop."""
        loop = self._loop
        if loop is None:
            raise self.state_error()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return  # sync access from the owning thread (e.g. a property) is fine
        if running is not loop:
            raise self.state_error()

    def check_loop_for_close(self) -> None:
        """Refuse a close from another loop than the one that opened."""
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            raise errors.SessionStateError(
                "this BraketSession belongs to another event loop; close it from that loop"
            )

    def state_error(self) -> errors.SessionStateError:
        """The error of a call the session's state refuses."""
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


def merge_config(max_pool_connections: int, user: Config | None) -> AioConfig:
    """The session's botocore config: its pool, retry mode and user agent, with ``user``'s
    options over them (a ``retries`` without a mode keeps the session's)."""
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
