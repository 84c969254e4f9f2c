"""Following N tasks to a terminal state: the tracker's status sources vs naive 1 Hz pollers.

Every row runs in its own client process (``--peer ROW``: its CPU and memory are its own)
against a fresh local Braket service in another process (``python -m braket_async.local
serve --synthetic``: tasks complete with all-zero results, unsimulated, so the simulator
does not compete for the CPU; AWS default quotas x ``--quota-scale``, the client's rate
limits use the same scale; tasks RUNNING at least ``--run-delay`` s, at most 100 at once,
the rest QUEUED). N Bell tasks are created as fast as the CreateQuantumTask quota allows by
a creator thread with its own event loop and session; the row's code follows them on the
main thread:

* ``sweeps, created_at known`` -- one :class:`~braket_async.tracking.TaskTracker`, each task
  added as it is created (``just_created=True``: its creation time is known to within
  seconds);
* ``sweeps, added late`` -- all N created first; ``--late-after`` s later every ARN is handed
  to a fresh tracker with no creation time (located in the first sweep);
* ``events`` -- the tracker on an :class:`~braket_async.events.EventFeed`: the service
  publishes every status change to EventBridge on its moto, a rule sends them to an SQS queue
  and :class:`~braket_async.events.SqsEventSource` reads it (:data:`EVENT_FEED_FACTORY`); a
  slow safety-net sweep stays on;
* ``naive 1 Hz pollers`` -- what the official SDK does: one poller per task calling
  GetQuantumTask once a second (aiobotocore, boto3's default legacy retries).

Each row: status calls per task (GetQuantumTask + SearchQuantumTasks received by the service,
from its ledger); latency from the status change on the service (the task's ``endedAt``;
for tasks added late, the later of ``endedAt`` and the moment they were handed over) to the
row's code having the task (p50, p99); CPU seconds of the main thread (the tracker or the
pollers, not the creator thread); RSS growth per task of the client process.

The events row also has ``ms/event``: the client CPU of the event path per event received
(target <= 0.25 ms), with its stages: ``receive`` (the ReceiveMessage calls), ``parse_dedupe``
(parsing each body, dropping repeats, and the receive loop's own bookkeeping), ``apply`` (the
subscribers' callbacks: the tracker applying the event) and ``delete`` (the
DeleteMessageBatch calls). Only the feed's own tasks are counted, step by step on the thread's
CPU clock (``_cpu_meter.CpuMeter``): not the creator thread, not the tracker's sweeps, not the
service (another process). Not counted either: the loop's transport callbacks for the SQS
connections (reading responses, closing sockets), so the row's CPU seconds minus the sweeps'
bounds it from above. The moto server of the local service closes every connection after one
response (werkzeug's development server), so each SQS call here also pays a TCP connect,
which SQS itself (keep-alive) does not ask for.

Two more parts:

* ``one pacer`` -- a session's gets and searches while its CreateQuantumTask calls are all
  throttled (fault injection on that operation only): with botocore's ``standard`` retries
  (the default now) they keep their pace; with ``adaptive`` (the old default) the client's
  single rate bucket slows them too.
* ``memory`` -- one tracker following ``--memory-tasks`` (default 100,000) tasks on a
  synthetic service with quotas off: RSS per task with every task pending and with every
  task finished (target <= 2 KB).

    python benchmarks/bench_tracking.py [--tasks N] [--quota-scale S] [--run-delay D]
                                        [--late-after L] [--memory-tasks M]
                                        [--rows known late events naive] [--no-qpu]

Writes ``benchmarks/results/bench_tracking.json``. Targets: sweeps <= 0.1 status calls per
task in both add patterns; events <= 0.02 with p99 <= 1 s; RSS <= 2 KB per task at 100k.

* ``qpu queue`` (``--qpu-only`` runs just this part, into ``bench_tracking_qpu.json``) -- the
  tracker (sweeps) following ``--qpu-tasks`` tasks that wait QUEUED on an emulated IonQ
  Forte-1 behind ``--qpu-hours`` simulated hours of backlog (``QpuQueue``), in process on a
  synthetic executor with quotas off; the service's queue clock and the session's
  ``clock``/``sleep`` both run ``--qpu-time-scale`` times faster than real time, so the
  tracker's intervals are simulated seconds too. Figure: status calls (GetQuantumTask +
  SearchQuantumTasks) per task per simulated hour while the tasks sit QUEUED (target <= 0.02).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _cpu_meter import CpuMeter
from _harness import ServiceProcess, local_service, run_peer
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ClientError

from braket_async import BraketSession, RateLimits
from braket_async.events import EventFeed, SqsEventSource, ensure_event_queue
from braket_async.polling import PollPolicy
from braket_async.tracking import SweepPolicy, TaskTracker, TrackerOptions

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
OUT = Path(__file__).resolve().parent / "results" / "bench_tracking.json"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
STATUS_OPS = ("GetQuantumTask", "SearchQuantumTasks")
ROWS = ("sweeps, created_at known", "sweeps, added late", "events", "naive 1 Hz pollers")
PEER_NAMES = {"known": ROWS[0], "late": ROWS[1], "events": ROWS[2], "naive": ROWS[3]}

FeedFactory = Callable[[BraketSession], contextlib.AbstractAsyncContextManager[EventFeed]]


@contextlib.asynccontextmanager
async def sqs_feed(braket: BraketSession) -> AsyncIterator[EventFeed]:
    """The real path: an EventBridge rule -> SQS queue on the service's moto (created here, what
    ``braket-async events setup`` does), read by :class:`SqsEventSource` with ``braket``'s SQS
    client (what ``BraketSession(events=queue_url)`` does)."""
    aws = os.environ["AWS_ENDPOINT_URL_S3"]  # moto serves S3, EventBridge and SQS on one port
    region = os.environ["AWS_REGION"]
    aio = AioSession()
    async with (
        aio.create_client("sqs", endpoint_url=aws, region_name=region) as sqs,
        aio.create_client("events", endpoint_url=aws, region_name=region) as eventbridge,
    ):
        setup = await ensure_event_queue(sqs, eventbridge, queue_name="bench-tracking")
    client = await braket._sqs()
    SQS_CPU["ReceiveMessage"].wrap_method(client, "receive_message")
    SQS_CPU["DeleteMessageBatch"].wrap_method(client, "delete_message_batch")
    async with SqsEventSource(setup.queue_url, session=braket) as feed:
        yield feed


#: The CPU of the events row's SQS calls, by operation (each call's own steps; see
#: :class:`CpuMeter`), for the event path's breakdown.
SQS_CPU = {"ReceiveMessage": CpuMeter(), "DeleteMessageBatch": CpuMeter()}


#: The events row's feed: ``factory(session) -> async context manager yielding an EventFeed``
#: on the service the session points at (None: the events row is skipped).
EVENT_FEED_FACTORY: FeedFactory | None = sqs_feed


# ------------------------------------------------------------------------- shared helpers


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def session(scale: float | None, **options: Any) -> BraketSession:
    """A session on the service named by the environment (``service.env()``)."""
    limits = RateLimits.off() if scale is None else RateLimits.aws_defaults(scale=scale)
    return BraketSession(rate_limits=limits, **options)


class Creator:
    """Creates tasks on its own thread and event loop; hands each ARN to ``on_created`` on
    the caller's loop."""

    def __init__(
        self, n: int, scale: float | None, bucket: str, on_created: Callable[[str], None]
    ) -> None:
        self.n = n
        self.scale = scale
        self.bucket = bucket
        self.on_created = on_created
        self.loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="creator", daemon=True)

    def start(self) -> Creator:
        self.thread.start()
        return self

    async def wait(self) -> None:
        await self.done.wait()
        await asyncio.to_thread(self.thread.join)
        if self.error is not None:
            raise self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._create_all())
        except BaseException as exc:  # reported to the caller by wait()
            self.error = exc
        finally:
            self.loop.call_soon_threadsafe(self.done.set)

    async def _create_all(self) -> None:
        gate = asyncio.Semaphore(64)
        async with session(self.scale) as braket:

            async def one() -> None:
                async with gate:
                    arn = await braket.create_quantum_task(
                        device_arn=SV1,
                        action=BELL,
                        shots=10,
                        output_s3_bucket=self.bucket,
                        output_s3_key_prefix="bench-tracking",
                    )
                self.loop.call_soon_threadsafe(self.on_created, arn)

            await asyncio.gather(*(one() for _ in range(self.n)))


def wall() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------- peers (rows)


async def follow(
    tracker: TaskTracker, latencies: list[float], since: dict[str, datetime] | None = None
) -> int:
    """Consume the tracker's open-ended stream; latency from endedAt (or the hand-over)."""
    seen = 0
    async for summary in tracker.as_completed(details=False, until_sealed=True):
        now = wall()
        start = summary.ended_at or now
        if since is not None:
            start = max(start, since[summary.quantum_task_arn])
        latencies.append((now - start).total_seconds())
        seen += 1
    return seen


async def peer_known(args: argparse.Namespace, feed: EventFeed | None = None) -> dict[str, Any]:
    latencies: list[float] = []
    async with session(args.quota_scale) as braket:
        tracker = TaskTracker(braket, events=feed)
        rss0, cpu0 = rss_bytes(), time.thread_time()
        async with tracker:
            creator = Creator(
                args.tasks,
                args.quota_scale,
                args.bucket,
                lambda arn: tracker.add(arn, device_arn=SV1, just_created=True),
            ).start()

            async def seal_when_created() -> None:
                await creator.wait()
                tracker.seal()

            sealer = asyncio.create_task(seal_when_created())
            seen = await follow(tracker, latencies)
            await sealer
        cpu, rss = time.thread_time() - cpu0, rss_bytes() - rss0
    return row(args, seen, latencies, cpu, rss, tracker)


async def peer_events(args: argparse.Namespace) -> dict[str, Any]:
    if EVENT_FEED_FACTORY is None:
        return {"skipped": "no EventFeed factory plugged in (EVENT_FEED_FACTORY)"}
    aws = os.environ["AWS_ENDPOINT_URL_S3"]  # the feed's SQS, on the service's moto
    async with (
        session(args.quota_scale, sqs_endpoint_url=aws) as braket,
        EVENT_FEED_FACTORY(braket) as feed,
    ):
        path = EventPathCpu(feed)
        result = await peer_known(args, path.feed)
        result["event_path"] = path.report()
        return result


class EventPathCpu:
    """The client CPU of the event path, per event: the feed's own tasks (its receive loop:
    receive, parse, de-duplicate, apply, delete), metered step by step so that the creator
    thread and the tracker's other work are not counted; the SQS calls (:data:`SQS_CPU`) and
    the subscribers' callbacks (the tracker applying each event) metered on their own."""

    def __init__(self, feed: EventFeed) -> None:
        self.loop_cpu = CpuMeter()
        self.apply_cpu = 0.0
        self.source = feed
        self.feed = self
        kind = type(feed).__name__ + "."
        asyncio.get_running_loop().set_task_factory(
            self.loop_cpu.task_factory(lambda coro: coro.__qualname__.startswith(kind))
        )

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        def timed(event: Any) -> None:
            start = time.thread_time()
            try:
                callback(event)
            finally:
                self.apply_cpu += time.thread_time() - start

        return self.source.subscribe(timed)

    def report(self) -> dict[str, Any]:
        stats = dict(getattr(self.source, "stats", {}))
        events = stats.get("received", 0)
        if not self.loop_cpu.count or not events:
            raise RuntimeError(
                f"the feed's tasks were not metered ({self.loop_cpu.count}) "
                f"or received nothing ({stats})"
            )
        receive = SQS_CPU["ReceiveMessage"].seconds
        delete = SQS_CPU["DeleteMessageBatch"].seconds
        stages = {
            "receive": receive,
            "parse_dedupe": self.loop_cpu.seconds - receive - delete - self.apply_cpu,
            "apply": self.apply_cpu,
            "delete": delete,
        }
        return {
            "events": events,
            "cpu_seconds": self.loop_cpu.seconds,
            "cpu_ms_per_event": self.loop_cpu.seconds / events * 1e3,
            "stages_ms_per_event": {k: v / events * 1e3 for k, v in stages.items()},
            "receives": SQS_CPU["ReceiveMessage"].count,
            "delete_batches": SQS_CPU["DeleteMessageBatch"].count,
            "feed_stats": stats,
        }


async def peer_late(args: argparse.Namespace) -> dict[str, Any]:
    arns: list[str] = []
    latencies: list[float] = []
    creator = Creator(args.tasks, args.quota_scale, args.bucket, arns.append).start()
    await creator.wait()
    await asyncio.sleep(args.late_after)
    async with session(args.quota_scale) as braket:
        rss0, cpu0 = rss_bytes(), time.thread_time()
        tracker = TaskTracker(braket)
        handed: dict[str, datetime] = {}
        async with tracker:
            for arn in arns:
                handed[arn] = wall()
                tracker.add(arn)  # no creation time: located in the first sweep
            tracker.seal()
            seen = await follow(tracker, latencies, handed)
        cpu, rss = time.thread_time() - cpu0, rss_bytes() - rss0
    return row(args, seen, latencies, cpu, rss, tracker)


async def peer_naive(args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    pollers: list[asyncio.Task[None]] = []
    throttled = 0
    # boto3's defaults: legacy retries (5 attempts, 429 retried); the pool is raised to 100 so
    # the client's pool is not what limits the pollers.
    config = AioConfig(retries={"mode": "legacy"}, max_pool_connections=100)
    async with AioSession().create_client(
        "braket", region_name=os.environ["AWS_REGION"], config=config
    ) as raw:

        async def poll(arn: str) -> None:
            nonlocal throttled
            while True:
                try:
                    response = await raw.get_quantum_task(quantumTaskArn=arn)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ThrottlingException":
                        raise
                    throttled += 1
                else:
                    if response["status"] in TERMINAL:
                        now = wall()
                        ended = response.get("endedAt") or now
                        latencies.append((now - ended).total_seconds())
                        return
                await asyncio.sleep(1.0)

        rss0, cpu0 = rss_bytes(), time.thread_time()
        creator = Creator(
            args.tasks,
            args.quota_scale,
            args.bucket,
            lambda arn: pollers.append(asyncio.create_task(poll(arn))),
        ).start()
        await creator.wait()
        await asyncio.gather(*pollers)
        cpu, rss = time.thread_time() - cpu0, rss_bytes() - rss0
    result = row(args, len(latencies), latencies, cpu, rss, None)
    result["throttles_to_caller"] = throttled
    return result


def row(
    args: argparse.Namespace,
    seen: int,
    latencies: list[float],
    cpu: float,
    rss: int,
    tracker: TaskTracker | None,
) -> dict[str, Any]:
    if seen != args.tasks:
        raise RuntimeError(f"{seen} tasks seen finished, expected {args.tasks}")
    result: dict[str, Any] = {
        "latency_p50_s": percentile(latencies, 0.5),
        "latency_p99_s": percentile(latencies, 0.99),
        "latency_mean_s": statistics.fmean(latencies) if latencies else None,
        "cpu_seconds": cpu,
        "rss_bytes_per_task": rss / args.tasks,
    }
    if tracker is not None:
        s = tracker.stats
        result["tracker_stats"] = {
            "get_calls": s.get_calls,
            "search_calls": s.search_calls,
            "window_sweeps": s.window_sweeps,
            "arn_sweeps": s.arn_sweeps,
            "locate_sweeps": s.locate_sweeps,
            "events_applied": s.events_applied,
        }
    return result


async def peer_pacer(args: argparse.Namespace) -> dict[str, Any]:
    """Gets and searches per second with and without a CreateQuantumTask storm (the service
    throttles every create), in one session with the given botocore retry mode."""
    config = Config(retries={"mode": args.retry_mode})
    async with BraketSession(
        rate_limits=RateLimits.aws_defaults(scale=args.quota_scale), config=config
    ) as braket:
        arn = await braket.create_quantum_task(
            device_arn=SV1, action=BELL, shots=10, output_s3_bucket=args.bucket,
            output_s3_key_prefix="pacer",
        )  # fmt: skip
        await braket.wait_for_quantum_task(arn)

        async def rate(call: Callable[[], Any], workers: int) -> float:
            """Calls/s ``workers`` loops complete within ``--pacer-window`` seconds (calls
            still in flight then are cancelled, not counted)."""
            done = 0

            async def loop() -> None:
                nonlocal done
                while True:
                    await call()
                    done += 1

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.pacer_window):
                    await asyncio.gather(*(loop() for _ in range(workers)))
            return done / args.pacer_window

        async def status_pace() -> dict[str, float]:
            search = {"name": "status", "operator": "EQUAL", "values": ["COMPLETED"]}
            return {
                "gets_per_s": await rate(lambda: braket.get_quantum_task(arn), 16),
                "searches_per_s": await rate(
                    lambda: braket.search_quantum_tasks(filters=[search], max_results=10), 1
                ),
            }

        calm = await status_pace()
        # The storm: the service throttles every CreateQuantumTask from now on.
        await asyncio.to_thread(
            ServiceProcess.put_faults,
            args.service,
            {"per_operation": {"CreateQuantumTask": {"throttle": 1.0}}},
        )
        stop = asyncio.Event()
        storm_calls = 0

        async def storm() -> None:
            nonlocal storm_calls
            while not stop.is_set():
                storm_calls += 1
                with contextlib.suppress(Exception):
                    await braket.create_quantum_task(
                        device_arn=SV1, action=BELL, shots=10, output_s3_bucket=args.bucket,
                        output_s3_key_prefix="storm",
                    )  # fmt: skip

        storms = [asyncio.create_task(storm()) for _ in range(8)]
        await asyncio.sleep(2.0)  # let the throttles register
        stormy = await status_pace()
        stop.set()
        for task in storms:
            task.cancel()
        await asyncio.gather(*storms, return_exceptions=True)
    return {
        "retry_mode": args.retry_mode,
        "calm": calm,
        "storm": stormy,
        "gets_pace_kept": stormy["gets_per_s"] / calm["gets_per_s"],
        "searches_pace_kept": stormy["searches_per_s"] / calm["searches_per_s"],
        "window_seconds": args.pacer_window,
        "storm_create_calls": storm_calls,
    }


async def peer_memory(args: argparse.Namespace) -> dict[str, Any]:
    """One tracker, ``--memory-tasks`` tasks: RSS per task while all pending, then finished."""
    async with session(None) as braket:
        tracker = TaskTracker(braket)
        rss0 = rss_bytes()
        pending_peak = 0
        seen = 0
        start = time.perf_counter()
        cpu0 = time.thread_time()
        async with tracker:
            creator = Creator(
                args.memory_tasks,
                None,
                args.bucket,
                lambda arn: tracker.add(arn, device_arn=SV1, just_created=True),
            ).start()

            async def seal_when_created() -> None:
                await creator.wait()
                tracker.seal()

            async def sample() -> None:
                nonlocal pending_peak
                while True:
                    pending_peak = max(pending_peak, rss_bytes() - rss0)
                    await asyncio.sleep(0.5)

            sealer = asyncio.create_task(seal_when_created())
            sampler = asyncio.create_task(sample())
            async for _ in tracker.as_completed(details=False, until_sealed=True):
                seen += 1
            await sealer
            sampler.cancel()
            finished = rss_bytes() - rss0
        cpu = time.thread_time() - cpu0
    if seen != args.memory_tasks:
        raise RuntimeError(f"{seen} tasks seen finished, expected {args.memory_tasks}")
    return {
        "tasks": args.memory_tasks,
        "rss_bytes_per_task_peak_while_following": max(pending_peak, finished) / seen,
        "rss_bytes_per_task_all_finished": finished / seen,
        "tracker_cpu_seconds": cpu,
        "wall_seconds": time.perf_counter() - start,
        "status_calls": tracker.stats.status_calls,
    }


PEERS = {
    "known": peer_known,
    "late": peer_late,
    "events": peer_events,
    "naive": peer_naive,
    "pacer": peer_pacer,
    "memory": peer_memory,
}


# ------------------------------------------------------------------------- orchestration


def run_row(
    peer: str, args: argparse.Namespace, extra: Sequence[str] = (), **service: Any
) -> dict[str, Any]:
    options = dict(
        quota_scale=args.quota_scale, run_delay=args.run_delay, workers=1,
        extra_args=["--synthetic"],
    )  # fmt: skip
    options.update(service)
    with local_service(**options) as svc:
        before = svc.ledger()
        argv = [
            sys.executable, __file__, "--peer", peer,
            "--tasks", str(args.tasks), "--quota-scale", str(args.quota_scale),
            "--late-after", str(args.late_after), "--memory-tasks", str(args.memory_tasks),
            "--bucket", svc.default_bucket, "--endpoint", svc.endpoint_url, *extra,
        ]  # fmt: skip
        result = run_peer(argv, env=svc.env(), timeout=3600)
        after = svc.ledger()
    calls = {op: after["calls"].get(op, 0) - before["calls"].get(op, 0) for op in STATUS_OPS}
    if "skipped" not in result and peer in PEER_NAMES:
        result["status_calls"] = calls
        result["status_calls_per_task"] = sum(calls.values()) / args.tasks
    return result


def main_orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    pacer: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    report = build_report(args, rows, pacer, memory)
    for peer, name in PEER_NAMES.items():
        if args.rows and peer not in args.rows:
            continue
        print(f"[{name}] {args.tasks} tasks ...", flush=True)
        rows[name] = run_row(peer, args)
        print(f"[{name}] {json.dumps(rows[name])}", flush=True)
        save(report)  # each part as it is measured: a long run keeps what it has
    for mode in ("standard", "adaptive") if args.pacer else ():
        print(f"[one pacer: {mode} retries] ...", flush=True)
        pacer[mode] = run_row("pacer", args, ["--retry-mode", mode], run_delay=0.0)
        print(f"[one pacer: {mode}] {json.dumps(pacer[mode])}", flush=True)
    save(report)
    if args.memory_tasks:
        print(f"[memory] {args.memory_tasks} tasks ...", flush=True)
        memory.update(run_row("memory", args, no_quotas=True, run_delay=0.0))
        print(f"[memory] {json.dumps(memory)}", flush=True)
    save(report)
    return report


FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
QPU_OUT = OUT.with_name("bench_tracking_qpu.json")


def _status_calls(calls: dict[str, int]) -> int:
    return calls.get("GetQuantumTask", 0) + calls.get("SearchQuantumTasks", 0)


#: Tracker options for tasks expected to wait hours (a QPU's queue): each task first looked at
#: after a minute, then at doubling intervals up to half an hour; sweeps (which serve every
#: due task at once) at most every 30 minutes; the by-ARN verification of tasks no window
#: sweep has resolved (one SearchQuantumTasks per 10 tasks) after 4 hours, not 2 minutes.
#: The price: a finished task is seen up to ~30 simulated minutes late.
QPU_OPTIONS = TrackerOptions(
    poll=PollPolicy(initial=60.0, multiplier=2.0, maximum=1800.0),
    sweep=SweepPolicy(min_interval=1800.0, verify_after=4 * 3600.0, verify_max=16 * 3600.0),
)


async def qpu_queue_row(
    tasks: int, hours: float, scale: float, options: TrackerOptions | None = None
) -> dict[str, Any]:
    """Status calls per task per simulated hour while ``tasks`` wait QUEUED on a QPU, with the
    tracker's default options or ``options``."""
    from braket_async.local import LocalBraket, QpuQueue, Quotas, SyntheticExecutor

    # The queue's clock stands still while the tasks are created, so all of them wait the
    # whole backlog; then it runs, and the session's clock runs as fast as the simulated one.
    origin = time.monotonic()
    released: list[float] = []

    def queue_clock() -> float:
        return origin + (time.monotonic() - released[0] if released else 0.0)

    def clock() -> float:
        return origin + (queue_clock() - origin) * scale

    async def sleep(delay: float) -> None:
        await asyncio.sleep(delay / scale)

    model = QpuQueue(
        time_scale=scale,
        backlog=hours * 3600,
        task_seconds=1.0,
        shot_seconds=0.0,
        windows=False,
        clock=queue_clock,
    )

    async with LocalBraket(
        executor=SyntheticExecutor(), quotas=Quotas.off(), qpu_queue=model, events=False
    ) as local:
        key, secret = local.credentials
        async with BraketSession(
            endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            rate_limits=RateLimits.off(),
            sleep=sleep,
            clock=clock,
        ) as braket:
            tracker = TaskTracker(braket, options=options or TrackerOptions())
            lanes = local.tasks.lanes
            assert lanes is not None
            async with tracker:

                async def create() -> None:
                    arn = await braket.create_quantum_task(
                        device_arn=FORTE, action=BELL, shots=10,
                        output_s3_bucket=local.default_bucket, output_s3_key_prefix="qpu-bench",
                    )  # fmt: skip
                    tracker.add(arn, device_arn=FORTE, just_created=True)

                for start in range(0, tasks, 50):
                    await asyncio.gather(*(create() for _ in range(min(50, tasks - start))))
                tracker.seal()
                created_sim = lanes.now()
                before = _status_calls(local.ledger.snapshot()["calls"])
                released.append(time.monotonic())
                follower = asyncio.create_task(follow(tracker, []))
                while not lanes.started:  # noqa: ASYNC110 (an in-process list, read every 10 ms)
                    await asyncio.sleep(0.01)
                queued_calls = _status_calls(local.ledger.snapshot()["calls"]) - before
                queued_hours = (lanes.started[0][1] - created_sim).total_seconds() / 3600
                seen = await follower
            total = _status_calls(local.ledger.snapshot()["calls"])
    return {
        "tasks": tasks,
        "tracker_options": "default" if options is None else repr(options),
        "backlog_hours": hours,
        "time_scale": scale,
        "queued_simulated_hours": queued_hours,
        "status_calls_while_queued": queued_calls,
        "status_calls_per_task_per_simulated_hour_queued": queued_calls / tasks / queued_hours,
        "status_calls_per_task_total": total / tasks,
        "seen_finished": seen,
        "tracker_stats": {
            "get_calls": tracker.stats.get_calls,
            "search_calls": tracker.stats.search_calls,
            "window_sweeps": tracker.stats.window_sweeps,
        },
    }


def qpu_part(args: argparse.Namespace) -> dict[str, Any]:
    rows = {}
    for tasks in args.qpu_tasks:
        for name, options in (("default options", None), ("QPU options", QPU_OPTIONS)):
            key = f"{tasks} tasks, {name}"
            print(f"[qpu queue] {key}, {args.qpu_hours} h queued ...", flush=True)
            rows[key] = asyncio.run(
                qpu_queue_row(tasks, args.qpu_hours, args.qpu_time_scale, options)
            )
            print(f"[qpu queue] {json.dumps(rows[key])}", flush=True)
    return {"rows": rows, "target_status_calls_per_task_per_simulated_hour": 0.02}


def save(report: dict[str, Any]) -> None:
    out = Path(report.get("out") or OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def build_report(
    args: argparse.Namespace, rows: dict[str, Any], pacer: dict[str, Any], memory: dict[str, Any]
) -> dict[str, Any]:
    return {
        "benchmark": "bench_tracking",
        "out": args.out,
        "settings": {
            "tasks": args.tasks,
            "quota_scale": args.quota_scale,
            "run_delay": args.run_delay,
            "late_after": args.late_after,
            "memory_tasks": args.memory_tasks,
            "executor": "SyntheticExecutor (serve --synthetic)",
            "concurrent_tasks_quota": 100,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "rows": rows,
        "one_pacer": pacer,
        "memory": memory,
        "targets": {
            "sweeps_status_calls_per_task": 0.1,
            "events_status_calls_per_task": 0.02,
            "events_latency_p99_s": 1.0,
            "rss_bytes_per_task_at_100k": 2048,
            "event_path_cpu_ms_per_event": 0.25,
        },
    }


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(report: dict[str, Any]) -> None:
    print()
    head = (
        f"{'row':<26} {'calls/task':>10} {'p50 s':>7} {'p99 s':>7} {'CPU s':>7} "
        f"{'ms/event':>8} {'RSS B/task':>10}"
    )
    print(head)
    print("-" * len(head))
    naive = report["rows"].get(ROWS[3], {}).get("status_calls_per_task")
    for name in ROWS:
        if name not in report["rows"]:
            continue
        r = report["rows"][name]
        if "skipped" in r:
            print(f"{name:<26} skipped: {r['skipped']}")
            continue
        ratio = f"  ({r['status_calls_per_task'] / naive:.3f}x naive)" if naive else ""
        per_event = r.get("event_path", {}).get("cpu_ms_per_event")
        print(
            f"{name:<26} {r['status_calls_per_task']:>10.3f} {fmt(r['latency_p50_s'], '7.2f')} "
            f"{fmt(r['latency_p99_s'], '7.2f')} {r['cpu_seconds']:>7.2f} "
            f"{fmt(per_event, '.3f'):>8} {r['rss_bytes_per_task']:>10.0f}{ratio}"
        )
    path = report["rows"].get(ROWS[2], {}).get("event_path")
    if path:
        stages = ", ".join(f"{k} {v:.3f}" for k, v in path["stages_ms_per_event"].items())
        print(
            f"event path: {path['cpu_ms_per_event']:.3f} ms CPU per event (target <= "
            f"{report['targets']['event_path_cpu_ms_per_event']}): {stages}; "
            f"{path['events'] / path['receives']:.1f} messages per ReceiveMessage"
        )
    print()
    for mode, p in report["one_pacer"].items():
        print(
            f"one pacer, {mode:<8} retries: gets {p['calm']['gets_per_s']:.1f}/s calm -> "
            f"{p['storm']['gets_per_s']:.1f}/s under a CreateQuantumTask throttle storm "
            f"({p['gets_pace_kept']:.2f}x); searches {p['calm']['searches_per_s']:.2f}/s -> "
            f"{p['storm']['searches_per_s']:.2f}/s ({p['searches_pace_kept']:.2f}x)"
        )
    m = report["memory"]
    if not m:
        return
    print(
        f"memory: {m['tasks']} tasks, RSS {m['rss_bytes_per_task_peak_while_following']:.0f} "
        f"B/task at peak, {m['rss_bytes_per_task_all_finished']:.0f} B/task all finished "
        f"(target <= 2048); tracker CPU {m['tracker_cpu_seconds']:.1f} s, "
        f"{m['status_calls']} status calls"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per row (default 2000)")
    parser.add_argument("--quota-scale", type=float, default=2.0, help="AWS quotas x this")
    parser.add_argument("--run-delay", type=float, default=5.0, help="seconds each task runs")
    parser.add_argument(
        "--late-after", type=float, default=5.0, help="added-late row: wait before handing over"
    )
    parser.add_argument("--memory-tasks", type=int, default=100_000)
    parser.add_argument(
        "--pacer-window", type=float, default=5.0, help="one-pacer part: seconds per measure"
    )
    parser.add_argument(
        "--no-pacer", dest="pacer", action="store_false", help="skip the one-pacer part"
    )
    parser.add_argument("--out", default=None, help=f"JSON report path (default {OUT})")
    parser.add_argument(
        "--qpu-tasks", type=int, nargs="+", default=[200, 2000], help="qpu part: task counts"
    )
    parser.add_argument("--qpu-hours", type=float, default=4.0, help="qpu part: hours queued")
    parser.add_argument(
        "--qpu-time-scale", type=float, default=360.0, help="qpu part: simulated s per real s"
    )
    parser.add_argument("--qpu-only", action="store_true", help="run only the qpu-queue part")
    parser.add_argument("--no-qpu", dest="qpu", action="store_false", help="skip the qpu part")
    parser.add_argument(
        "--rows", nargs="+", choices=sorted(PEER_NAMES), help="run only these rows (default all)"
    )
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("--retry-mode", default="standard", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        if args.peer == "pacer":
            args.service = ServiceProcess(
                endpoint_url=args.endpoint, s3_endpoint_url="", default_bucket=args.bucket,
                region=os.environ["AWS_REGION"], process=None,  # type: ignore[arg-type]
            )  # fmt: skip
        result = asyncio.run(PEERS[args.peer](args))
        print(json.dumps(result))
        return 0
    if args.qpu_only:
        qpu = {"benchmark": "bench_tracking (qpu queue)", **qpu_part(args)}
        out = Path(args.out) if args.out else QPU_OUT
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(qpu, indent=2) + "\n")
        for key, r in qpu["rows"].items():
            print(
                f"qpu queue, {key}: "
                f"{r['status_calls_per_task_per_simulated_hour_queued']:.4f} status calls per "
                f"task per simulated hour QUEUED (target <= 0.02); "
                f"{r['status_calls_per_task_total']:.3f} per task in all"
            )
        print(f"wrote {out}")
        return 0
    report = main_orchestrate(args)
    if args.qpu:
        report["qpu_queue"] = qpu_part(args)
    save(report)
    print_table(report)
    print(f"wrote {args.out or OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
