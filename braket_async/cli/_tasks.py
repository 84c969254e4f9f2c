"""``braket-async task submit|status|wait|result|cancel`` and ``tasks search``."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..batch import BatchOutcome, BatchProgress
from ..models import QuantumTask, QuantumTaskFilter, QuantumTaskStatus, QuantumTaskSummary
from ..models.ahs_results import AnalogHamiltonianSimulationResult
from ..models.program_set_results import ExecutableResult, ProgramSetResult
from ..models.results import GateModelResult
from ..tracking import TaskTracker, TrackerOptions
from ._context import Context
from ._errors import EXIT_ERROR, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, CliError
from ._output import Output

__all__ = ["cancel", "result", "search", "status", "submit", "wait"]


async def submit(ctx: Context, args: argparse.Namespace) -> int:
    """Submit each file ``--count`` times as one batch, at the quota's pace.

    Prints the task ARNs; with ``--wait`` follows the tasks to the end and prints them.
    Exit code: 4 on ``--timeout``, 1 if an item could not be created, 3 if a task did not
    complete, else 0.
    """
    sources = await asyncio.gather(*(asyncio.to_thread(_read_program, p) for p in args.files))
    items = [source for source in sources for _ in range(args.count)]
    names = [name for name in args.files for _ in range(args.count)]
    bucket = ctx.output_bucket()
    outcomes: dict[int, BatchOutcome] = {}
    timed_out = False
    fields = ("submitted", "finished") if args.wait else ("submitted",)
    with ctx.out.progress(len(items), fields=fields) as bar:

        def on_progress(p: BatchProgress) -> None:
            bar.update(
                submitted=p.submitted + p.submit_failed,
                finished=p.done,
                extra=_active_note(p.queued, p.running) if args.wait else "",
            )

        batch = ctx.braket.submit_batch(
            items,
            device_arn=args.device,
            shots=args.shots,
            output_s3_bucket=bucket,
            output_s3_key_prefix=args.prefix,
            track=args.wait,
            progress=on_progress,
        )
        try:
            async with asyncio.timeout(args.timeout if args.wait else None), batch:
                async for outcome in batch:
                    outcomes[outcome.index] = outcome
        except TimeoutError:
            timed_out = True
    return _report_submit(
        ctx.out, names, outcomes, created=batch.task_arns, wait=args.wait, timed_out=timed_out
    )


def _report_submit(
    out: Output,
    names: list[str],
    outcomes: dict[int, BatchOutcome],
    *,
    created: dict[int, str],
    wait: bool,
    timed_out: bool,
) -> int:
    rejected = {i: o for i, o in outcomes.items() if o.task_arn is None and o.error is not None}
    tasks = [o.task for _, o in sorted(outcomes.items()) if o.task is not None]
    if out.json_mode:
        out.json(
            [
                {
                    "index": i,
                    "file": name,
                    "task_arn": created.get(i),
                    "status": str(o.task.status) if o and o.task else None,
                    "failure_reason": o.task.failure_reason if o and o.task else None,
                    "error": str(o.error) if o and o.error and i in rejected else None,
                }
                for i, name in enumerate(names)
                for o in [outcomes.get(i)]
            ]
        )
    elif wait:
        _print_tasks(out, tasks)
    else:
        for _, arn in sorted(created.items()):
            out.raw(arn)
    for i, outcome in sorted(rejected.items()):
        out.error(f"item {i} ({names[i]}) was not created: {outcome.error}")
    code = EXIT_OK
    if wait:
        code = _report_failures(out, tasks)
    if rejected:
        code = EXIT_ERROR
    if timed_out:
        out.error(f"timed out: {len(tasks)} of {len(names)} tasks finished")
        code = EXIT_TIMEOUT
    return code


async def status(ctx: Context, args: argparse.Namespace) -> int:
    """Show each task: status, device, shots, times, failure reason."""
    tasks = await asyncio.gather(*(ctx.braket.get_quantum_task(arn) for arn in args.arns))
    _print_tasks(ctx.out, list(tasks))
    return EXIT_OK


async def wait(ctx: Context, args: argparse.Namespace) -> int:
    """Follow the tasks until each is terminal; exit 3 if any failed or was cancelled."""
    tasks, timed_out = await _track(ctx.out, ctx, args.arns, limit=args.timeout)
    return _report_tasks(ctx.out, tasks, timed_out=timed_out)


async def result(ctx: Context, args: argparse.Namespace) -> int:
    """Print a completed task's measurement counts as a histogram."""
    res = await ctx.braket.get_quantum_task_result(args.arn)
    if not isinstance(res, GateModelResult):
        return _other_result(ctx, res)
    counts = dict(res.counts)
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "task_arn": res.task_arn,
                "shots": res.shots,
                "measured_qubits": list(res.measured_qubits),
                "counts": counts,
                "device_arn": res.task_metadata.device_id,
            }
        )
        return EXIT_OK
    if not counts:
        ctx.out.raw(f"{res.task_arn}: no measurements (shots=0); result types:")
        for value in res.result_types:
            ctx.out.raw(f"  {value.name}: {value.value}")
        return EXIT_OK
    qubits = ",".join(str(q) for q in res.measured_qubits)
    ctx.out.raw(res.task_arn)
    ctx.out.histogram(counts, top=args.top, title=f"{res.shots} shots, qubits {qubits}")
    return EXIT_OK


def _other_result(ctx: Context, res: AnalogHamiltonianSimulationResult | ProgramSetResult) -> int:
    """AHS results print their per-site state counts; program sets their per-executable counts."""
    if isinstance(res, AnalogHamiltonianSimulationResult):
        counts = dict(res.state_counts)
        if ctx.out.json_mode:
            ctx.out.json({"task_arn": res.task_arn, "shots": res.shots, "state_counts": counts})
        else:
            ctx.out.raw(res.task_arn)
            ctx.out.histogram(counts, top=10, title=f"{res.shots} shots, site states (g/r/e)")
        return EXIT_OK
    programs = [
        [dict(e.counts) if isinstance(e, ExecutableResult) else None for e in p.executables]
        for p in res.programs
    ]
    if ctx.out.json_mode:
        ctx.out.json({"task_arn": res.task_arn, "programs": programs})
    else:
        ctx.out.raw(f"{res.task_arn}: program set, {res.shots_per_executable} shots each")
        for i, executables in enumerate(programs):
            for j, tally in enumerate(executables):
                ctx.out.raw(f"  program {i} executable {j}: {tally or 'FAILED'}")
    return EXIT_OK


async def cancel(ctx: Context, args: argparse.Namespace) -> int:
    """Ask the service to cancel each task."""
    done = await asyncio.gather(*(ctx.braket.cancel_quantum_task(arn) for arn in args.arns))
    rows = [(c.quantum_task_arn, str(c.cancellation_status)) for c in done]
    if ctx.out.json_mode:
        ctx.out.json([{"task_arn": arn, "cancellation_status": s} for arn, s in rows])
    else:
        ctx.out.table(["ARN", "cancellation"], rows)
    return EXIT_OK


async def search(ctx: Context, args: argparse.Namespace) -> int:
    """Tasks matching ``--status``/``--device``/``--job``/``--since``, at most ``--limit``."""
    filters: list[QuantumTaskFilter] = []
    if args.status:
        statuses = [s.upper() for s in args.status]
        unknown = [s for s in statuses if not QuantumTaskStatus(s).is_known]
        if unknown:
            known = ", ".join(QuantumTaskStatus)
            raise CliError(f"--status must be one of {known}; got {', '.join(unknown)}")
        filters.append(QuantumTaskFilter.status(*statuses))
    if args.device:
        filters.append(QuantumTaskFilter.device(args.device))
    if args.job:
        filters.append(QuantumTaskFilter.job(args.job))
    if args.since:
        since = datetime.now(UTC) - timedelta(seconds=args.since)
        filters.append(QuantumTaskFilter.created_after(since))
    found = [
        task
        async for task in ctx.braket.iter_quantum_tasks(
            filters, page_size=min(100, args.limit), max_items=args.limit
        )
    ]
    _print_tasks(ctx.out, found)
    return EXIT_OK


async def _track(
    out: Output, ctx: Context, arns: list[str], *, limit: float | None
) -> tuple[list[QuantumTask], bool]:
    """Follow ``arns`` with one tracker and a progress bar; (finished tasks, timed out?)."""
    finished: list[QuantumTask] = []
    timed_out = False
    with out.progress(len(arns), fields=("finished",)) as bar:

        def show() -> None:
            seen = tracker.status_counts()
            queued = seen.get(QuantumTaskStatus.CREATED.value, 0)
            queued += seen.get(QuantumTaskStatus.QUEUED.value, 0)
            running = seen.get(QuantumTaskStatus.RUNNING.value, 0)
            bar.update(finished=len(finished), extra=_active_note(queued, running))

        # observe_active: the bar also shows how many tasks are queued / running.
        tracker = TaskTracker(
            ctx.braket, options=TrackerOptions(observe_active=True), on_status_change=show
        )
        try:
            async with asyncio.timeout(limit), tracker:
                for arn in arns:
                    tracker.add(arn)
                async for task in tracker.as_completed():
                    finished.append(task)
                    show()
        except TimeoutError:
            timed_out = True
    return finished, timed_out


def _report_tasks(out: Output, tasks: list[QuantumTask], *, timed_out: bool) -> int:
    """Print the finished tasks; the exit code says whether all completed in time."""
    _print_tasks(out, tasks)
    code = _report_failures(out, tasks)
    if timed_out:
        out.error("timed out before every task finished")
        return EXIT_TIMEOUT
    return code


def _report_failures(out: Output, tasks: list[QuantumTask]) -> int:
    """Say why each task that did not complete ended; 3 if there was one."""
    bad = [t for t in tasks if t.status != QuantumTaskStatus.COMPLETED]
    for task in bad:
        reason = f": {task.failure_reason}" if task.failure_reason else ""
        out.error(f"{task.quantum_task_arn} ended {task.status}{reason}")
    return EXIT_FAILED if bad else EXIT_OK


def _print_tasks(out: Output, tasks: list[QuantumTask] | list[QuantumTaskSummary]) -> None:
    if out.json_mode:
        out.json([_task_json(t) for t in tasks])
        return
    out.table(
        ["ARN", "status", "device", "shots", "created", "ended", "failure reason"],
        [
            (
                t.quantum_task_arn,
                t.status,
                t.device_arn.rsplit("/", 1)[-1],
                t.shots,
                _time(t.created_at),
                _time(t.ended_at),
                getattr(t, "failure_reason", None) or "",
            )
            for t in tasks
        ],
        title=f"{len(tasks)} quantum tasks",
    )


def _task_json(task: QuantumTask | QuantumTaskSummary) -> dict[str, Any]:
    return {
        "task_arn": task.quantum_task_arn,
        "status": str(task.status),
        "device_arn": task.device_arn,
        "shots": task.shots,
        "created_at": task.created_at.isoformat(),
        "ended_at": task.ended_at.isoformat() if task.ended_at else None,
        "failure_reason": getattr(task, "failure_reason", None),
        "output_s3_bucket": task.output_s3_bucket,
        "output_s3_directory": task.output_s3_directory,
    }


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _read_program(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not text.strip():
        raise CliError(f"{path} is empty: expected an OpenQASM 3 program")
    return text


def _active_note(queued: int, running: int) -> str:
    """The progress bar's note on tasks not finished yet (as last seen by the tracker)."""
    return f"queued {queued}, running {running}"
