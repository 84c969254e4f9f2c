"""The batch-wide breaker: when most recent creates were answered with a 5xx, every create
of the batch pauses before it is sent, instead of each item retrying on its own schedule.

Each item's retries are bounded by its :class:`~braket_async.polling.RetryBudget` (and by
``server_error_attempts`` answers of one 5xx code); the breaker is the batch's view: a
service answering most creates with 5xx is failing or overloaded, and up to
``max_in_flight`` workers retrying at once would keep it so. Throttling (429) is not its
concern: the session's rate limiter adapts to it. Dropped connections are no signal either.

States: *closed* (no effect) until at least ``min_answers`` of the last ``window`` create
answers are in and more than half of them are 5xx; then *open* for ``pause`` seconds, during
which every create of the batch waits. The window is cleared, so the breaker opens again
only after ``min_answers`` new answers; each time it opens with no success in between the
pause doubles, up to ``max_pause``. A success closes it and resets the pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from ._base import Clock, Sleep
from .polling import PollPolicy, server_error_code, sleep_unless_stopped

__all__ = ["ServerErrorBreaker"]

_log = logging.getLogger("braket_async.batch")


class ServerErrorBreaker:
    """Pauses a batch's creates while most recent answers are 5xx (see the module)."""

    def __init__(
        self,
        *,
        clock: Clock,
        batch_id: str | None = None,
        window: int = 20,
        min_answers: int = 10,
        pause: float = 1.0,
        max_pause: float = 8.0,
    ) -> None:
        self._clock = clock
        self.batch_id = batch_id
        self._answers: deque[bool] = deque(maxlen=window)  # True: a 5xx answer
        self._min_answers = min_answers
        # The pauses back off as polling's delays do: pause, 2 * pause, ... up to max_pause.
        self._pauses = PollPolicy(
            initial=pause, multiplier=2.0, maximum=max(pause, max_pause), jitter=0.0
        )
        self._trips_in_a_row = 0
        self._open_until: float | None = None
        #: How many times the breaker opened (for logs and tests).
        self.trips = 0

    @property
    def is_open(self) -> bool:
        """Creates wait now."""
        return self._open_until is not None and self._clock() < self._open_until

    async def wait(self, sleep: Sleep, stop: asyncio.Event) -> bool:
        """Before a create: wait out an open breaker. False when ``stop`` was set first."""
        if self._open_until is None:
            return True
        delay = self._open_until - self._clock()
        if delay <= 0:
            return True
        # One sleep, not a loop on the clock: an injected sleep that returns early lets it pass.
        return await sleep_unless_stopped(delay, sleep, stop)

    def record(self, error: BaseException | None) -> None:
        """A create's answer: ``None`` for a success, else its error (only 5xx count)."""
        if error is None:
            self._answers.append(False)
            self._trips_in_a_row = 0
            self._open_until = None
            return
        code = server_error_code(error)
        if code is None:
            return  # a 429 (the rate limiter's business), a dropped connection, a 4xx
        self._answers.append(True)
        failed = sum(self._answers)
        if len(self._answers) >= self._min_answers and 2 * failed > len(self._answers):
            self._trip(code, failed, len(self._answers))

    def _trip(self, code: str, failed: int, answers: int) -> None:
        pause = self._pauses.cap(self._trips_in_a_row)
        self._trips_in_a_row += 1
        self._open_until = self._clock() + pause
        self._answers.clear()
        self.trips += 1
        _log.warning(
            "batch %s: %d of the last %d creates were answered with 5xx (last: %s); "
            "pausing every create for %.1fs",
            self.batch_id,
            failed,
            answers,
            code,
            pause,
            extra={"batch_id": self.batch_id, "pause": pause, "error_code": code},
        )
