"""The local Braket service on a thread of its own, for synchronous code and any event loop.

``ThreadedLocalBraket`` runs a :class:`~._service.LocalBraket` on an event loop in a daemon
thread (as moto's ``ThreadedMotoServer`` runs moto), so that the service answers whatever the
caller does with its own thread: a synchronous test calling boto3 or the Braket SDK, or an async
test on any event loop, which never has to run the service's loop::

    with ThreadedLocalBraket(quotas=Quotas.off()) as local:
        boto3.client("braket", **...)          # or os.environ.update(local.environ())
        local.reset()

From async code, ``async with ThreadedLocalBraket() as local:`` starts and stops it in a
worker thread (``asyncio.to_thread``): the caller's loop keeps running meanwhile.

Everything on the handle is safe to call from any thread: the endpoints, credentials and
``environ()`` do not change while it runs; ``reset()``, the ``faults`` and ``quotas`` setters,
``reset_ledger()`` and :meth:`ThreadedLocalBraket.call` are run on the service's loop
(``asyncio.run_coroutine_threadsafe``) and wait for it. The ledger's counters are plain
integers that the service's loop updates: reading them from another thread is safe.

Several services can share one :class:`ServiceThread` (and a simulator executor started on it),
as the pytest plugin's per-test services share the session's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from .._base import AsyncContext
from ._service import LocalBraket
from .state._faults import FaultConfig
from .state._ledger import Ledger
from .state._quotas import Quotas

__all__ = ["ServiceThread", "ThreadedLocalBraket"]

T = TypeVar("T")

#: How long stopping waits for the service's loop to finish its cleanup.
STOP_TIMEOUT = 60.0


class ServiceThread:
    """An asyncio event loop running in a daemon thread until :meth:`stop`.

    :meth:`run` and :meth:`call` hand work to that loop from any other thread and wait for
    its result (its exception is raised in the caller); :meth:`submit` does not wait.

    Args:
        name: The thread's name.
    """

    def __init__(self, name: str = "braket-local") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The service's event loop (only code running on it may touch the services)."""
        if self._loop is None:
            raise RuntimeError(f"ServiceThread {self.name!r} is not started")
        return self._loop

    @property
    def running(self) -> bool:
        """Whether the thread and its loop run."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Start the thread; returns once its loop runs."""
        if self._thread is not None:
            raise RuntimeError(f"ServiceThread {self.name!r} is already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _shut_down(loop)

        self._loop = loop
        self._thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def _check_caller(self) -> None:
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "called on the service's own thread, where waiting for the service would "
                "deadlock: await the coroutine there instead"
            )

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns its future (does not wait).

        Args:
            coro: The coroutine (closed if it cannot be scheduled).

        Returns:
            Its future.
        """
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop)
        except BaseException:
            coro.close()  # never scheduled: no "never awaited" warning
            raise

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait (in the calling thread) for its result.

        Args:
            coro: The coroutine.
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            What ``coro`` returned.

        Raises:
            RuntimeError: Called on the service's own thread.
        """
        try:
            self._check_caller()
        except RuntimeError:
            coro.close()
            raise
        return self.submit(coro).result(timeout)

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the service's loop and await its result from another loop.

        Args:
            coro: The coroutine.

        Returns:
            What ``coro`` returned.
        """
        return await asyncio.wrap_future(self.submit(coro))

    def call(self, function: Callable[[], T | Awaitable[T]]) -> T:
        """Call ``function()`` on the loop (awaiting what it returns if awaitable) and wait
        for the result.

        Args:
            function: Called without arguments on the loop.

        Returns:
            What it returned (awaited if awaitable).
        """

        async def invoke() -> T:
            result = function()
            if inspect.isawaitable(result):
                return await result
            return result

        return self.run(invoke())

    def stop(self) -> None:
        """Stop the loop (its remaining tasks are cancelled) and join the thread.
        Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._check_caller()
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT)
        self._thread = self._loop = None


def _shut_down(loop: asyncio.AbstractEventLoop) -> None:
    # What asyncio.run does at the end: cancel what is left, close generators and executor.
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class ThreadedLocalBraket(AsyncContext):
    """A :class:`LocalBraket` (built from the same keyword arguments) running on its own
    thread and event loop; a synchronous or asynchronous context manager.

    ``thread``: a started :class:`ServiceThread` to run on, shared with other services (not
    stopped by :meth:`stop`); by default the service starts a thread of its own. Objects
    given in the keyword arguments that live on a loop (an ``executor``) must live on that
    thread's loop.

    Args:
        thread: A started :class:`ServiceThread` to run on.
        **kwargs: The arguments of :class:`LocalBraket`.
    """

    def __init__(self, *, thread: ServiceThread | None = None, **kwargs: Any) -> None:
        self._own_thread = thread is None
        self._thread = thread if thread is not None else ServiceThread()
        self._kwargs = kwargs
        self._local: LocalBraket | None = None
        # Building the service validates its arguments now, in the caller's thread.
        self._template = LocalBraket(**kwargs)

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the service (blocks the calling thread until it answers, or raises why it
        could not start)."""
        if self._local is not None:
            raise RuntimeError("ThreadedLocalBraket is already started")
        if self._own_thread:
            self._thread.start()
        local = self._template
        try:
            self._thread.run(local.start())
        except BaseException:
            if self._own_thread:
                self._thread.stop()
            raise
        self._local = local
        return self

    def stop(self) -> None:
        """Stop the service (and its thread, if it is its own). Idempotent."""
        local, self._local = self._local, None
        try:
            if local is not None and self._thread.running:
                self._thread.run(local.close(), timeout=STOP_TIMEOUT)
        finally:
            if self._own_thread:
                self._thread.stop()
        # a stopped service can be started again, on a fresh LocalBraket
        self._template = LocalBraket(**self._kwargs)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _enter(self) -> None:
        # Starting takes seconds (moto, simulator workers): a worker thread waits for it,
        # the caller's loop goes on.
        await asyncio.to_thread(self.start)

    async def _exit(self) -> None:
        await asyncio.to_thread(self.stop)

    # Where it answers (fixed while it runs) --------------------------------------------------

    @property
    def local(self) -> LocalBraket:
        """The service itself. Its methods and records belong to the service's loop: reach
        them through :meth:`call`."""
        if self._local is None:
            raise RuntimeError("ThreadedLocalBraket is not started: use 'with' or start()")
        return self._local

    @property
    def thread(self) -> ServiceThread:
        """The thread (and loop) the service runs on."""
        return self._thread

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the Braket rest-json endpoint."""
        return self.local.endpoint_url

    @property
    def s3_endpoint_url(self) -> str:
        """The S3 endpoint results are written to (the embedded moto server by default)."""
        return self.local.s3_endpoint_url

    @property
    def events_endpoint_url(self) -> str | None:
        """The EventBridge endpoint state-change events go to (None: none are published)."""
        return self.local.events_endpoint_url

    @property
    def control_token(self) -> str:
        """Bearer token of the ``/_local/*`` control routes."""
        return self.local.control_token

    @property
    def jobs_role_arn(self) -> str | None:
        """ARN of the SDK's default jobs role in the embedded moto server."""
        return self.local.jobs_role_arn

    @property
    def credentials(self) -> tuple[str, str]:
        """(access key id, secret access key) every request must be signed with."""
        return self._template.credentials

    @property
    def region(self) -> str:
        """The service's region."""
        return self._template.region

    @property
    def account_id(self) -> str:
        """The account id in the ARNs the service makes."""
        return self._template.account_id

    @property
    def default_bucket(self) -> str:
        """The bucket created at start."""
        return self._template.default_bucket

    @property
    def queue_delay(self) -> float:
        """Seconds a task stays QUEUED at least."""
        return self._template.queue_delay

    @property
    def run_delay(self) -> float:
        """Seconds a task stays RUNNING at least."""
        return self._template.run_delay

    def environ(self) -> dict[str, str]:
        """:meth:`LocalBraket.environ`: the variables that point AWS clients here."""
        return self.local.environ()

    # Changing it (on the service's loop) ------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """The service's counters (read them from any thread; :meth:`reset_ledger` zeroes
        them on the service's loop)."""
        return self.local.ledger

    def reset_ledger(self) -> None:
        """Zero the ledger's counters."""
        self.call(lambda local: local.ledger.reset())

    @property
    def faults(self) -> FaultConfig | None:
        """The fault injection in force; assigning replaces it on the service's loop."""
        return self.local.faults

    @faults.setter
    def faults(self, value: FaultConfig | None) -> None:
        self.call(lambda local: setattr(local, "faults", value))

    @property
    def quotas(self) -> Quotas:
        """The quotas in force; assigning replaces them on the service's loop."""
        return self.local.quotas

    @quotas.setter
    def quotas(self, value: Quotas) -> None:
        self.call(lambda local: setattr(local, "quotas", value))

    def reset(self) -> None:
        """:meth:`LocalBraket.reset` on the service's loop: a clean slate."""
        self._thread.run(self.local.reset())

    async def reset_async(self) -> None:
        """:meth:`reset` without blocking the caller's event loop."""
        await self._thread.run_async(self.local.reset())

    def call(self, function: Callable[[LocalBraket], T | Awaitable[T]]) -> T:
        """``function(local)`` run on the service's loop (awaited there if it returns an
        awaitable); returns its result in the calling thread. For what the handle does not
        offer, e.g. ``threaded.call(lambda local: len(local.store.task_list))``.

        Args:
            function: Called with the :class:`LocalBraket` on the service's loop.

        Returns:
            What it returned (awaited if awaitable).
        """
        local = self.local
        return self._thread.call(lambda: function(local))
