"""Fixtures that run the local Braket service for a test session (the ``pytest11`` plugin).

- ``braket_local``: the session's :class:`~braket_async.local.LocalBraket`, or, for a test
  marked ``@pytest.mark.braket_local(quotas=..., faults=..., queue_delay=...)``, a short-lived
  service of its own that shares the session's simulator workers and S3.
- ``braket``: a :class:`~braket_async.BraketSession` on ``braket_local``.
- ``braket_env``: ``braket_local.environ()`` set in ``os.environ`` for boto3 / SDK code under
  test (and :data:`~braket_async.local.CONFLICTING_VARIABLES` unset), undone after the test.
- ``braket_ledger``: ``braket_local.ledger``, reset before the test.
- ``braket_local_session``, ``braket_local_factory``, ``braket_simulator_executor``: the pieces
  (the session's service, a factory of extra services, the shared worker pool).

The service runs on the event loop of the test session, so tests that use it must run on the
session-scoped loop of pytest-asyncio (``asyncio_default_test_loop_scope = "session"`` or
``@pytest.mark.asyncio(loop_scope="session")``); blocking clients (boto3, the Braket SDK) run
in a thread (``asyncio.to_thread``) or a subprocess. A test that breaks this rule fails with a
message saying so, instead of hanging.

Nothing here imports the service, moto or the simulator until a fixture is used.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from braket_async import BraketSession
    from braket_async.local import FaultConfig, Ledger, LocalBraket, Quotas

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = [
    "braket",
    "braket_env",
    "braket_ledger",
    "braket_local",
    "braket_local_factory",
    "braket_local_session",
    "braket_simulator_executor",
]

LocalFactory = Callable[..., Awaitable["LocalBraket"]]

_MARKER = "braket_local"
_INI: tuple[tuple[str, str, str | None, Any], ...] = (
    ("braket_local_quotas", "quotas of the session's service: aws_defaults, off, or "
     "aws_defaults:SCALE", None, "aws_defaults"),
    ("braket_local_faults", "fault injection of the session's service, as the JSON of "
     "PUT /_local/faults", None, ""),
    ("braket_local_queue_delay", "seconds a task stays QUEUED at least", None, "0"),
    ("braket_local_run_delay", "seconds a task stays RUNNING at least", None, "0"),
    ("braket_local_workers", "simulator worker processes (default: min(2, cpu))", None, ""),
    ("braket_local_job_scripts", "run hybrid-job scripts as local processes (false: jobs "
     "run no script)", "bool", True),
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
    _bad(
        f"{where} must be 'off', 'aws_defaults' or 'aws_defaults:SCALE', got {value!r}"
    )


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


def _check_loop(request: pytest.FixtureRequest) -> None:
    """Fail (not hang) when the test cannot reach a service on the session's loop."""
    item = request.node
    function = getattr(item, "obj", None)
    if not inspect.iscoroutinefunction(function):
        pytest.fail(
            f"{item.name}: the local Braket service runs on the session's event loop, which "
            "only runs during async tests: make the test 'async def' (run boto3 / Braket SDK "
            "code in it with asyncio.to_thread).",
            pytrace=False,
        )
    marker = item.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") if marker is not None else None
    if scope is None:
        with contextlib.suppress(ValueError):
            scope = item.config.getini("asyncio_default_test_loop_scope")
    if (scope or "function") != "session":
        pytest.fail(
            f"{item.name}: the local Braket service runs on the session's event loop; run the "
            f"test there too (loop scope is {scope or 'function'!r}): set "
            "asyncio_default_test_loop_scope = session (and asyncio_default_fixture_loop_scope "
            "= session) in the pytest configuration, or mark the test "
            "@pytest.mark.asyncio(loop_scope='session').",
            pytrace=False,
        )


# Fixtures -------------------------------------------------------------------------------------

if pytest_asyncio is None:  # pragma: no cover - exercised only without pytest-asyncio

    def _missing(*_args: Any, **_kwargs: Any) -> Any:
        pytest.fail(
            "the braket_async fixtures need pytest-asyncio: pip install pytest-asyncio",
            pytrace=False,
        )

    braket_simulator_executor = pytest.fixture(scope="session")(_missing)
    braket_local_session = pytest.fixture(scope="session")(_missing)
    braket_local_factory = pytest.fixture(_missing)
    braket_local = pytest.fixture(_missing)
    braket = pytest.fixture(_missing)
    braket_env = pytest.fixture(_missing)
    braket_ledger = pytest.fixture(_missing)

else:
    _session_fixture = pytest_asyncio.fixture(scope="session", loop_scope="session")
    _test_fixture = pytest_asyncio.fixture(loop_scope="session")

    @_session_fixture
    async def braket_simulator_executor(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
        """One warm simulator worker pool shared by every service of the session."""
        from braket_async.local._executor import SimulatorExecutor

        executor = SimulatorExecutor(workers=_workers(request.config))
        await executor.start()
        try:
            yield executor
        finally:
            await executor.close()

    @_session_fixture
    async def braket_local_session(
        request: pytest.FixtureRequest, braket_simulator_executor: Any
    ) -> AsyncIterator[LocalBraket]:
        """The session's local Braket service (settings from the ``braket_local_*`` ini
        options), with its embedded moto server (S3, STS, IAM, CloudWatch Logs, ...)."""
        from braket_async.local import LocalBraket

        kwargs = _service_kwargs(request.config)
        async with LocalBraket(executor=braket_simulator_executor, **kwargs) as local:
            yield local

    @_test_fixture
    async def braket_local_factory(
        request: pytest.FixtureRequest,
        braket_local_session: LocalBraket,
        braket_simulator_executor: Any,
    ) -> AsyncIterator[LocalFactory]:
        """``await braket_local_factory(**LocalBraket_kwargs)``: extra services sharing the
        session's workers and S3 (they start in milliseconds), closed after the test. Settings
        not given come from the ini options."""
        from braket_async.local import LocalBraket

        async with contextlib.AsyncExitStack() as stack:

            async def factory(**kwargs: Any) -> LocalBraket:
                # each service its own job runner (and settings read afresh)
                given = {**_service_kwargs(request.config), **kwargs}
                if "job_runner_factory" in kwargs:
                    given.pop("job_runner", None)
                given.setdefault("executor", braket_simulator_executor)
                given.setdefault("s3_endpoint_url", braket_local_session.s3_endpoint_url)
                given.setdefault("credentials", braket_local_session.credentials)
                given.setdefault("s3_credentials", braket_local_session.credentials)
                return await stack.enter_async_context(LocalBraket(**given))

            yield factory

    @_test_fixture
    async def braket_local(
        request: pytest.FixtureRequest,
        braket_local_session: LocalBraket,
        braket_local_factory: LocalFactory,
    ) -> LocalBraket:
        """The session's service, or this test's own one when it is marked
        ``@pytest.mark.braket_local(...)``."""
        _check_loop(request)
        marker = request.node.get_closest_marker(_MARKER)
        if marker is None:
            return braket_local_session
        return await braket_local_factory(**_marker_kwargs(marker))

    @_test_fixture
    async def braket(braket_local: LocalBraket) -> AsyncIterator[BraketSession]:
        """A ``BraketSession`` on ``braket_local`` (its credentials and region)."""
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

    @pytest.fixture
    def braket_env(
        braket_local: LocalBraket, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[dict[str, str]]:
        """``braket_local.environ()`` applied to ``os.environ`` for the test (undone after);
        returns the variables set."""
        from braket_async.local import CONFLICTING_VARIABLES

        env = braket_local.environ()
        for name in CONFLICTING_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield env

    @pytest.fixture
    def braket_ledger(braket_local: LocalBraket) -> Ledger:
        """``braket_local.ledger`` (call, throttle, fault and error counters), reset now."""
        braket_local.ledger.reset()
        return braket_local.ledger
