"""Batch submission, side by side: N quantum tasks submitted and tracked to a terminal state.

Peers, each in its own process against a fresh local Braket service in another process (AWS
default quotas times ``--scale`` for every peer, ``--latency`` seconds added to every call):

* ``braket_async``: ``BraketSession(rate_limits=RateLimits.aws_defaults(scale))``,
  ``submit_batch(..., details=False).wait()`` (final statuses from the tracker's searches).
* ``aiobotocore``: one raw client (adaptive retries, 10 attempts, pool of 100) and
  ``asyncio.gather`` of one coroutine per task: create (same client token on retry), then
  GetQuantumTask every second until terminal.
* ``boto3``: the same per-task function in a ``ThreadPoolExecutor(100)`` with one boto3 client.
* ``sdk``: amazon-braket-sdk, unmodified: ``AwsDevice(sv1).run_batch(circuits,
  max_parallel=100)`` then ``.results()`` (it cannot track without fetching results).

For each it prints wall time, API calls and 429s (counted by the service), client CPU seconds
and peak RSS (measured in the client's process), tasks the service created (more than N means
duplicates; fewer terminal than N means lost tasks), and the ratio of wall time to the
quota-bound ideal ``(N - burst) / rate + run time`` (CreateQuantumTask's burst and rate at this
scale; run time = the service-side createdAt -> endedAt of a probe task). Writes
``benchmarks/out/bench_batch.json`` and ``bench_batch.png``.

    python benchmarks/bench_batch.py                       # N=2000, AWS quotas (~10 min)
    python benchmarks/bench_batch.py --tasks 300 --scale 2 # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import OUT_DIR, local_service, measure, run_peer, write_json

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"
ACTION = json.dumps(
    {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
        "source": BELL,
        "inputs": {},
    }
)
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
RETRYABLE = frozenset({"ThrottlingException", "InternalServiceException"})
#: AWS default CreateQuantumTask quota (docs/quotas.md).
CREATE_RATE, CREATE_BURST = 20.0, 40.0
PEERS = ("braket_async", "aiobotocore", "boto3", "sdk")


# ---------------------------------------------------------------------------- peers (child)


Outcome = tuple[list[str | None], list[str]]  # terminal statuses, task ARNs


def peer_braket_async(args: argparse.Namespace) -> Outcome:
    from braket_async import BraketSession, RateLimits

    async def run() -> Outcome:
        async with BraketSession(rate_limits=RateLimits.aws_defaults(scale=args.scale)) as s:
            batch = s.submit_batch(
                [BELL] * args.tasks,
                device_arn=SV1,
                shots=args.shots,
                output_s3_bucket=args.bucket,
                output_s3_key_prefix="bench/braket_async",
                details=False,  # final statuses are all it needs: no get per task
            )
            outcomes = await batch.wait()
        return (
            [o.status for o in outcomes],
            [o.task_arn or "" for o in outcomes],
        )

    return asyncio.run(run())


def peer_aiobotocore(args: argparse.Namespace) -> Outcome:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session
    from botocore.exceptions import ClientError

    config = AioConfig(
        max_pool_connections=100, retries={"mode": "adaptive", "total_max_attempts": 10}
    )
    run_id = uuid.uuid4().hex

    async def run() -> Outcome:
        async with get_session().create_client("braket", config=config) as client:

            async def one(i: int) -> tuple[str, str]:
                while True:
                    try:
                        response = await client.create_quantum_task(
                            action=ACTION, deviceArn=SV1, shots=args.shots,
                            outputS3Bucket=args.bucket, outputS3KeyPrefix="bench/aiobotocore",
                            clientToken=f"{run_id}-{i}",
                        )  # fmt: skip
                        break
                    except ClientError as exc:
                        if exc.response["Error"]["Code"] not in RETRYABLE:
                            raise
                        await asyncio.sleep(1)
                arn = response["quantumTaskArn"]
                while True:
                    await asyncio.sleep(1)
                    try:
                        task = await client.get_quantum_task(quantumTaskArn=arn)
                    except ClientError as exc:
                        if exc.response["Error"]["Code"] not in RETRYABLE:
                            raise
                        continue
                    if task["status"] in TERMINAL:
                        return arn, task["status"]

            done = await asyncio.gather(*(one(i) for i in range(args.tasks)))
        return [s for _, s in done], [a for a, _ in done]

    return asyncio.run(run())


def peer_boto3(args: argparse.Namespace) -> Outcome:
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    run_id = uuid.uuid4().hex
    client = boto3.client(
        "braket",
        config=Config(
            max_pool_connections=100, retries={"mode": "adaptive", "total_max_attempts": 10}
        ),
    )

    def one(i: int) -> tuple[str, str]:
        while True:
            try:
                response = client.create_quantum_task(
                    action=ACTION, deviceArn=SV1, shots=args.shots,
                    outputS3Bucket=args.bucket, outputS3KeyPrefix="bench/boto3",
                    clientToken=f"{run_id}-{i}",
                )  # fmt: skip
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in RETRYABLE:
                    raise
                time.sleep(1)
        arn = response["quantumTaskArn"]
        while True:
            time.sleep(1)
            try:
                task = client.get_quantum_task(quantumTaskArn=arn)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in RETRYABLE:
                    raise
                continue
            if task["status"] in TERMINAL:
                return arn, task["status"]

    with ThreadPoolExecutor(100) as pool:
        done = list(pool.map(one, range(args.tasks)))
    return [s for _, s in done], [a for a, _ in done]


def peer_sdk(args: argparse.Namespace) -> Outcome:
    from braket.aws import AwsDevice
    from braket.circuits import Circuit

    circuits = [Circuit().h(0).cnot(0, 1) for _ in range(args.tasks)]
    device = AwsDevice(SV1)
    batch = device.run_batch(
        circuits,
        s3_destination_folder=(args.bucket, "bench/sdk"),
        shots=args.shots,
        max_parallel=100,
    )
    results = batch.results()
    return (
        ["COMPLETED" if r is not None else "FAILED" for r in results],
        [t.id for t in batch.tasks],
    )


def run_peer_here(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Child mode: run one peer, measured; a peer that fails is reported, not crashed."""
    statuses: list[str | None] = []
    arns: list[str] = []
    error: BaseException | None = None
    with measure() as use:
        try:
            statuses, arns = PEER_RUNNERS[name](args)
        except Exception as exc:  # e.g. a 429 beyond a client's retries
            error = exc
    return {
        "peer": name,
        **use.as_dict(),
        "terminal": sum(1 for s in statuses if s in TERMINAL),
        "completed": sum(1 for s in statuses if s == "COMPLETED"),
        "distinct_arns": len(set(arns)),
        "error": None if error is None else f"{type(error).__name__}: {error}"[:300],
    }


PEER_RUNNERS: dict[str, Callable[[argparse.Namespace], Outcome]] = {
    "braket_async": peer_braket_async,
    "aiobotocore": peer_aiobotocore,
    "boto3": peer_boto3,
    "sdk": peer_sdk,
}


# ---------------------------------------------------------------------------- driver


def probe_run_time(env: dict[str, str], bucket: str, shots: int, count: int = 3) -> float:
    """Median service-side run time (createdAt -> endedAt) of a few lone tasks."""
    import boto3

    client = boto3.client(
        "braket",
        endpoint_url=env["AWS_ENDPOINT_URL_BRAKET"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    times = []
    for _ in range(count):
        arn = client.create_quantum_task(
            action=ACTION, deviceArn=SV1, shots=shots, outputS3Bucket=bucket,
            outputS3KeyPrefix="bench/probe",
        )["quantumTaskArn"]  # fmt: skip
        while True:
            task = client.get_quantum_task(quantumTaskArn=arn)
            if task["status"] in TERMINAL:
                break
            time.sleep(0.01)
        created: datetime = task["createdAt"]
        ended: datetime = task["endedAt"]
        times.append((ended - created).total_seconds())
    client.close()
    return statistics.median(times)


def run_one(peer: str, args: argparse.Namespace) -> dict[str, Any]:
    with local_service(quota_scale=args.scale, latency=args.latency) as service:
        env = service.env()
        run_time = probe_run_time(env, service.default_bucket, args.shots)
        time.sleep(2.5)  # let the probe's tokens refill: every peer starts on full buckets
        service.reset_ledger()
        row = run_peer(
            [
                sys.executable, __file__, "--peer", peer, "--tasks", str(args.tasks),
                "--scale", str(args.scale), "--shots", str(args.shots),
                "--bucket", service.default_bucket,
            ],
            env=env,
            timeout=args.timeout,
        )  # fmt: skip
        ledger = service.ledger()
    rate, burst = CREATE_RATE * args.scale, max(1.0, CREATE_BURST * args.scale)
    ideal = max(0.0, args.tasks - burst) / rate + run_time
    row.update(
        {
            "api_calls": ledger["total_calls"],
            "calls": ledger["calls"],
            "throttled_429": ledger["total_throttled"],
            "throttled_share": ledger["total_throttled"] / max(1, ledger["total_calls"]),
            "tasks_created": ledger["tasks_created"],
            "duplicates": max(0, ledger["tasks_created"] - args.tasks),
            "lost": args.tasks - row["terminal"],
            "run_time_seconds": run_time,
            "ideal_seconds": ideal,
            "ratio_to_ideal": row["wall_seconds"] / ideal if ideal else None,
        }
    )
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'peer':<13}{'wall s':>9}{'x ideal':>9}{'calls':>9}{'429s':>8}{'429 %':>8}"
        f"{'CPU s':>8}{'RSS MB':>8}{'created':>9}{'dup':>5}{'lost':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['peer']:<13}{r['wall_seconds']:>9.1f}{r['ratio_to_ideal']:>9.2f}"
            f"{r['api_calls']:>9}{r['throttled_429']:>8}{100 * r['throttled_share']:>7.1f}%"
            f"{r['cpu_seconds']:>8.1f}{r['peak_rss_mb']:>8.0f}{r['tasks_created']:>9}"
            f"{r['duplicates']:>5}{r['lost']:>6}"
        )
    for r in rows:
        if r.get("error"):
            print(f"  {r['peer']} FAILED: {r['error']}")


def chart(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["peer"] + ("\n(FAILED)" if r.get("error") else "") for r in rows]
    panels = [
        ("wall_seconds", "wall time (s)"),
        ("ratio_to_ideal", "wall / quota-bound ideal"),
        ("api_calls", "API calls"),
        ("throttled_429", "429 ThrottlingException"),
        ("cpu_seconds", "client CPU (s)"),
        ("peak_rss_mb", "client peak RSS (MB)"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        values = [r[key] or 0 for r in rows]
        colors = [
            "#c66" if r.get("error") else "#2a7" if r["peer"] == "braket_async" else "#888"
            for r in rows
        ]
        bars = ax.bar(names, values, color=colors)
        ax.set_title(label)
        ax.tick_params(axis="x", labelrotation=20)
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        if key == "wall_seconds":
            ax.axhline(rows[0]["ideal_seconds"], color="#c33", linestyle="--", label="ideal")
            ax.legend(fontsize=8)
        if key == "ratio_to_ideal":
            ax.axhline(1.10, color="#c33", linestyle="--", label="target 1.10x")
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per peer (default 2000)")
    parser.add_argument("--scale", type=float, default=1.0, help="quota scale, same for all")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per call")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per peer")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.peer:
        print(json.dumps(run_peer_here(args.peer, args)))
        return 0
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers: {sorted(unknown)}; choose from {PEERS}")
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "bench_batch",
        "tasks": args.tasks,
        "scale": args.scale,
        "latency": args.latency,
        "shots": args.shots,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for peer in peers:
        print(f"running {peer} ...", file=sys.stderr, flush=True)
        row = run_one(peer, args)
        if row.get("error"):
            print(f"  {peer} failed: {row['error']}", file=sys.stderr, flush=True)
        rows.append(row)
        write_json("bench_batch.json", report, args.out)  # keep what is done so far
    title = (
        f"{args.tasks} tasks, quotas x{args.scale} (CreateQuantumTask "
        f"{CREATE_RATE * args.scale:g}/s burst {CREATE_BURST * args.scale:g}), "
        f"+{args.latency * 1000:g} ms per call"
    )
    print(title)
    print_table(rows)
    finished = [r for r in rows if not r.get("error") and r["lost"] == 0] or rows
    fastest = min(finished, key=lambda r: r["wall_seconds"])["peer"]
    print(f"ideal {rows[0]['ideal_seconds']:.1f}s; fastest (of those that finished): {fastest}")
    report["fastest"] = fastest
    path = write_json("bench_batch.json", report, args.out)
    chart(rows, args.out / "bench_batch.png", title)
    print(f"wrote {path} and {args.out / 'bench_batch.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
