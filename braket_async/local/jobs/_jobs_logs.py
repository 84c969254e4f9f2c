"""Ships a job's output lines to CloudWatch Logs in batches (``put_log_events``), not per line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ..._base import Sleep

__all__ = ["LogShipper"]

_log = logging.getLogger(__name__)

# CloudWatch Logs PutLogEvents limits: 10,000 events and 1,048,576 bytes per call, counting
# each event's UTF-8 message plus 26 bytes; one event at most 256 KiB.
_MAX_BATCH_EVENTS = 10_000
_MAX_BATCH_BYTES = 1_048_576
_EVENT_OVERHEAD = 26
_MAX_EVENT_BYTES = 256 * 1024 - _EVENT_OVERHEAD


def _split_long(message: str) -> list[str]:
    encoded = message.encode("utf-8")
    if len(encoded) <= _MAX_EVENT_BYTES:
        return [message]
    pieces = []
    for start in range(0, len(encoded), _MAX_EVENT_BYTES):
        pieces.append(encoded[start : start + _MAX_EVENT_BYTES].decode("utf-8", "ignore"))
    return pieces


class LogShipper:
    """Buffers lines and flushes them every ``flush_interval`` seconds to one log stream.

    ``add`` never blocks or fails; ``close`` flushes what is left. Shipping errors are logged
    and the batch dropped: a job never fails because its logs could not be written.
    """

    def __init__(
        self,
        logs_client: Any,
        *,
        group: str,
        stream: str,
        flush_interval: float = 0.25,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = logs_client
        self.group = group
        self.stream = stream
        self._flush_interval = flush_interval
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._pending: list[dict[str, Any]] = []
        self._last_timestamp = 0
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self.shipped = 0

    async def start(self) -> None:
        """Create the group (if new) and the stream, then start the periodic flush."""
        with contextlib.suppress(self._client.exceptions.ResourceAlreadyExistsException):
            await self._client.create_log_group(logGroupName=self.group)
        with contextlib.suppress(self._client.exceptions.ResourceAlreadyExistsException):
            await self._client.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
        self._loop_task = asyncio.create_task(self._flush_loop(), name=f"logs:{self.stream}")

    def add(self, message: str) -> None:
        """Queue one line (trailing newline stripped; blank lines are not shipped)."""
        message = message.rstrip("\r\n")
        if not message.strip():
            return
        # events in one call must be in time order: never let the wall clock step back
        timestamp = max(int(self._wall_clock() * 1000), self._last_timestamp)
        self._last_timestamp = timestamp
        for piece in _split_long(message):
            self._pending.append({"timestamp": timestamp, "message": piece})

    async def _flush_loop(self) -> None:
        while True:
            await self._sleep(self._flush_interval)
            await self.flush()

    async def flush(self) -> None:
        """Send everything queued so far, in as few calls as the limits allow."""
        async with self._lock:
            while self._pending:
                batch: list[dict[str, Any]] = []
                size = 0
                for event in self._pending:
                    cost = len(event["message"].encode("utf-8")) + _EVENT_OVERHEAD
                    full = len(batch) == _MAX_BATCH_EVENTS or size + cost > _MAX_BATCH_BYTES
                    if batch and full:
                        break
                    batch.append(event)
                    size += cost
                del self._pending[: len(batch)]
                try:
                    await self._client.put_log_events(
                        logGroupName=self.group, logStreamName=self.stream, logEvents=batch
                    )
                    self.shipped += len(batch)
                except Exception:  # a job never fails because of its logs
                    _log.warning(
                        "could not ship %d log events to %s", len(batch), self.stream, exc_info=True
                    )

    async def close(self) -> None:
        """Stop the periodic flush and ship what is left."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            # under the lock the loop is not in the middle of a put: no batch is lost
            async with self._lock:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
