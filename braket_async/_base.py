"""The seam every feature module stands on.

``BraketSession`` (in ``_session.py``) implements :class:`SessionCore`; the feature
mixins (operations, waiters, results, batches, jobs) only use what is declared here,
so each lives in its own module and can be tested on its own.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .events import EventFeed
    from .telemetry import Telemetry

__all__ = ["Clock", "SessionCore", "Sleep"]

#: An injectable ``asyncio.sleep``; every loop that waits takes one so tests run fast.
Sleep = Callable[[float], Awaitable[None]]
#: An injectable monotonic clock (seconds).
Clock = Callable[[], float]


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
