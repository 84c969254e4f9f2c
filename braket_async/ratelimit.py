"""Client-side rate limiting shared by one session (placeholder interface; issue 5 fills it in)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import attrs

from ._base import Clock, Sleep

__all__ = ["Rate", "RateLimiter", "RateLimits"]


@attrs.frozen
class Rate:
    """A token bucket: ``per_second`` refill, ``burst`` capacity."""

    per_second: float
    burst: int


@attrs.frozen
class RateLimits:
    """Per-operation and account-wide rates; ``None`` account means unlimited."""

    account: Rate | None = None
    operations: Mapping[str, Rate] = attrs.field(factory=dict)
    enabled: bool = True

    @classmethod
    def aws_defaults(cls, scale: float = 1.0, **overrides: Rate) -> RateLimits:
        return cls()

    @classmethod
    def off(cls) -> RateLimits:
        return cls(enabled=False)


class RateLimiter:
    """Shared by every call of one session."""

    def __init__(
        self, limits: RateLimits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits

    async def acquire(self, operation: str) -> None:
        """Wait until ``operation`` may be sent."""

    def record_throttle(self, operation: str) -> None:
        """The service answered 429: slow down."""
