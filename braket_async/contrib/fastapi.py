"""FastAPI (and any Starlette app) embedding: one session per app, a dependency, background work.

```python
from fastapi import FastAPI
from braket_async.contrib.fastapi import BackgroundDep, BraketDep, braket_lifespan

app = FastAPI(lifespan=braket_lifespan(region_name="us-east-1"))

@app.get("/devices/{arn:path}")
async def device(arn: str, braket: BraketDep) -> dict[str, str]:
    return {"status": (await braket.get_device(arn)).device_status}
```

* :class:`BraketLifespan` opens one :class:`~braket_async.BraketSession` when the app starts
  and closes it when the app stops, after draining (or, past ``shutdown_timeout``, cancelling)
  the background work started through it. Requests share the session and its rate limiter.
* :func:`get_braket` / :data:`BraketDep` and :func:`get_background` / :data:`BackgroundDep` are
  the dependencies for ``Depends(...)``.
* :class:`BackgroundWork` runs coroutines that outlive the request that started them (submit a
  batch in one request, report on it in later ones), keyed so later requests can find them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Annotated, Any, Generic, TypedDict, TypeVar, overload

try:
    from fastapi import Depends
    from starlette.requests import HTTPConnection
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "braket_async.contrib.fastapi needs FastAPI: pip install 'braket-async[fastapi]'"
    ) from exc

from .. import BraketSession

__all__ = [
    "BackgroundDep",
    "BackgroundEntry",
    "BackgroundWork",
    "BraketDep",
    "BraketLifespan",
    "BraketState",
    "braket_lifespan",
    "get_background",
    "get_braket",
]

_log = logging.getLogger(__name__)

V = TypeVar("V")


class BraketState(TypedDict):
    """The lifespan state the app's requests see (``request.state.braket`` etc.)."""

    braket: BraketSession
    braket_background: BackgroundWork


class BackgroundEntry(Generic[V]):
    """One piece of background work: its key, the caller's ``value`` and the asyncio task.

    Args:
        key: The key the work is found under.
        value: What later requests need to find (a record, a batch handle).
        task: The asyncio task running the work.
    """

    def __init__(self, key: str, value: V, task: asyncio.Task[Any]) -> None:
        self.key = key
        self.value = value
        self.task = task

    def done(self) -> bool:
        """Whether the work has finished (returned, raised or was cancelled)."""
        return self.task.done()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"<BackgroundEntry {self.key!r} {state}>"


class BackgroundWork:
    """Coroutines that outlive requests, found again by key, drained or cancelled at shutdown.

    Finished entries stay findable (the ``keep_finished`` most recent ones) so a client can
    still ask about work that ended. A failed coroutine's exception is logged and stays on
    its task (``entry.task.exception()``).

    Args:
        keep_finished: How many finished entries stay findable (>= 0).

    Raises:
        ValueError: ``keep_finished`` is negative.
    """

    def __init__(self, *, keep_finished: int = 1000) -> None:
        if keep_finished < 0:
            raise ValueError(f"keep_finished must be >= 0, got {keep_finished}")
        self._keep_finished = keep_finished
        self._entries: dict[str, BackgroundEntry[Any]] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once shutdown has begun: nothing new may start."""
        return self._closed

    @overload
    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, key: str | None = None
    ) -> BackgroundEntry[None]: ...
    @overload
    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, key: str | None = None, value: V
    ) -> BackgroundEntry[V]: ...
    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, key: str | None = None, value: Any = None
    ) -> BackgroundEntry[Any]:
        """Run ``coro`` in the background under ``key`` (a new uuid4 hex if None).

        ``value`` is whatever later requests need to find (a record, a batch handle). Raises
        ``RuntimeError`` after shutdown began and ``ValueError`` if ``key`` is taken.

        Args:
            coro: The coroutine to run (closed unrun when refused).
            key: The key to find the work under (default: a new uuid4 hex).
            value: What later requests need to find.

        Returns:
            The new entry.

        Raises:
            RuntimeError: Shutdown has begun.
            ValueError: ``key`` is already used.
        """
        if self._closed:
            coro.close()
            raise RuntimeError("BackgroundWork is shutting down: no new work may start")
        key = key if key is not None else uuid.uuid4().hex
        if key in self._entries:
            coro.close()
            raise ValueError(f"key {key!r} is already used by background work")
        task = asyncio.create_task(coro, name=f"braket-background-{key}")
        entry: BackgroundEntry[Any] = BackgroundEntry(key, value, task)
        self._entries[key] = entry
        task.add_done_callback(lambda t: self._on_done(key, t))
        return entry

    def get(self, key: str) -> BackgroundEntry[Any]:
        """The entry under ``key``; ``KeyError`` naming the key when there is none (any more).

        Args:
            key: The work's key.

        Returns:
            The entry.

        Raises:
            KeyError: No entry has that key (any more).
        """
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"no background work with key {key!r}") from None

    def value(self, key: str, cls: type[V]) -> V:
        """The value stored under ``key``, checked to be a ``cls`` (``TypeError`` otherwise).

        Args:
            key: The work's key.
            cls: The class the value must be an instance of.

        Returns:
            The value.

        Raises:
            KeyError: No entry has that key (any more).
            TypeError: The value is not a ``cls``.
        """
        value = self.get(key).value
        if not isinstance(value, cls):
            raise TypeError(
                f"background work {key!r} holds a {type(value).__name__}, not a {cls.__name__}"
            )
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[BackgroundEntry[Any]]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def running(self) -> int:
        """How many entries have not finished."""
        return sum(1 for entry in self._entries.values() if not entry.done())

    async def shutdown(
        self,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a drain budget, then cancellation
        drain: bool = True,
    ) -> None:
        """Refuse new work; wait up to ``timeout`` s for running work if ``drain``; cancel the rest.

        Cancelled coroutines get the same ``timeout`` again to clean up; anything still running
        after that is logged and abandoned, so shutdown always ends.

        Args:
            timeout: Seconds to wait for running work, and again for cancelled work.
            drain: Whether to wait for running work before cancelling it.
        """
        self._closed = True
        pending = {entry.task for entry in self._entries.values() if not entry.done()}
        if pending and drain:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=timeout)
            for task in stuck:
                _log.error("background task %s ignored cancellation at shutdown", task.get_name())

    def _on_done(self, key: str, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            _log.error("background work %r failed", key, exc_info=exc)
        self._finished[key] = None
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            self._entries.pop(old, None)


class BraketLifespan:
    """A Starlette/FastAPI lifespan that owns one :class:`~braket_async.BraketSession`.

    ``FastAPI(lifespan=BraketLifespan(region_name=...))``: keyword arguments go to
    ``BraketSession`` (or pass ``session_factory``). On shutdown, background work is drained
    for up to ``shutdown_timeout`` seconds (``drain=False``: cancelled at once), then the session
    closes. To combine with your own lifespan, enter ``lifespan(app)`` inside it and pass its
    state on.

    Args:
        session_factory: Makes the session (instead of ``session_kwargs``).
        shutdown_timeout: Seconds background work may take at shutdown (>= 0).
        drain: Whether shutdown waits for running work before cancelling it.
        keep_finished: How many finished background entries stay findable.
        **session_kwargs: Keyword arguments of ``BraketSession``.

    Raises:
        TypeError: Both ``session_factory`` and ``session_kwargs`` were given.
        ValueError: ``shutdown_timeout`` is negative.
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], BraketSession] | None = None,
        shutdown_timeout: float = 10.0,
        drain: bool = True,
        keep_finished: int = 1000,
        **session_kwargs: Any,
    ) -> None:
        if session_factory is not None and session_kwargs:
            raise TypeError("pass session_factory or BraketSession keyword arguments, not both")
        if shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be >= 0, got {shutdown_timeout}")
        self._factory = session_factory or (lambda: BraketSession(**session_kwargs))
        self.shutdown_timeout = shutdown_timeout
        self.drain = drain
        self.keep_finished = keep_finished

    def __call__(self, app: Any) -> contextlib.AbstractAsyncContextManager[BraketState]:
        return self._run(app)

    @contextlib.asynccontextmanager
    async def _run(self, app: Any) -> AsyncIterator[BraketState]:
        background = BackgroundWork(keep_finished=self.keep_finished)
        async with self._factory() as braket:
            # app.state too, for code that has the app but no request (startup hooks, tests).
            app.state.braket = braket
            app.state.braket_background = background
            try:
                yield BraketState(braket=braket, braket_background=background)
            finally:
                await background.shutdown(timeout=self.shutdown_timeout, drain=self.drain)
                del app.state.braket
                del app.state.braket_background


def braket_lifespan(**kwargs: Any) -> BraketLifespan:
    """``FastAPI(lifespan=braket_lifespan(region_name=...))``; see :class:`BraketLifespan`.

    Args:
        **kwargs: The arguments of :class:`BraketLifespan`.

    Returns:
        The lifespan.
    """
    return BraketLifespan(**kwargs)


def get_braket(conn: HTTPConnection) -> BraketSession:
    """The app's session, for ``Depends(get_braket)`` (HTTP and WebSocket endpoints).

    Args:
        conn: The request or WebSocket connection.

    Returns:
        The session the lifespan opened.

    Raises:
        RuntimeError: The app has no braket lifespan, or it has not run.
    """
    return _lookup(conn, "braket", BraketSession)  # type: ignore[no-any-return]


def get_background(conn: HTTPConnection) -> BackgroundWork:
    """The app's background-work registry, for ``Depends(get_background)``.

    Args:
        conn: The request or WebSocket connection.

    Returns:
        The lifespan's :class:`BackgroundWork`.

    Raises:
        RuntimeError: The app has no braket lifespan, or it has not run.
    """
    return _lookup(conn, "braket_background", BackgroundWork)  # type: ignore[no-any-return]


def _lookup(conn: HTTPConnection, name: str, cls: type) -> Any:
    value = getattr(conn.state, name, None)
    if value is None:
        value = getattr(conn.app.state, name, None)
    if not isinstance(value, cls):
        raise RuntimeError(
            f"no {cls.__name__} on this app: create it with "
            "FastAPI(lifespan=braket_lifespan(...)) and make sure the lifespan runs"
        )
    return value


BraketDep = Annotated[BraketSession, Depends(get_braket)]
"""``braket: BraketDep`` in an endpoint's parameters gives the app's session."""
BackgroundDep = Annotated[BackgroundWork, Depends(get_background)]
"""``work: BackgroundDep`` gives the app's :class:`BackgroundWork`."""
