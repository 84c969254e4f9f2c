"""The CPU one piece of asyncio code costs, in a process where other code runs too.

``time.thread_time()`` read before and after an ``await`` also counts every other task that
ran in between, so a coroutine's own CPU is summed over its steps instead: a
:class:`CpuMeter` wraps a coroutine and adds up the thread CPU time of each ``send`` /
``throw`` into it (everything that step runs: the awaited calls' Python code, synchronous
callbacks), and none of the time it is suspended. What runs outside its steps (loop
callbacks such as a transport's ``data_received``) is not counted.

::

    meter = CpuMeter()
    result = await meter.wrap(client.receive_message(...))   # one call
    loop.set_task_factory(meter.task_factory(lambda coro: ...))  # chosen tasks, every step
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["CpuMeter"]

T = TypeVar("T")


class CpuMeter:
    """Thread CPU seconds spent inside the steps of the coroutines it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        #: Coroutines wrapped.
        self.count = 0

    def wrap(self, coro: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
        """``coro``, with the CPU of each of its steps added to :attr:`seconds`."""
        self.count += 1
        return _Metered(coro, self)

    def wrap_method(self, owner: Any, name: str) -> None:
        """Meter every call of ``owner.name`` (an ``async def`` method) from now on."""
        method = getattr(owner, name)

        def metered(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
            return self.wrap(method(*args, **kwargs))

        setattr(owner, name, metered)

    def task_factory(
        self, chosen: Callable[[Coroutine[Any, Any, Any]], bool]
    ) -> Callable[..., asyncio.Task[Any]]:
        """A loop task factory metering the tasks whose coroutine ``chosen`` picks."""

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
        ) -> asyncio.Task[Any]:
            if chosen(coro):
                coro = self.wrap(coro)
            return asyncio.Task(coro, loop=loop, **kwargs)

        return factory


class _Metered(Coroutine[Any, Any, T]):
    """A coroutine delegating to another one, timing each step on the thread's CPU clock."""

    __slots__ = ("_coro", "_meter")

    def __init__(self, coro: Coroutine[Any, Any, T], meter: CpuMeter) -> None:
        self._coro = coro
        self._meter = meter

    def send(self, value: Any) -> Any:
        start = time.thread_time()
        try:
            return self._coro.send(value)
        finally:
            self._meter.seconds += time.thread_time() - start

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        start = time.thread_time()
        try:
            if val is None and tb is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, val, tb)
        finally:
            self._meter.seconds += time.thread_time() - start

    def close(self) -> None:
        self._coro.close()

    def __next__(self) -> Any:
        return self.send(None)

    def __iter__(self) -> _Metered[T]:
        return self

    def __await__(self) -> Generator[Any, None, T]:
        return self  # type: ignore[return-value]
