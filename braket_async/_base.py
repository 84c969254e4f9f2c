"""The small vocabulary the session and its features share.

``Sleep`` / ``Clock`` (injectable, so every loop that waits runs in milliseconds in tests),
``Invoke`` (how a feature sends one Braket operation), :class:`delegate` (how
:class:`~braket_async.BraketSession` exposes a composed feature's method as its own) and
:class:`AsyncContext` (``async with`` over an object's own open and close).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

__all__ = ["AsyncContext", "Clock", "Invoke", "Sleep", "delegate"]

#: An injectable ``asyncio.sleep``; every loop that waits takes one so tests run fast.
Sleep = Callable[[float], Awaitable[None]]
#: An injectable monotonic clock (seconds).
Clock = Callable[[], float]
#: Send one Braket operation: model name (``"GetQuantumTask"``) and wire (camelCase)
#: parameters in, the parsed response (without ``ResponseMetadata``) out.
Invoke = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

_Feature = TypeVar("_Feature")
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


class delegate(Generic[_Feature, _Params, _Result]):
    """A method of the session that forwards to the same method of one of its features.

    ``get_quantum_task = delegate("_operations", Operations.get_quantum_task)`` keeps the
    session's surface flat (boto3-like) while the behaviour lives in a composed object; the
    signature and docstring are the feature's own, so the two cannot drift apart.
    """

    def __init__(
        self, feature: str, method: Callable[Concatenate[_Feature, _Params], _Result]
    ) -> None:
        self._feature = feature
        self._method = method
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        self.__name__ = name
        self.__qualname__ = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(
        self, obj: None, owner: type
    ) -> Callable[Concatenate[_Feature, _Params], _Result]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> Callable[_Params, _Result]: ...
    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self._method
        bound: Callable[_Params, _Result] = self._method.__get__(getattr(obj, self._feature))
        return bound


class AsyncContext:
    """``async with obj:`` runs ``obj``'s own opening and closing: entering awaits
    :meth:`_enter` and answers ``obj``; leaving awaits :meth:`_exit`, whatever the block did.

    A subclass overrides the two with calls to its public methods (``await self.close()``),
    so a subclass of it that overrides those is still what ``async with`` runs.
    """

    __slots__ = ()

    async def _enter(self) -> None:
        """Nothing by default: the object is ready when built."""

    async def _exit(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self._enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit()
