"""``SqsEventSource``: Braket state-change events from an SQS queue an EventBridge rule targets.

One receive loop per source, running while it has subscribers: it long-polls the queue (up to
10 messages, up to 20 s per ReceiveMessage), parses each message (:mod:`._parse`), drops the
events it has already delivered (by envelope id and by content, in a bounded memory), calls
every subscriber, and then deletes the messages it processed in DeleteMessageBatch calls. A
message is deleted only after every subscriber's callback returned: cancelling the loop
mid-receive or mid-batch loses nothing, the message becomes visible again after the queue's
visibility timeout. A message is never deleted unless a live subscriber received it: when
the subscribers go away (the last one unsubscribes inside its callback, say), the rest of the
batch is handed back at once (ChangeMessageVisibility 0). Messages of other kinds are deleted
unread; malformed ones are logged and deleted (retrying them cannot make them readable).

Every SQS call goes through an :class:`~braket_async._aws_accessors.SqsQueues` accessor: the
session's (``braket.sqs``, on its SQS client, created like its S3 client with the session's
credentials and endpoints), or one wrapping a client passed in. Failed receives are retried
through :func:`~braket_async.polling.retry_target`. See ``docs/events.md``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from .. import errors
from .._aws_accessors import MAX_BATCH_ENTRIES, SqsQueues
from .._aws_errors import is_missing_queue
from .._base import AsyncContext, Clock, Sleep
from ..polling import PollPolicy, RetryBudget, retry_target
from ._parse import MalformedEvent, parse_message
from ._types import BraketEvent, EventCallback, Unsubscribe

__all__ = ["DEFAULT_ERROR_BACKOFF", "EventQueueNotFound", "SqsEventSource", "SqsSession"]

_log = logging.getLogger("braket_async.events")

#: Backoff between failed receives: 1 s doubling to 30 s, with full jitter, for as long as
#: the loop runs (the feed is the waiters' fast path: it never gives up by itself).
DEFAULT_ERROR_BACKOFF = RetryBudget.unlimited(initial=1.0, multiplier=2.0, maximum=30.0)
#: DeleteMessageBatch / ChangeMessageVisibilityBatch take at most this many entries.
_BATCH = MAX_BATCH_ENTRIES


class SqsSession(Protocol):
    """What ``SqsEventSource(session=...)`` uses of a session (a
    :class:`~braket_async.BraketSession`): its SQS accessor, sleep and clock."""

    @property
    def sqs(self) -> SqsQueues:
        """The session's SQS accessor."""
        ...

    @property
    def sleep(self) -> Sleep:
        """The session's sleep."""
        ...

    @property
    def clock(self) -> Clock:
        """The session's monotonic clock."""
        ...


class EventQueueNotFound(errors.ConfigurationError):
    """The SQS queue of an event source does not exist (or is not visible to these
    credentials).

    Args:
        queue_url: The queue's URL.
        detail: What the service said, if anything.
    """

    def __init__(self, queue_url: str, detail: str = "") -> None:
        self.queue_url = queue_url
        more = f" ({detail})" if detail else ""
        super().__init__(
            f"the SQS queue {queue_url} does not exist{more}; create it and its EventBridge "
            "rule with `braket-async events setup`"
        )


class SqsEventSource(AsyncContext):
    """An :class:`~braket_async.events.EventFeed` reading an SQS queue (see the module).

    ::

        source = SqsEventSource(queue_url, session=braket)  # or sqs=braket.sqs
        await source.check()                       # EventQueueNotFound if the queue is missing
        unsubscribe = source.subscribe(print)      # starts the receive loop
        ...
        unsubscribe()                              # the loop stops with its last subscriber
        await source.aclose()

    It takes what it uses: ``sqs``, an SQS accessor (a session's ``braket.sqs``), with
    ``sleep`` and ``clock``; or ``session``, a :class:`~braket_async.BraketSession` whose
    accessor, sleep and clock are used; or ``client``, an entered aiobotocore SQS client.
    ``wait_time_seconds`` (1-20) and ``max_messages`` (1-10) shape each ReceiveMessage;
    ``visibility_timeout`` (seconds) overrides the queue's for the messages received.
    ``dedupe_capacity`` bounds the memory of delivered events. ``linger`` seconds after its
    last subscriber leaves the loop stops (a waiter following another reuses it). Failed
    receives are retried through :func:`~braket_async.polling.retry_target` along
    ``error_backoff`` (by default for as long as the loop runs); a queue that disappears, a
    closed session, an error that is not an AWS failure, or a spent budget stops the loop
    and is kept in :attr:`error`.

    Args:
        queue_url: The SQS queue's URL.
        sqs: The SQS accessor to call (a session's ``braket.sqs``).
        session: A session whose SQS accessor, sleep and clock are used (instead of ``sqs``).
        client: An entered aiobotocore SQS client (instead of ``sqs``).
        wait_time_seconds: The long-poll wait of each ReceiveMessage (1-20).
        max_messages: The messages of each ReceiveMessage at most (1-10).
        visibility_timeout: Seconds the messages received stay hidden (default: the queue's).
        dedupe_capacity: How many delivered event ids to remember (>= 1).
        linger: Seconds the loop goes on after its last subscriber left.
        error_backoff: The backoff and budget of failed receives (a
            :class:`~braket_async.polling.RetryBudget`; a
            :class:`~braket_async.polling.PollPolicy` gives its delays and no limit).
        sleep: The sleep of the loop (default: the session's, else ``asyncio.sleep``).
        clock: The monotonic clock of the retry budget (default: the session's, else
            ``time.monotonic``).

    Raises:
        ParameterError: An argument breaks its rule.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        sqs: SqsQueues | None = None,
        session: SqsSession | None = None,
        client: Any = None,
        wait_time_seconds: int = 20,
        max_messages: int = 10,
        visibility_timeout: int | None = None,
        dedupe_capacity: int = 10_000,
        linger: float = 2.0,
        error_backoff: RetryBudget | PollPolicy = DEFAULT_ERROR_BACKOFF,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(queue_url, str) or not queue_url.startswith(("https://", "http://")):
            raise errors.ParameterError(
                "queue_url", f"must be an SQS queue URL (https://...), got {queue_url!r}"
            )
        if sum(arg is not None for arg in (sqs, session, client)) != 1:
            raise errors.ParameterError("sqs", "give exactly one of sqs=, session= or client=")
        if not 1 <= wait_time_seconds <= 20:
            raise errors.ParameterError(
                "wait_time_seconds", f"must be in 1..20 (SQS's limit), got {wait_time_seconds}"
            )
        if not 1 <= max_messages <= 10:
            raise errors.ParameterError(
                "max_messages", f"must be in 1..10 (SQS's limit), got {max_messages}"
            )
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43_200:
            raise errors.ParameterError(
                "visibility_timeout", f"must be in 0..43200 seconds, got {visibility_timeout}"
            )
        if dedupe_capacity < 1:
            raise errors.ParameterError("dedupe_capacity", f"must be >= 1, got {dedupe_capacity}")
        if linger < 0:
            raise errors.ParameterError("linger", f"must be >= 0 seconds, got {linger}")
        if session is not None:
            sqs = session.sqs
            sleep = session.sleep if sleep is None else sleep
            clock = session.clock if clock is None else clock
        elif client is not None:
            sqs = SqsQueues.of(client)
        assert sqs is not None
        self.queue_url = queue_url
        self._sqs = sqs
        self._sleep: Sleep = asyncio.sleep if sleep is None else sleep
        self._clock: Clock = time.monotonic if clock is None else clock
        self._max_messages = max_messages
        self._wait_time_seconds = wait_time_seconds
        self._visibility_timeout = visibility_timeout
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._dedupe_capacity = dedupe_capacity
        self._linger = linger
        self._retry = _receive_budget(error_backoff)
        self._subscribers: dict[int, EventCallback] = {}
        self._ids = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self._closed = False
        #: True while the loop settles received messages (deletes or releases them): a stop
        #: then waits for it instead of cancelling, so what was delivered is not redelivered.
        self._settling = False
        #: The error that stopped the loop (a queue that disappeared), if any.
        self.error: BaseException | None = None
        #: Counts: received, delivered, duplicates, ignored, malformed, deleted, released
        #: (handed back undelivered), errors.
        self.stats: collections.Counter[str] = collections.Counter()

    # -- the EventFeed protocol --------------------------------------------------------------

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with every new event (on the loop, synchronously) until the
        returned function is called. The first subscriber starts the receive loop.

        Args:
            callback: Called with each event.

        Returns:
            The function that removes the subscription.

        Raises:
            SessionStateError: The source is closed.
        """
        if self._closed:
            raise errors.SessionStateError("this SqsEventSource is closed")
        key = next(self._ids)
        self._subscribers[key] = callback
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"braket-async-events {self.queue_url}"
            )

        def unsubscribe() -> None:
            if self._subscribers.pop(key, None) is not None and not self._subscribers:
                self._idle()

        return unsubscribe

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the receive loop is running."""
        return self._task is not None and not self._task.done()

    async def check(self) -> str:
        """The queue's ARN; raises :class:`EventQueueNotFound` naming a missing queue."""
        try:
            attributes = await self._sqs.attributes(self.queue_url, ["QueueArn"])
        except errors.ServiceError as exc:
            if is_missing_queue(exc):
                raise self._not_found(exc) from None
            raise
        return attributes.get("QueueArn", "")

    async def aclose(self) -> None:
        """Stop the receive loop and refuse new subscribers. Idempotent. A batch being
        deleted is deleted first; a receive in progress is cancelled (messages SQS handed to
        it reappear after their visibility timeout)."""
        self._closed = True
        self._subscribers.clear()
        await self._stop()

    async def _exit(self) -> None:
        await self.aclose()

    # -- internals ---------------------------------------------------------------------------

    def _idle(self) -> None:
        """The last subscriber left: stop after ``linger`` seconds unless one comes back."""
        task = self._task
        if task is None or task.done():
            return
        if self._linger == 0:
            if not self._settling:
                task.cancel()  # else the loop ends by itself once the batch is settled
            return
        self._stopper = task.get_loop().call_later(self._linger, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._stopper = None
        if not self._subscribers and self._task is not None and not self._settling:
            self._task.cancel()

    async def _stop(self) -> None:
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        task, self._task = self._task, None
        if task is not None:
            if not self._settling:
                task.cancel()  # mid-receive: what SQS handed out reappears after the timeout
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        budget = self._retry.start(self._clock)
        while self._subscribers:
            try:
                messages = await retry_target(
                    self._receive,
                    budget,
                    sleep=self._sleep,
                    predicate=_retry_receive,
                    on_error=self._receive_failed,
                )
            except Exception as exc:  # a missing queue, a closed session, a spent budget
                self.error = self._not_found(exc) if is_missing_queue(exc) else exc
                _log.error(
                    "event feed %s stops: %s; waiters fall back to polling",
                    self.queue_url,
                    self.error,
                )
                return
            if not messages:
                continue
            self.stats["received"] += len(messages)
            self._settling = True
            try:
                if not self._subscribers:
                    await self._release(messages)  # nobody to process them: back now
                    return
                processed, undelivered = self._process(messages)
                await self._delete(processed)
                if undelivered:
                    await self._release(undelivered)
            finally:
                self._settling = False

    async def _receive(self) -> list[dict[str, Any]]:
        return await self._sqs.receive(
            self.queue_url,
            max_messages=self._max_messages,
            wait_time_seconds=self._wait_time_seconds,
            visibility_timeout=self._visibility_timeout,
        )

    def _receive_failed(self, exc: BaseException, delay: float) -> None:
        self.stats["errors"] += 1
        _log.warning("receiving from %s failed (%s); retrying in %.1fs", self.queue_url, exc, delay)

    def _not_found(self, exc: BaseException) -> EventQueueNotFound:
        detail = getattr(exc, "message", "") or ""
        return EventQueueNotFound(self.queue_url, detail.removeprefix(f"{self.queue_url}: "))

    def _process(self, messages: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        """Parse, de-duplicate and fan out. Returns the receipt handles of the processed
        messages (to delete) and the messages left undelivered because the last subscriber
        left mid-batch (to hand back, never delete: nobody received them)."""
        done: list[str] = []
        for index, message in enumerate(messages):
            handle = message.get("ReceiptHandle")
            body = message.get("Body")
            if not isinstance(handle, str):
                continue  # cannot be deleted anyway
            if not isinstance(body, str):
                body = ""
            try:
                parsed = parse_message(body)
            except MalformedEvent as exc:
                self.stats["malformed"] += 1
                _log.warning(
                    "deleting a malformed message %s from %s: %s",
                    message.get("MessageId"),
                    self.queue_url,
                    exc,
                )
                done.append(handle)
                continue
            event = parsed.event
            if event is None:
                self.stats["ignored"] += 1
            elif any(key in self._seen for key in parsed.keys):
                self.stats["duplicates"] += 1
                self._remember(parsed.keys)
            elif not self._deliver(event):
                # Every subscriber left (one unsubscribed inside its callback, say): this
                # message and the rest of the batch go back to the queue unread and are not
                # remembered, so the next consumer gets them.
                return done, messages[index:]
            else:
                self._remember(parsed.keys)
            done.append(handle)
        return done, []

    def _deliver(self, event: BraketEvent) -> bool:
        """Call every live subscriber; False (nobody called) when there is none."""
        subscribers = self._subscribers
        if not subscribers:
            return False
        self.stats["delivered"] += 1
        for key, callback in list(subscribers.items()):
            if key not in subscribers:
                continue  # unsubscribed by an earlier callback of this event
            try:
                callback(event)
            except Exception:  # one consumer's bug must not starve the others
                _log.exception("an event subscriber failed on %r", event)
        return True

    def _remember(self, keys: Iterable[str]) -> None:
        seen = self._seen
        for key in keys:
            seen[key] = None
            seen.move_to_end(key)
        while len(seen) > self._dedupe_capacity:
            seen.popitem(last=False)

    async def _delete(self, handles: list[str]) -> None:
        for start in range(0, len(handles), _BATCH):
            chunk = handles[start : start + _BATCH]
            try:
                result = await self._sqs.delete_batch(self.queue_url, chunk)
            except errors.BraketError as exc:
                # Not deleted: redelivered after the visibility timeout, then dropped as a
                # duplicate and deleted again.
                _log.warning("deleting %d message(s) failed: %s", len(chunk), exc)
                continue
            self.stats["deleted"] += result.succeeded
            for failure in result.failures:
                _log.warning("deleting a message failed: %s", failure)

    async def _release(self, messages: list[dict[str, Any]]) -> None:
        """Make ``messages`` visible again at once (ChangeMessageVisibility 0). If that
        fails they come back anyway after the visibility timeout: never deleted."""
        handles = [m["ReceiptHandle"] for m in messages if isinstance(m.get("ReceiptHandle"), str)]
        try:
            for start in range(0, len(handles), _BATCH):
                chunk = handles[start : start + _BATCH]
                result = await self._sqs.release_batch(self.queue_url, chunk)
                self.stats["released"] += result.succeeded
        except errors.BraketError as exc:
            _log.warning(
                "handing %d message(s) back failed (%s); they reappear after the visibility "
                "timeout",
                len(handles),
                exc,
            )


def _retry_receive(exc: BaseException) -> bool:
    """A failed receive is retried unless it cannot heal: the queue does not exist, or the
    session closed under the feed. Anything but an AWS failure (a bug) is not retried."""
    if is_missing_queue(exc) or isinstance(exc, errors.SessionStateError):
        return False
    return isinstance(exc, errors.BraketError)


def _receive_budget(backoff: RetryBudget | PollPolicy) -> RetryBudget:
    """The retry budget of the receive loop: ``backoff`` itself, or a PollPolicy's delays
    without a limit (what ``error_backoff`` meant before it took a RetryBudget)."""
    if isinstance(backoff, RetryBudget):
        return backoff
    if not isinstance(backoff, PollPolicy):
        raise errors.ParameterError(
            "error_backoff", f"must be a RetryBudget or a PollPolicy, got {backoff!r}"
        )
    return backoff.unlimited_budget()
