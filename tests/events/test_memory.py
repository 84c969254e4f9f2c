"""InMemoryEventFeed: a real EventFeed for events published in-process."""

from __future__ import annotations

import pytest

from braket_async.events import BraketEvent, EventFeed, InMemoryEventFeed, TaskStateChange
from braket_async.models import QuantumTaskStatus

ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/abc"


def change(status: str, event_id: str | None) -> TaskStateChange:
    return TaskStateChange(ARN, QuantumTaskStatus(status), event_id=event_id)


def test_each_event_id_reaches_each_subscriber_once() -> None:
    feed: EventFeed = InMemoryEventFeed()
    first: list[BraketEvent] = []
    second: list[BraketEvent] = []
    feed.subscribe(first.append)
    unsubscribe = feed.subscribe(second.append)
    assert isinstance(feed, InMemoryEventFeed)
    assert feed.publish(change("QUEUED", "e1"))
    assert not feed.publish(change("QUEUED", "e1"))  # a duplicate delivery
    unsubscribe()
    unsubscribe()  # idempotent
    assert feed.publish(change("RUNNING", "e2"))
    assert feed.publish(change("RUNNING", None)) and feed.publish(change("RUNNING", None))
    assert [e.status for e in first] == ["QUEUED", "RUNNING", "RUNNING", "RUNNING"]
    assert [e.status for e in second] == ["QUEUED"]
    assert feed.subscribers == 1


def test_remembered_ids_are_bounded() -> None:
    feed = InMemoryEventFeed(remember=2)
    got: list[BraketEvent] = []
    feed.subscribe(got.append)
    for event_id in ("a", "b", "c", "a"):  # "a" was forgotten when "c" came
        feed.publish(change("QUEUED", event_id))
    assert len(got) == 4
    with pytest.raises(ValueError, match="remember"):
        InMemoryEventFeed(remember=-1)
