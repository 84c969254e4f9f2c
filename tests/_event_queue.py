"""Event-queue helpers for tests: a real EventBridge rule -> SQS queue on the embedded moto.

``async with event_queue(endpoint_url) as q:`` creates a uniquely named rule and queue with
:func:`braket_async.events.ensure_event_queue` (what ``braket-async events setup`` runs) and
removes both afterwards: moto's backends are process-global, so a rule left behind would
collect every later test's events.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import attrs
from aiobotocore.session import get_session

from braket_async.events import EventQueueSetup, ensure_event_queue

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@attrs.frozen
class EventQueue:
    """A rule -> queue pair and raw clients on its endpoint."""

    setup: EventQueueSetup
    endpoint_url: str
    sqs: Any
    eventbridge: Any

    @property
    def url(self) -> str:
        return self.setup.queue_url

    async def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages, as SQS approximates them."""
        attrs_ = (
            await self.sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        )["Attributes"]
        return (
            int(attrs_["ApproximateNumberOfMessages"]),
            int(attrs_["ApproximateNumberOfMessagesNotVisible"]),
        )

    async def send(self, body: str | dict[str, Any]) -> None:
        """Put a raw message on the queue (as EventBridge would)."""
        text = body if isinstance(body, str) else json.dumps(body)
        await self.sqs.send_message(QueueUrl=self.url, MessageBody=text)

    async def receive_all(
        self,
        *,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,  # noqa: ASYNC109 -- a test helper's bound
    ) -> list[dict[str, Any]]:
        """Receive (and delete) raw envelopes until ``until(received)`` holds (after one
        receive at least)."""
        received: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                response = await self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
                for message in response.get("Messages", []):
                    received.append(json.loads(message["Body"]))
                    await self.sqs.delete_message(
                        QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
                    )
                if until(received):
                    return received


def clients(endpoint_url: str) -> tuple[Any, Any]:
    """Raw (not yet entered) SQS and EventBridge clients on ``endpoint_url``."""
    session = get_session()
    kwargs = {"region_name": REGION, "endpoint_url": endpoint_url, **CREDENTIALS}
    return session.create_client("sqs", **kwargs), session.create_client("events", **kwargs)


@asynccontextmanager
async def event_queue(endpoint_url: str, *, rule: bool = True) -> AsyncIterator[EventQueue]:
    """A fresh rule -> queue on ``endpoint_url`` (``rule=False``: the queue only, as if the
    rule were missing), removed afterwards."""
    name = f"test-events-{uuid.uuid4().hex[:12]}"
    async with AsyncExitStack() as stack:
        sqs_cm, events_cm = clients(endpoint_url)
        sqs = await stack.enter_async_context(sqs_cm)
        eventbridge = await stack.enter_async_context(events_cm)
        if rule:
            setup = await ensure_event_queue(sqs, eventbridge, queue_name=name, rule_name=name)
        else:
            url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
            arn = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))[
                "Attributes"
            ]["QueueArn"]
            setup = EventQueueSetup(
                queue_url=url, queue_arn=arn, rule_arn="", rule_name="", created_queue=True
            )
        try:
            yield EventQueue(setup, endpoint_url, sqs, eventbridge)
        finally:
            if rule:
                targets = await eventbridge.list_targets_by_rule(Rule=name)
                ids = [t["Id"] for t in targets.get("Targets", [])]
                if ids:
                    await eventbridge.remove_targets(Rule=name, Ids=ids)
                await eventbridge.delete_rule(Name=name)
            await sqs.delete_queue(QueueUrl=setup.queue_url)
