"""Typed doors to the AWS services beside Braket that the features call: S3 objects,
CloudWatch Logs streams, SQS event queues and EventBridge rules.

Each takes a getter of the session's aiobotocore client (created on first use), or wraps an
entered client (:meth:`SqsQueues.of`), and maps its errors through
:func:`~braket_async._aws_errors.aws_errors`, so a feature names what it reads or writes and
never touches a raw client. A missing queue is a ServiceError that
:func:`~braket_async._aws_errors.is_missing_queue` recognises.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Self, TypeVar

import attrs

from . import errors
from ._aws_errors import aws_errors

__all__ = ["ClientGetter", "EventBridge", "LogStreams", "S3Objects", "SqsBatchResult", "SqsQueues"]

#: Get the session's aiobotocore client for one service.
ClientGetter = Callable[[], Awaitable[Any]]

T = TypeVar("T")

#: The codes S3 answers for an object (or bucket) that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


class _Accessor:
    """The shared part: a getter of the aiobotocore client, or an entered client."""

    def __init__(self, client: ClientGetter) -> None:
        self._client = client

    @classmethod
    def of(cls, client: Any) -> Self:
        """The accessor of an entered aiobotocore client (the caller closes it).

        Args:
            client: An entered aiobotocore client of the accessor's service.

        Returns:
            The accessor.
        """

        async def entered() -> Any:
            return client

        return cls(entered)


class S3Objects(_Accessor):
    """Reads and writes of whole S3 objects (task results, job results, job uploads)."""

    async def get(self, bucket: str, key: str, *, missing: Callable[[str], BaseException]) -> bytes:
        """The bytes of ``s3://bucket/key``. A missing object or bucket raises
        ``missing(code)``; other failures raise as :mod:`braket_async.errors`."""
        s3 = await self._client()
        try:
            with aws_errors("GetObject", f"s3://{bucket}/{key}"):
                response: dict[str, Any] = await s3.get_object(Bucket=bucket, Key=key)
                async with response["Body"] as body:
                    data: bytes = await body.read()
        except errors.ServiceError as exc:
            if exc.code in _MISSING_CODES:
                raise missing(exc.code) from exc
            raise
        return data

    async def put(self, bucket: str, key: str, body: bytes) -> None:
        """Write ``body`` to ``s3://bucket/key`` (a same-key write: safe to repeat)."""
        s3 = await self._client()
        with aws_errors("PutObject", f"s3://{bucket}/{key}"):
            await s3.put_object(Bucket=bucket, Key=key, Body=body)


class LogStreams(_Accessor):
    """Reads of a CloudWatch Logs group's streams (a hybrid job's logs)."""

    async def names(self, group: str, prefix: str) -> list[str]:
        """The streams of ``group`` whose names start with ``prefix``, by name; none while
        the group does not exist yet."""
        logs = await self._client()
        names: list[str] = []
        try:
            with aws_errors("DescribeLogStreams", f"{group} {prefix}*"):
                paginator = logs.get_paginator("describe_log_streams")
                async for page in paginator.paginate(
                    logGroupName=group, logStreamNamePrefix=prefix, orderBy="LogStreamName"
                ):
                    names.extend(stream["logStreamName"] for stream in page.get("logStreams", ()))
        except errors.ResourceNotFoundException:
            return []
        return names

    async def events(
        self, group: str, stream: str, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``stream``'s events from the head (or after ``token``), and the
        token to continue from (CloudWatch answers the same token once a stream is drained)."""
        logs = await self._client()
        params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream}
        params["startFromHead"] = True
        if token is not None:
            params["nextToken"] = token
        with aws_errors("GetLogEvents", f"{group} {stream}"):
            response = await logs.get_log_events(**params)
        next_token: str | None = response.get("nextForwardToken")
        return list(response.get("events", ())), next_token


#: SQS's batch calls (DeleteMessageBatch, ChangeMessageVisibilityBatch) and EventBridge's
#: PutEvents take at most this many entries.
MAX_BATCH_ENTRIES = 10


@attrs.frozen
class SqsBatchResult:
    """What an SQS batch call did: how many entries succeeded, and the messages of those
    that failed (the call itself went through)."""

    succeeded: int
    failures: tuple[str, ...] = ()


class SqsQueues(_Accessor):
    """The SQS calls of the event feeds and of ``events setup``: long-poll receives, batch
    deletes and hand-backs, queue lookup, creation and attributes.

    Args:
        client: A getter of the aiobotocore SQS client (see :meth:`of` for an entered one).
    """

    async def receive(
        self,
        queue_url: str,
        *,
        max_messages: int,
        wait_time_seconds: int,
        visibility_timeout: int | None = None,
    ) -> list[dict[str, Any]]:
        """One ReceiveMessage: the messages (``Body``, ``ReceiptHandle``, ``MessageId``),
        none when the long poll ends empty.

        Args:
            queue_url: The queue's URL.
            max_messages: At most this many messages (1-10).
            wait_time_seconds: The long-poll wait (0-20 s).
            visibility_timeout: Seconds the messages stay hidden (default: the queue's).

        Returns:
            The messages received.
        """
        sqs = await self._client()
        params: dict[str, Any] = {
            "QueueUrl": queue_url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": wait_time_seconds,
        }
        if visibility_timeout is not None:
            params["VisibilityTimeout"] = visibility_timeout
        with aws_errors("ReceiveMessage", queue_url):
            response = await sqs.receive_message(**params)
        return list(response.get("Messages") or ())

    async def delete_batch(self, queue_url: str, handles: Sequence[str]) -> SqsBatchResult:
        """DeleteMessageBatch of at most 10 receipt handles.

        Args:
            queue_url: The queue's URL.
            handles: The receipt handles of the messages to delete (1-10).

        Returns:
            How many were deleted, and why the others were not.
        """
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(_batch(handles))]
        sqs = await self._client()
        with aws_errors("DeleteMessageBatch", queue_url):
            response = await sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        return _batch_result(response)

    async def release_batch(self, queue_url: str, handles: Sequence[str]) -> SqsBatchResult:
        """Make at most 10 received messages visible again at once
        (ChangeMessageVisibilityBatch with a timeout of 0).

        Args:
            queue_url: The queue's URL.
            handles: The receipt handles of the messages to hand back (1-10).

        Returns:
            How many were handed back, and why the others were not.
        """
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(_batch(handles))
        ]
        sqs = await self._client()
        with aws_errors("ChangeMessageVisibilityBatch", queue_url):
            response = await sqs.change_message_visibility_batch(
                QueueUrl=queue_url, Entries=entries
            )
        return _batch_result(response)

    async def queue_url(self, name: str) -> str:
        """The URL of the queue called ``name`` (GetQueueUrl).

        Args:
            name: The queue's name.

        Returns:
            The queue's URL.
        """
        sqs = await self._client()
        with aws_errors("GetQueueUrl", name):
            response = await sqs.get_queue_url(QueueName=name)
        return str(response["QueueUrl"])

    async def create_queue(self, name: str) -> str:
        """CreateQueue without attributes (answers an existing queue's URL when it exists).

        Args:
            name: The queue's name.

        Returns:
            The queue's URL.
        """
        sqs = await self._client()
        with aws_errors("CreateQueue", name):
            response = await sqs.create_queue(QueueName=name)
        return str(response["QueueUrl"])

    async def attributes(self, queue_url: str, names: Sequence[str]) -> dict[str, str]:
        """The queue attributes ``names`` that the queue has (GetQueueAttributes).

        Args:
            queue_url: The queue's URL.
            names: The attribute names (``QueueArn``, ``Policy``, ...).

        Returns:
            The attributes by name (an unset one is absent).
        """
        sqs = await self._client()
        with aws_errors("GetQueueAttributes", queue_url):
            response = await sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=list(names)
            )
        return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}

    async def set_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        """SetQueueAttributes.

        Args:
            queue_url: The queue's URL.
            attributes: The attributes to set, by name.
        """
        sqs = await self._client()
        with aws_errors("SetQueueAttributes", queue_url):
            await sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=dict(attributes))


class EventBridge(_Accessor):
    """The EventBridge calls of ``events setup`` (the rule and its target) and of the local
    service's event publisher (PutEvents), on the default event bus.

    Args:
        client: A getter of the aiobotocore EventBridge client (see :meth:`of`).
    """

    async def put_rule(self, name: str, pattern: Mapping[str, Any], description: str) -> str:
        """Create or update the enabled rule ``name`` matching ``pattern`` (PutRule).

        Args:
            name: The rule's name.
            pattern: The event pattern.
            description: The rule's description.

        Returns:
            The rule's ARN.
        """
        events = await self._client()
        with aws_errors("PutRule", name):
            response = await events.put_rule(
                Name=name,
                EventPattern=json.dumps(pattern),
                State="ENABLED",
                Description=description,
            )
        return str(response["RuleArn"])

    async def put_target(self, rule: str, target_id: str, arn: str) -> None:
        """Make ``arn`` the target ``target_id`` of ``rule`` (PutTargets; the same id
        replaces it).

        Args:
            rule: The rule's name.
            target_id: The target's id within the rule.
            arn: The target's ARN (an SQS queue's).

        Raises:
            ConfigurationError: EventBridge refused the target.
        """
        events = await self._client()
        with aws_errors("PutTargets", rule):
            response = await events.put_targets(Rule=rule, Targets=[{"Id": target_id, "Arn": arn}])
        if response.get("FailedEntryCount"):
            failed = response.get("FailedEntries") or [{}]
            raise errors.ConfigurationError(
                f"PutTargets failed for rule {rule}: {failed[0].get('ErrorMessage', failed)}"
            )

    async def put_events(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """PutEvents of at most 10 entries.

        Args:
            entries: The PutEvents entries (1-10).

        Returns:
            For each entry, in order, its error code, or None when it was accepted.
        """
        batch = [dict(entry) for entry in _batch(entries)]
        events = await self._client()
        with aws_errors("PutEvents", "default event bus"):
            response = await events.put_events(Entries=batch)
        results = list(response.get("Entries") or ())
        codes: list[str | None] = []
        for index in range(len(entries)):
            result = results[index] if index < len(results) else {}
            code = result.get("ErrorCode")
            codes.append(str(code) if code else None)
        return codes


def _batch(items: Sequence[T]) -> Sequence[T]:
    if not 1 <= len(items) <= MAX_BATCH_ENTRIES:
        raise errors.ParameterError(
            "entries", f"must hold 1-{MAX_BATCH_ENTRIES} entries, got {len(items)}"
        )
    return items


def _batch_result(response: Mapping[str, Any]) -> SqsBatchResult:
    return SqsBatchResult(
        succeeded=len(response.get("Successful") or ()),
        failures=tuple(
            str(f.get("Message") or f.get("Code")) for f in response.get("Failed") or ()
        ),
    )
