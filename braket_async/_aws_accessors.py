"""Typed doors to the AWS services beside Braket that the features call: S3 objects and
CloudWatch Logs streams.

Each takes a getter of the session's aiobotocore client (created on first use) and maps its
errors through :func:`~braket_async._aws_errors.aws_errors`, so a feature names what it
reads or writes and never touches a raw client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import errors
from ._aws_errors import aws_errors

__all__ = ["LogStreams", "S3Objects"]

#: Get the session's aiobotocore client for one service.
ClientGetter = Callable[[], Awaitable[Any]]

#: The codes S3 answers for an object (or bucket) that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


class S3Objects:
    """Reads and writes of whole S3 objects (task results, job results, job uploads)."""

    def __init__(self, client: ClientGetter) -> None:
        self._client = client

    async def get(
        self, bucket: str, key: str, *, missing: Callable[[str], BaseException]
    ) -> bytes:
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


class LogStreams:
    """Reads of a CloudWatch Logs group's streams (a hybrid job's logs)."""

    def __init__(self, client: ClientGetter) -> None:
        self._client = client

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
