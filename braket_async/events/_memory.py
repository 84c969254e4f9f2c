"""An :class:`~braket_async.events.EventFeed` for events published in the same process."""

from __future__ import annotations

from collections import OrderedDict

from ._types import BraketEvent, EventCallback, Unsubscribe

__all__ = ["InMemoryEventFeed"]


class InMemoryEventFeed:
    """A feed whose events are handed to :meth:`publish` in this process.

    For code that learns of state changes itself (a service that receives the EventBridge
    events some other way, a test) and wants a tracker to use them. Like every feed it
    delivers each distinct event (by ``event_id``; events without one are always delivered)
    at most once, remembering the last ``remember`` ids, and calls the subscribers
    synchronously on the caller's thread, which must be the event loop's.

    Args:
        remember: How many event ids to remember against repeats (>= 0).

    Raises:
        ValueError: ``remember`` is negative.
    """

    def __init__(self, *, remember: int = 100_000) -> None:
        if remember < 0:
            raise ValueError(f"remember must be >= 0, got {remember}")
        self._remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._subscribers: dict[int, EventCallback] = {}
        self._next = 0

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with every new event until the returned function is called.

        Args:
            callback: Called synchronously with each event :meth:`publish` delivers.

        Returns:
            The function that removes the subscription.
        """
        key, self._next = self._next, self._next + 1
        self._subscribers[key] = callback

        def unsubscribe() -> None:
            self._subscribers.pop(key, None)

        return unsubscribe

    @property
    def subscribers(self) -> int:
        """How many callbacks are subscribed."""
        return len(self._subscribers)

    def publish(self, event: BraketEvent) -> bool:
        """Deliver ``event`` to every subscriber; False if its id was delivered before.

        Args:
            event: The event.

        Returns:
            False if an event with its id was delivered before, else True.
        """
        if event.event_id is not None:
            if event.event_id in self._seen:
                return False
            self._seen[event.event_id] = None
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        for callback in list(self._subscribers.values()):
            callback(event)
        return True
