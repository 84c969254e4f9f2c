"""``braket-async events setup|tail``: Braket's state-change events through EventBridge and SQS.

``setup`` creates (or repairs) the EventBridge rule, the SQS queue, its policy and the target
(:func:`braket_async.events.ensure_event_queue`; safe to run again). ``tail`` prints events as
they arrive, deleting them from the queue: a queue has one consumer (see docs/events.md),
unless replicas share it through a Redis fan-out (``braket_async.events_redis``).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from .. import errors
from .._aws_errors import is_missing_queue
from ..events import (
    BraketEvent,
    EventQueueNotFound,
    SqsEventSource,
    TaskStateChange,
    ensure_event_queue,
)
from ._context import Context
from ._errors import EXIT_OK, EXIT_TIMEOUT

__all__ = ["setup", "tail"]


async def setup(ctx: Context, args: argparse.Namespace) -> int:
    """Create or update the rule -> queue; print the queue URL to use as ``events=``."""
    # An AWS refusal is a ServiceError: the app prints it as one line (its code and message).
    result = await ensure_event_queue(
        ctx.braket.sqs,
        ctx.braket.eventbridge,
        queue_name=args.queue,
        rule_name=args.rule or args.queue,
    )
    if ctx.out.json_mode:
        ctx.out.json(result.to_json())
        return EXIT_OK
    ctx.out.table(
        ["field", "value"],
        [
            ("queue url", result.queue_url),
            ("queue arn", result.queue_arn),
            ("rule arn", result.rule_arn),
            ("queue", "created" if result.created_queue else "already there"),
        ],
        title="Braket events -> SQS",
    )
    ctx.out.info(
        f"use it with BraketSession(events={result.queue_url!r}) "
        f"or: braket-async events tail --queue {args.queue}"
    )
    ctx.out.info(
        "several replicas: one queue for all of them with Redis, BraketSession(events="
        f"RedisEventFanout({result.queue_url!r}, redis_url=..., key=...)) (docs/events.md); "
        "without Redis, one queue per replica (--queue NAME-REPLICA)"
    )
    return EXIT_OK


async def tail(ctx: Context, args: argparse.Namespace) -> int:
    """Print events as they arrive until ``--count`` events or ``--timeout`` seconds.

    Exit code 4 when ``--count`` was not reached before ``--timeout``, else 0.
    """
    queue_url = args.queue_url
    if queue_url is None:
        try:
            queue_url = await ctx.braket.sqs.queue_url(args.queue)
        except errors.ServiceError as exc:
            if is_missing_queue(exc):
                raise EventQueueNotFound(args.queue) from None
            raise
    arrived: asyncio.Queue[BraketEvent] = asyncio.Queue()
    async with SqsEventSource(queue_url, session=ctx.braket, linger=0) as source:
        await source.check()
        unsubscribe = source.subscribe(arrived.put_nowait)
        ctx.out.info(f"[dim]waiting for events on {queue_url}…[/]")
        printed = 0
        try:
            async with asyncio.timeout(args.timeout):
                while args.count is None or printed < args.count:
                    _print(ctx, await arrived.get())
                    printed += 1
        except TimeoutError:
            if args.count is not None:
                return EXIT_TIMEOUT
        finally:
            unsubscribe()
    return EXIT_OK


def _print(ctx: Context, event: BraketEvent) -> None:
    if ctx.out.json_mode:
        ctx.out.json_line(_event_json(event))
        return
    when = event.event_time.isoformat() if event.event_time else "-"
    if isinstance(event, TaskStateChange):
        ctx.out.raw(f"{when}  task  {event.status:<10}  {event.quantum_task_arn}")
    else:
        ctx.out.raw(f"{when}  job   {event.status:<10}  {event.job_arn}")


def _event_json(event: BraketEvent) -> dict[str, Any]:
    if isinstance(event, TaskStateChange):
        return {
            "kind": "task",
            "arn": event.quantum_task_arn,
            "status": str(event.status),
            "device_arn": event.device_arn,
            "shots": event.shots,
            "output_s3_bucket": event.output_s3_bucket,
            "output_s3_directory": event.output_s3_directory,
            "created_at": _iso(event.created_at),
            "ended_at": _iso(event.ended_at),
            "event_id": event.event_id,
            "event_time": _iso(event.event_time),
        }
    return {
        "kind": "job",
        "arn": event.job_arn,
        "status": str(event.status),
        "job_name": event.job_name,
        "failure_reason": event.failure_reason,
        "created_at": _iso(event.created_at),
        "started_at": _iso(event.started_at),
        "ended_at": _iso(event.ended_at),
        "event_id": event.event_id,
        "event_time": _iso(event.event_time),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
