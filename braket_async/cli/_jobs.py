"""``braket-async job create|status|watch|logs|result|cancel``: hybrid jobs."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from rich.markup import escape

from ..models import TERMINAL_JOB_STATUSES, Job, JobEvent, JobStatus
from ._context import Context
from ._errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, CliError

__all__ = ["cancel", "create", "logs", "result", "status", "watch"]

_ROLE_ENV = "BRAKET_JOBS_ROLE_ARN"
#: Any role ARN does for the local service, which runs jobs as local processes.
_LOCAL_ROLE = "arn:aws:iam::123456789012:role/BraketJobsLocal"


async def create(ctx: Context, args: argparse.Namespace) -> int:
    """Upload the source, create the job, print its ARN (``--wait``: then follow its events)."""
    hyperparameters = dict(_key_value(item) for item in args.hp)
    role = args.role or os.environ.get(_ROLE_ENV) or (_LOCAL_ROLE if ctx.local else None)
    if role is None:
        raise CliError(f"--role is required (or set ${_ROLE_ENV}): the job's IAM role ARN")
    arn = await ctx.braket.create_hybrid_job(
        device=args.device,
        source_module=args.source,
        entry_point=args.entry_point,
        job_name=args.name,
        hyperparameters=hyperparameters,
        role_arn=role,
        s3_bucket=ctx.output_bucket(),
        max_runtime_in_seconds=args.max_runtime,
    )
    if not args.wait:
        if ctx.out.json_mode:
            ctx.out.json({"job_arn": arn})
        else:
            ctx.out.raw(arn)
        return EXIT_OK
    ctx.out.info(f"created {arn}")
    return await _follow(ctx, arn, limit=args.timeout)


async def status(ctx: Context, args: argparse.Namespace) -> int:
    """Print one job: status, times, device, failure reason, recent events."""
    job = await ctx.braket.get_job(args.arn)
    if ctx.out.json_mode:
        ctx.out.json(_job_json(job))
        return EXIT_OK
    ctx.out.table(
        ["field", "value"],
        [
            ("name", job.job_name),
            ("status", job.status),
            ("device", job.device_config.device if job.device_config else ""),
            ("created", job.created_at.isoformat()),
            ("started", job.started_at.isoformat() if job.started_at else ""),
            ("ended", job.ended_at.isoformat() if job.ended_at else ""),
            ("failure reason", job.failure_reason or ""),
        ],
        title=job.job_arn,
    )
    if job.events:
        ctx.out.table(["time", "event", "message"], [_event_row(e) for e in job.events])
    return EXIT_OK


async def watch(ctx: Context, args: argparse.Namespace) -> int:
    """Print each job event once as it happens; exit 0 if the job completed, 3 otherwise."""
    return await _follow(ctx, args.arn, limit=args.timeout)


async def logs(ctx: Context, args: argparse.Namespace) -> int:
    """Print the job's log lines (following them until the job ends, unless --no-follow)."""
    async for line in ctx.braket.stream_job_logs(args.arn, follow=args.follow):
        if ctx.out.json_mode:
            ctx.out.json_line(
                {
                    "time": line.timestamp.isoformat(),
                    "stream": line.stream_name,
                    "message": line.message,
                }
            )
        else:
            ctx.out.raw(line.message)
    return EXIT_OK


async def result(ctx: Context, args: argparse.Namespace) -> int:
    """Print the results the job saved (its data dictionary) as JSON."""
    ctx.out.json(await ctx.braket.get_job_result(args.arn))
    return EXIT_OK


async def cancel(ctx: Context, args: argparse.Namespace) -> int:
    """Ask the service to cancel the job."""
    cancellation = await ctx.braket.cancel_job(args.arn)
    if ctx.out.json_mode:
        ctx.out.json(
            {"job_arn": cancellation.job_arn, "status": str(cancellation.cancellation_status)}
        )
    else:
        ctx.out.raw(f"{cancellation.job_arn}: {cancellation.cancellation_status}")
    return EXIT_OK


async def _follow(ctx: Context, arn: str, *, limit: float | None) -> int:
    async def follow() -> None:
        async for event in ctx.braket.follow_job(arn):
            if ctx.out.json_mode:
                ctx.out.json_line(_event_json(event))
            else:
                time, kind, message = _event_row(event)
                ctx.out.line(f"[dim]{time}[/]  [bold]{kind}[/]  {escape(message)}")

    try:
        async with asyncio.timeout(limit):
            await follow()
    except TimeoutError:
        ctx.out.error(f"job {arn} did not finish within {limit} s")
        return EXIT_TIMEOUT
    job = await ctx.braket.get_job(arn)
    if job.status != JobStatus.COMPLETED:
        reason = f": {job.failure_reason}" if job.failure_reason else ""
        ctx.out.error(f"job {arn} ended {job.status}{reason}")
        return EXIT_FAILED
    if not ctx.out.json_mode:
        ctx.out.line(f"[green]job {escape(job.job_name)} COMPLETED[/]")
    return EXIT_OK


def _event_row(event: JobEvent) -> tuple[str, str, str]:
    time = event.time_of_event.isoformat() if event.time_of_event else ""
    return time, str(event.event_type or ""), event.message or ""


def _event_json(event: JobEvent) -> dict[str, Any]:
    time, kind, message = _event_row(event)
    return {"time": time or None, "event": kind or None, "message": message or None}


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "job_arn": job.job_arn,
        "job_name": job.job_name,
        "status": str(job.status),
        "terminal": job.status in TERMINAL_JOB_STATUSES,
        "device": job.device_config.device if job.device_config else None,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "ended_at": job.ended_at.isoformat() if job.ended_at else None,
        "failure_reason": job.failure_reason,
        "events": [_event_json(e) for e in job.events],
    }


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CliError(f"--hp takes KEY=VALUE, got {text!r}")
    return key, value
