"""The seam every feature module stands on.

``BraketSession`` (in ``_session.py``) implements :class:`SessionCore`; the feature
mixins (operations, waiters, results, batches, jobs) only use what is declared here,
so each lives in its own module and can be tested on its own.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    from .events import EventFeed
    from .telemetry import Telemetry

__all__ = ["Clock", "Invoke", "SessionCore", "Sleep", "delegate"]

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


class SessionCore(abc.ABC):
    """What the feature mixins of :class:`~braket_async.BraketSession` may rely on."""

    @abc.abstractmethod
    async def _invoke(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call the Braket operation ``operation`` (model name, e.g. ``"GetQuantumTask"``).

        ``params`` are wire-level (camelCase) members. Returns the parsed response
        without ``ResponseMetadata``. Passes the session's rate limiter, and raises
        :mod:`braket_async.errors` exceptions, never botocore's.
        """

    @abc.abstractmethod
    async def _s3(self) -> Any:
        """The session's aiobotocore S3 client, created on first need."""

    @abc.abstractmethod
    async def _logs(self) -> Any:
        """The session's aiobotocore CloudWatch Logs client, created on first need."""

    @property
    @abc.abstractmethod
    def sleep(self) -> Sleep:
        """The session's sleep function (``asyncio.sleep`` unless injected)."""

    @property
    @abc.abstractmethod
    def telemetry(self) -> Telemetry:
        """Where the session reports spans and metrics."""

    @property
    @abc.abstractmethod
    def clock(self) -> Clock:
        """The session's monotonic clock (``time.monotonic`` unless injected)."""

    @property
    def events(self) -> EventFeed | None:
        """The session's feed of Braket state-change events, or None (status by polling)."""
        return None
