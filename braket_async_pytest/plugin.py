"""Fixtures that run the local Braket service for a test session (the ``pytest11`` plugin).

- ``braket_local``: the session's service, or, for a test marked
  ``@pytest.mark.braket_local(quotas=..., faults=..., queue_delay=...)``, a short-lived service
  of its own that shares the session's simulator workers and S3.
- ``braket``: a :class:`~braket_async.BraketSession` on ``braket_local``, opened on the test's
  own event loop (async tests).
- ``braket_env``: ``braket_local.environ()`` set in ``os.environ`` for boto3 / SDK code under
  test (and :data:`~braket_async.local.CONFLICTING_VARIABLES` unset), undone after the test.
- ``braket_ledger``: ``braket_local.ledger``, reset before the test.
- ``braket_clean``: ``braket_local`` reset to a clean slate before the test (tasks, jobs,
  ledger, faults, quotas).
- ``braket_local_session``, ``braket_local_factory``, ``braket_simulator_executor``: the pieces
  (the session's service, a factory of extra services, the shared worker pool).

Two modes (ini option ``braket_local_mode``):

- ``thread`` (default): the services run on an event loop in a thread of their own
  (:class:`~braket_async.local.ThreadedLocalBraket`), so any test reaches them: a synchronous
  test (boto3, the Braket SDK), an async test on any loop scope, with pytest-asyncio's
  defaults. ``braket_local`` is then a ``ThreadedLocalBraket``.
- ``session-loop``: the services run on pytest-asyncio's session-scoped loop, as
  :class:`~braket_async.local.LocalBraket` objects whose internals a test may touch directly;
  tests that use them must run on that loop (a test that does not fails with a message saying
  so, instead of hanging).

Under pytest-xdist each worker process has its own session, so its own service.
Nothing here imports the service, moto or the simulator until a fixture is used.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import pytest

if TYPE_CHECKING:
    from braket_async import BraketSession
    from braket_async.local import (
        FaultConfig,
        Ledger,
        LocalBraket,
        Quotas,
        ServiceThread,
        ThreadedLocalBraket,
    )

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = [
    "braket",
    "braket_clean",
    "braket_env",
    "braket_ledger",
    "braket_local",
    "braket_local_factory",
    "braket_local_session",
    "braket_simulator_executor",
]


_MARKER = "braket_local"
_THREAD, _SESSION_LOOP = "thread", "session-loop"
_LOOP_SCOPES = ("function", "class", "module", "package", "session")
_INI: tuple[tuple[str, str, str | None, Any], ...] = (
    (
        "braket_local_mode",
        "where the services run: 'thread' (their own thread: any test, "
        "sync or async, any loop) or 'session-loop' (pytest-asyncio's session loop)",
        None,
        _THREAD,
    ),
    (
        "braket_local_quotas",
        "quotas of the session's service: aws_defaults, off, or aws_defaults:SCALE",
        None,
        "aws_defaults",
    ),
    (
        "braket_local_faults",
        "fault injection of the session's service, as the JSON of PUT /_local/faults",
        None,
        "",
    ),
    ("braket_local_queue_delay", "seconds a task stays QUEUED at least", None, "0"),
    ("braket_local_run_delay", "seconds a task stays RUNNING at least", None, "0"),
    ("braket_local_workers", "simulator worker processes (default: min(2, cpu))", None, ""),
    (
        "braket_local_job_scripts",
        "run hybrid-job scripts as local processes (false: jobs run no script)",
        "bool",
        True,
    ),
    ("braket_local_region", "region of the services", None, "us-east-1"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, help_text, kind, default in _INI:
        parser.addini(name, help_text, type=kind, default=default)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**kwargs): give this test its own local Braket service (keyword arguments "
        "of LocalBraket; quotas may be 'off' / 'aws_defaults' / 'aws_defaults:SCALE', faults "
        "a FaultConfig or its JSON dict), sharing the session's simulator workers and S3",
    )


def _bad(message: str) -> NoReturn:
    # a setup error of the test that uses the fixture, with just this message
    pytest.fail(message, pytrace=False)


# Settings -------------------------------------------------------------------------------------


def _quotas(value: Any, where: str) -> Quotas:
    from braket_async.local import Quotas

    if isinstance(value, Quotas):
        return value
    text = str(value).strip()
    if text == "off":
        return Quotas.off()
    name, _, scale = text.partition(":")
    if name == "aws_defaults":
        try:
            return Quotas.aws_defaults(scale=float(scale) if scale else 1.0)
        except ValueError as exc:
            _bad(f"{where}: {exc}")
    _bad(f"{where} must be 'off', 'aws_defaults' or 'aws_defaults:SCALE', got {value!r}")


def _faults(value: Any, where: str) -> FaultConfig | None:
    from braket_async.local import FaultConfig

    if value is None or isinstance(value, FaultConfig):
        return value
    doc = value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            _bad(f"{where} must be JSON: {exc}")
    try:
        return FaultConfig.from_json(doc)
    except (TypeError, ValueError) as exc:
        _bad(f"{where}: {exc}")


def _seconds(config: pytest.Config, name: str) -> float:
    text = str(config.getini(name)).strip() or "0"
    try:
        value = float(text)
    except ValueError:
        _bad(f"{name} must be a number of seconds, got {text!r}")
    if value < 0:
        _bad(f"{name} must be >= 0 seconds, got {text}")
    return value


def _workers(config: pytest.Config) -> int | None:
    text = str(config.getini("braket_local_workers")).strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        _bad(f"braket_local_workers must be an integer >= 1, got {text!r}")
    return int(text)


def _job_runner_kwargs(config: pytest.Config) -> dict[str, Any]:
    if config.getini("braket_local_job_scripts"):
        return {}
    from braket_async.local import NoScriptJobRunner

    return {"job_runner": NoScriptJobRunner()}


def _service_kwargs(config: pytest.Config) -> dict[str, Any]:
    return {
        "region": str(config.getini("braket_local_region")).strip() or "us-east-1",
        "quotas": _quotas(config.getini("braket_local_quotas"), "braket_local_quotas"),
        "faults": _faults(config.getini("braket_local_faults"), "braket_local_faults"),
        "queue_delay": _seconds(config, "braket_local_queue_delay"),
        "run_delay": _seconds(config, "braket_local_run_delay"),
        **_job_runner_kwargs(config),
    }


def _marker_kwargs(marker: pytest.Mark) -> dict[str, Any]:
    if marker.args:
        _bad(f"@pytest.mark.{_MARKER} takes keyword arguments only")
    kwargs = dict(marker.kwargs)
    if "quotas" in kwargs:
        kwargs["quotas"] = _quotas(kwargs["quotas"], f"@pytest.mark.{_MARKER}(quotas=...)")
    if "faults" in kwargs:
        kwargs["faults"] = _faults(kwargs["faults"], f"@pytest.mark.{_MARKER}(faults=...)")
    return kwargs


def _mode(config: pytest.Config) -> str:
    text = str(config.getini("braket_local_mode")).strip() or _THREAD
    if text not in (_THREAD, _SESSION_LOOP):
        _bad(f"braket_local_mode must be {_THREAD!r} or {_SESSION_LOOP!r}, got {text!r}")
    return text


def _test_loop_scope(item: pytest.Item) -> str | None:
    """The loop scope pytest-asyncio runs the (async) test on; None for a sync test."""
    if not inspect.iscoroutinefunction(getattr(item, "obj", None)):
        return None
    marker = item.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") if marker is not None else None
    if scope is None:
        with contextlib.suppress(ValueError):
            scope = item.config.getini("asyncio_default_test_loop_scope")
    return str(scope or "function")


def _check_loop(request: pytest.FixtureRequest) -> None:
    """session-loop mode: fail (not hang) when the test cannot reach a service on the
    session's loop."""
    item = request.node
    scope = _test_loop_scope(item)
    if scope is None:
        pytest.fail(
            f"{item.name}: the local Braket service runs on the session's event loop "
            f"(braket_local_mode = {_SESSION_LOOP}), which only runs during async tests: make "
            "the test 'async def', or use braket_local_mode = thread (the default), where "
            "synchronous tests reach the service too.",
            pytrace=False,
        )
    if scope != "session":
        pytest.fail(
            f"{item.name}: the local Braket service runs on the session's event loop "
            f"(braket_local_mode = {_SESSION_LOOP}); run the test there too (loop scope is "
            f"{scope!r}): set asyncio_default_test_loop_scope = session (and "
            "asyncio_default_fixture_loop_scope = session), mark the test "
            "@pytest.mark.asyncio(loop_scope='session'), or use braket_local_mode = thread "
            "(the default), where any loop reaches the service.",
            pytrace=False,
        )


def _factory_kwargs(
    config: pytest.Config, session: Any, executor: Any, kwargs: dict[str, Any]
) -> dict[str, Any]:
    # each service its own job runner (and settings read afresh)
    given = {**_service_kwargs(config), **kwargs}
    if "job_runner_factory" in kwargs:
        given.pop("job_runner", None)
    given.setdefault("executor", executor)
    given.setdefault("s3_endpoint_url", session.s3_endpoint_url)
    given.setdefault("credentials", session.credentials)
    given.setdefault("s3_credentials", session.credentials)
    return given


@attrs.frozen
class _Threaded:
    """thread mode: the session's service thread, its simulator workers and service."""

    thread: ServiceThread
    executor: Any
    service: ThreadedLocalBraket


# Fixtures: the same names in both modes ------------------------------------------------------
# A public fixture is synchronous and picks its mode's implementation with getfixturevalue,
# so that one name works in synchronous tests (thread mode) and on any loop.


@pytest.fixture(scope="session")
def braket_simulator_executor(request: pytest.FixtureRequest) -> Any:
    """One warm simulator worker pool shared by every service of the session (in thread mode
    it lives on the services' thread: only services started there may use it).

    Args:
        request: The pytest request (its config picks the mode).
    """
    if _mode(request.config) == _THREAD:
        return request.getfixturevalue("_braket_threaded").executor
    return request.getfixturevalue("_braket_loop_executor")


@pytest.fixture(scope="session")
def braket_local_session(request: pytest.FixtureRequest) -> ThreadedLocalBraket | LocalBraket:
    """The session's local Braket service (settings from the ``braket_local_*`` ini
    options), with its embedded moto server (S3, STS, IAM, CloudWatch Logs, ...).

    Args:
        request: The pytest request (its config picks the mode).
    """
    if _mode(request.config) == _THREAD:
        service: ThreadedLocalBraket = request.getfixturevalue("_braket_threaded").service
        return service
    local: LocalBraket = request.getfixturevalue("_braket_loop_service")
    return local


@pytest.fixture
def braket_local_factory(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Extra services sharing the session's workers and S3 (no moto, no worker warm-up),
    stopped after the test; settings not given come from the ini options. Thread mode:
    ``braket_local_factory(**LocalBraket_kwargs)`` returns a started ``ThreadedLocalBraket``
    (from an async test: ``await asyncio.to_thread(braket_local_factory, ...)``);
    session-loop mode: ``await braket_local_factory(**kwargs)`` returns a ``LocalBraket``.

    Args:
        request: The pytest request (its config picks the mode).
    """
    if _mode(request.config) == _THREAD:
        factory: Callable[..., Any] = request.getfixturevalue("_braket_threaded_factory")
    else:
        factory = request.getfixturevalue("_braket_loop_factory")
    return factory


@pytest.fixture
def braket_local(request: pytest.FixtureRequest) -> ThreadedLocalBraket | LocalBraket:
    """The session's service, or this test's own one when it is marked
    ``@pytest.mark.braket_local(...)``.

    Args:
        request: The pytest request (its marker and config).
    """
    marker = request.node.get_closest_marker(_MARKER)
    if _mode(request.config) == _THREAD:
        if marker is None:
            service: ThreadedLocalBraket = request.getfixturevalue("braket_local_session")
            return service
        factory = request.getfixturevalue("braket_local_factory")
        service = factory(**_marker_kwargs(marker))
        return service
    _check_loop(request)
    name = "braket_local_session" if marker is None else "_braket_loop_marked"
    local: LocalBraket = request.getfixturevalue(name)
    return local


@pytest.fixture
def braket(request: pytest.FixtureRequest) -> BraketSession:
    """A ``BraketSession`` on ``braket_local`` (its credentials and region), opened on the
    event loop the (async) test runs on, closed after it.

    Args:
        request: The pytest request (the test's event loop scope).
    """
    scope = _test_loop_scope(request.node)
    if scope is None:
        _bad(
            f"{request.node.name}: 'braket' is a BraketSession, whose methods are coroutines: "
            "use it in an 'async def' test. Synchronous code (boto3, the Braket SDK) reaches "
            "the service through braket_env (or braket_local.endpoint_url)."
        )
    if scope not in _LOOP_SCOPES:
        _bad(f"{request.node.name}: unknown asyncio loop scope {scope!r}")
    session: BraketSession = request.getfixturevalue(f"_braket_on_{scope}_loop")
    return session


@pytest.fixture
def braket_env(
    braket_local: ThreadedLocalBraket | LocalBraket, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """``braket_local.environ()`` applied to ``os.environ`` for the test (undone after);
    returns the variables set.

    Args:
        braket_local: The test's service.
        monkeypatch: Sets and restores the variables.
    """
    from braket_async.local import CONFLICTING_VARIABLES

    env = braket_local.environ()
    for name in CONFLICTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env


@pytest.fixture
def braket_ledger(braket_local: ThreadedLocalBraket | LocalBraket) -> Ledger:
    """``braket_local.ledger`` (call, throttle, fault and error counters), reset now.

    Args:
        braket_local: The test's service.
    """
    from braket_async.local import ThreadedLocalBraket

    if isinstance(braket_local, ThreadedLocalBraket):
        braket_local.reset_ledger()
    else:
        braket_local.ledger.reset()  # the session's loop does not run between tests
    return braket_local.ledger


@pytest.fixture
def braket_clean(
    request: pytest.FixtureRequest, braket_local: ThreadedLocalBraket | LocalBraket
) -> ThreadedLocalBraket | LocalBraket:
    """``braket_local`` with a clean slate (``LocalBraket.reset``): running tasks and jobs
    stopped, every task, job and spending limit forgotten, the ledger zeroed, the quotas (full
    buckets) and faults it started with back in force.

    Args:
        request: The pytest request (its config picks the mode).
        braket_local: The test's service.
    """
    from braket_async.local import ThreadedLocalBraket

    if isinstance(braket_local, ThreadedLocalBraket):
        braket_local.reset()
    else:
        request.getfixturevalue("_braket_loop_reset")
    return braket_local


# thread mode --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _braket_threaded(request: pytest.FixtureRequest) -> Iterator[_Threaded]:
    from braket_async.local import ServiceThread, ThreadedLocalBraket
    from braket_async.local.simulation._executor import SimulatorExecutor

    kwargs = _service_kwargs(request.config)
    with contextlib.ExitStack() as stack:
        thread = ServiceThread("braket-local-pytest").start()
        stack.callback(thread.stop)
        executor = SimulatorExecutor(workers=_workers(request.config))
        # the workers warm up while the service (moto) starts
        warming = thread.submit(executor.start())
        stack.callback(lambda: thread.run(executor.close()))
        service = ThreadedLocalBraket(thread=thread, executor=executor, **kwargs)
        try:
            service.start()
        finally:
            warming.result()
        stack.callback(service.stop)
        yield _Threaded(thread, executor, service)


@pytest.fixture
def _braket_threaded_factory(
    request: pytest.FixtureRequest, _braket_threaded: _Threaded
) -> Iterator[Callable[..., ThreadedLocalBraket]]:
    from braket_async.local import ThreadedLocalBraket

    base = _braket_threaded
    with contextlib.ExitStack() as stack:

        def factory(**kwargs: Any) -> ThreadedLocalBraket:
            given = _factory_kwargs(request.config, base.service, base.executor, kwargs)
            service = ThreadedLocalBraket(thread=base.thread, **given).start()
            stack.callback(service.stop)
            return service

        yield factory


# session-loop mode and the BraketSession on each loop ----------------------------------------

if pytest_asyncio is None:  # pragma: no cover - exercised only without pytest-asyncio

    def _missing(*_args: Any, **_kwargs: Any) -> Any:
        pytest.fail(
            "the braket_async fixtures need pytest-asyncio: pip install pytest-asyncio",
            pytrace=False,
        )

    # thread mode serves synchronous tests without it; the rest needs it
    _braket_loop_executor = pytest.fixture(scope="session")(_missing)
    _braket_loop_service = pytest.fixture(scope="session")(_missing)
    _braket_loop_factory = pytest.fixture(_missing)
    _braket_loop_marked = pytest.fixture(_missing)
    _braket_loop_reset = pytest.fixture(_missing)
    for _scope in _LOOP_SCOPES:
        globals()[f"_braket_on_{_scope}_loop"] = pytest.fixture(
            _missing, name=f"_braket_on_{_scope}_loop"
        )

else:
    _session_fixture = pytest_asyncio.fixture(scope="session", loop_scope="session")
    _test_fixture = pytest_asyncio.fixture(loop_scope="session")

    @_session_fixture
    async def _braket_loop_executor(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
        from braket_async.local.simulation._executor import SimulatorExecutor

        executor = SimulatorExecutor(workers=_workers(request.config))
        await executor.start()
        try:
            yield executor
        finally:
            await executor.close()

    @_session_fixture
    async def _braket_loop_service(
        request: pytest.FixtureRequest, _braket_loop_executor: Any
    ) -> AsyncIterator[LocalBraket]:
        from braket_async.local import LocalBraket

        kwargs = _service_kwargs(request.config)
        async with LocalBraket(executor=_braket_loop_executor, **kwargs) as local:
            yield local

    @_test_fixture
    async def _braket_loop_factory(
        request: pytest.FixtureRequest,
        _braket_loop_service: LocalBraket,
        _braket_loop_executor: Any,
    ) -> AsyncIterator[Callable[..., Any]]:
        from braket_async.local import LocalBraket

        async with contextlib.AsyncExitStack() as stack:

            async def factory(**kwargs: Any) -> LocalBraket:
                given = _factory_kwargs(
                    request.config, _braket_loop_service, _braket_loop_executor, kwargs
                )
                return await stack.enter_async_context(LocalBraket(**given))

            yield factory

    @_test_fixture
    async def _braket_loop_marked(
        request: pytest.FixtureRequest, _braket_loop_factory: Callable[..., Any]
    ) -> LocalBraket:
        marker = request.node.get_closest_marker(_MARKER)
        local: LocalBraket = await _braket_loop_factory(**_marker_kwargs(marker))
        return local

    @_test_fixture
    async def _braket_loop_reset(braket_local: LocalBraket) -> None:
        await braket_local.reset()

    def _session_on_loop(scope: Any) -> Any:
        @pytest_asyncio.fixture(loop_scope=scope, name=f"_braket_on_{scope}_loop")
        async def session_fixture(
            braket_local: ThreadedLocalBraket | LocalBraket,
        ) -> AsyncIterator[BraketSession]:
            from braket_async import BraketSession

            key, secret = braket_local.credentials
            async with BraketSession(
                endpoint_url=braket_local.endpoint_url,
                s3_endpoint_url=braket_local.s3_endpoint_url,
                logs_endpoint_url=braket_local.s3_endpoint_url,
                region_name=braket_local.region,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
            ) as session:
                yield session

        return session_fixture

    _braket_on_function_loop = _session_on_loop("function")
    _braket_on_class_loop = _session_on_loop("class")
    _braket_on_module_loop = _session_on_loop("module")
    _braket_on_package_loop = _session_on_loop("package")
    _braket_on_session_loop = _session_on_loop("session")
