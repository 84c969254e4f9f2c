"""``braket-async demo``: hundreds of circuits on an embedded local Braket service.

It starts the local service in this process (real simulator, AWS default quotas), submits GHZ
and random circuits as one batch at the CreateQuantumTask quota, follows every task with one
tracker, downloads each result as its task completes, and prints the GHZ histogram (all zeros
or all ones, about half each) and the run's figures, API calls counted by the service itself.
"""

from __future__ import annotations

import argparse
import random
import time
from contextlib import AsyncExitStack
from typing import Any

from .. import BraketSession
from ..batch import BatchOutcome, BatchProgress
from ..models.devices import SV1_ARN
from ..models.results import GateModelResult
from ..ratelimit import AWS_DEFAULT_RATES
from ._circuits import ghz, is_ghz_outcome, random_circuit
from ._context import start_local
from ._errors import EXIT_FAILED, EXIT_OK
from ._histogram import merge_counts
from ._output import Output

__all__ = ["run"]

_DEPTH = 6
# AWS default CreateQuantumTask quota (docs/quotas.md): the bound on how fast any client can go.
_CREATE_RATE = float(AWS_DEFAULT_RATES["CreateQuantumTask"].per_second)
_CREATE_BURST = AWS_DEFAULT_RATES["CreateQuantumTask"].burst


async def run(args: argparse.Namespace, out: Output) -> int:
    """Run the demo; exit 0 when every task completed."""
    rng = random.Random(args.seed)
    kinds = ["ghz" if i % 2 == 0 else "random" for i in range(args.tasks)]
    sources = [
        ghz(args.qubits) if kind == "ghz" else random_circuit(args.qubits, _DEPTH, rng)
        for kind in kinds
    ]
    began = time.perf_counter()
    async with AsyncExitStack() as stack:
        local = await start_local(stack, out)
        startup = time.perf_counter() - began
        key_id, secret = local.credentials
        braket = await stack.enter_async_context(
            BraketSession(
                endpoint_url=local.endpoint_url,
                s3_endpoint_url=local.s3_endpoint_url,
                region_name=local.region,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
            )
        )
        n_ghz = kinds.count("ghz")
        out.info(
            f"local Braket service up in {startup:.1f} s at {local.endpoint_url}\n"
            f"submitting [bold]{args.tasks}[/] circuits to SV1 ({n_ghz} GHZ, "
            f"{args.tasks - n_ghz} random; {args.qubits} qubits, {args.shots} shots each) "
            f"at the CreateQuantumTask quota ({_CREATE_RATE:.0f}/s, burst {_CREATE_BURST})"
        )
        before = local.ledger.snapshot()
        started = time.perf_counter()
        outcomes: list[BatchOutcome] = []
        with out.progress(args.tasks, fields=("submitted", "finished")) as bar:

            def on_progress(p: BatchProgress) -> None:
                rate = p.submitted / p.elapsed if p.elapsed > 0 else 0.0
                bar.update(
                    submitted=p.submitted + p.submit_failed,
                    finished=p.done,
                    extra=f"queued {p.queued}, running {p.running}, {rate:.0f} tasks/s",
                )

            batch = braket.submit_batch(
                sources,
                device_arn=SV1_ARN,
                shots=args.shots,
                output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="demo",
                progress=on_progress,
                # final statuses come from the tracker's sweeps: no GetQuantumTask per task
                details=False,
            )
            async with batch:
                # results=True: each result is downloaded as soon as its task completes.
                async for outcome in batch.as_completed(results=True):
                    outcomes.append(outcome)
        wall = time.perf_counter() - started
        after = local.ledger.snapshot()

    figures = _figures(args.tasks, outcomes, before, after, wall=wall, startup=startup)
    # SV1 circuits: gate-model results
    gate_results = [
        (o.index, o.result) for o in outcomes if isinstance(o.result, GateModelResult)
    ]
    ghz_counts = merge_counts(r.counts for i, r in gate_results if kinds[i] == "ghz")
    random_counts = merge_counts(r.counts for i, r in gate_results if kinds[i] == "random")
    failures = [o for o in outcomes if not o.ok]
    if out.json_mode:
        out.json({**figures, "ghz_counts": ghz_counts, "random_outcomes": len(random_counts)})
    else:
        _print_report(out, args, figures, ghz_counts, random_counts)
    for outcome in failures:
        out.error(f"item {outcome.index} ({kinds[outcome.index]}): {outcome.error}")
    return EXIT_FAILED if failures or len(outcomes) != args.tasks else EXIT_OK


def _figures(
    tasks: int,
    outcomes: list[BatchOutcome],
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    wall: float,
    startup: float,
) -> dict[str, Any]:
    """The run's numbers; API calls and throttles as the service counted them."""
    calls = {
        op: after["calls"].get(op, 0) - before["calls"].get(op, 0)
        for op in sorted(after["calls"])
        if after["calls"].get(op, 0) - before["calls"].get(op, 0)
    }
    total_calls = sum(calls.values())
    quota_bound = max(0, tasks - _CREATE_BURST) / _CREATE_RATE
    return {
        "tasks": tasks,
        "completed": sum(1 for o in outcomes if o.ok),
        "not_completed": sum(1 for o in outcomes if not o.ok),
        "results_downloaded": sum(1 for o in outcomes if o.result is not None),
        "wall_s": round(wall, 3),
        "tasks_per_s": round(tasks / wall, 2) if wall > 0 else None,
        "quota_bound_s": round(quota_bound, 3),
        "api_calls": total_calls,
        "api_calls_per_task": round(total_calls / tasks, 3),
        "calls_by_operation": calls,
        "throttled_429": after["total_throttled"] - before["total_throttled"],
        "tasks_created": after["tasks_created"] - before["tasks_created"],
        "client_token_replays": after["client_token_replays"] - before["client_token_replays"],
        "service_startup_s": round(startup, 3),
    }


def _print_report(
    out: Output,
    args: argparse.Namespace,
    figures: dict[str, Any],
    ghz_counts: dict[str, int],
    random_counts: dict[str, int],
) -> None:
    ghz_tasks = (args.tasks + 1) // 2
    out.line()
    if ghz_counts:
        out.histogram(
            ghz_counts,
            top=8,
            title=f"[bold]GHZ, {args.qubits} qubits[/]: {ghz_tasks} tasks x {args.shots} shots",
        )
        shots = sum(ghz_counts.values())
        ideal = sum(c for bits, c in ghz_counts.items() if is_ghz_outcome(bits))
        out.line(
            f"all-zeros or all-ones: {ideal / shots:.1%} of {shots} shots "
            f"(ideal 100%; each about 50%)"
        )
    if random_counts:
        out.line(
            f"random circuits: {args.tasks - ghz_tasks} tasks, "
            f"{len(random_counts)} of {2**args.qubits} possible outcomes seen"
        )
    out.line()
    per_operation = [(f"  {op}", str(n)) for op, n in figures["calls_by_operation"].items()]
    out.table(
        ["figure", "value"],
        [
            ("tasks completed", f"{figures['completed']} of {figures['tasks']}"),
            ("wall time (submit to last result)", f"{figures['wall_s']:.1f} s"),
            ("throughput", f"{figures['tasks_per_s']} tasks/s"),
            (
                "quota bound (CreateQuantumTask 20/s, burst 40)",
                f"{figures['quota_bound_s']:.1f} s",
            ),
            ("Braket API calls per task", f"{figures['api_calls_per_task']:.2f}"),
            ("Braket API calls", str(figures["api_calls"])),
            *per_operation,
            ("throttled (429)", str(figures["throttled_429"])),
            ("tasks created on the service", str(figures["tasks_created"])),
            ("results downloaded from S3", str(figures["results_downloaded"])),
        ],
        title="the run, as the local service's ledger counted it",
    )
