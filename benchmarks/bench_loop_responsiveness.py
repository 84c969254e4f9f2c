"""Event-loop responsiveness of the example FastAPI service while it runs a big batch.

Three processes: the local Braket service (``python -m braket_async.local serve``), the example
app (``examples/fastapi_service.py`` under uvicorn) and this script, which measures. It pings
the app's trivial ``GET /ping`` at a fixed pace while the app is idle, then while it submits
and tracks a batch of ``--tasks`` circuits (``POST /batches``) and streams their completions
over SSE to a subscriber, and compares the latency percentiles of the two phases of the same
run. Target (issue 7): p99 while busy <= 2x p99 idle.

What is measured is the app's event loop, so on a machine with two or more cores the local
service (its threads and simulator workers) is pinned to the last core and the app and this
script to the others (Linux; ``--no-pin`` to share every core): the simulator's CPU work
then does not compete with the app for a core, only the app's own Braket work does. The
service is started by ``_harness.local_service`` (shared with the other benchmarks).

    python benchmarks/bench_loop_responsiveness.py [--tasks 500] [--quota-scale 1]

Writes ``benchmarks/out/loop_responsiveness.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from _harness import ServiceProcess, local_service, write_json

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "fastapi_service.py"
TARGET_RATIO = 2.0


def _core_split(pin: bool) -> tuple[set[int], set[int]] | None:
    """(service cores, app cores) when pinning is asked for and possible, else None."""
    if not pin or not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return {cores[-1]}, set(cores[:-1])


def _pin_tree(pid: int, cores: set[int]) -> None:
    """Pin every thread of process ``pid`` and of its descendants to ``cores``."""
    import psutil  # type: ignore[import-untyped]

    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        for thread in proc.threads():
            with contextlib.suppress(OSError):  # a thread that just ended
                os.sched_setaffinity(thread.id, cores)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def example_app(
    local: ServiceProcess, rate_scale: float, cores: set[int] | None
) -> AsyncIterator[str]:
    """The example service in a child process on a free port; yields its base URL."""
    port = _free_port()
    env = {
        **local.env(),
        "BRAKET_OUTPUT_BUCKET": local.default_bucket,
        "BRAKET_RATE_SCALE": str(rate_scale),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "fastapi_service:app",
        "--app-dir", str(APP.parent), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/ping")).status_code == 200:
                        break
                if proc.returncode is not None:
                    raise RuntimeError(f"the example app exited with {proc.returncode}")
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the example app did not answer /ping within 60 s")
        if cores is not None:
            _pin_tree(proc.pid, cores)
        yield url
    finally:
        await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def ping_until(
    http: httpx.AsyncClient, stop: asyncio.Event, *, interval: float, limit: int | None = None
) -> list[float]:
    """Ping ``/ping`` every ``interval`` s until ``stop`` (or ``limit`` pings); latencies in ms."""
    latencies: list[float] = []
    while not stop.is_set() and (limit is None or len(latencies) < limit):
        start = time.perf_counter()
        response = await http.get("/ping")
        latencies.append((time.perf_counter() - start) * 1000.0)
        response.raise_for_status()
        await asyncio.sleep(interval)
    return latencies


async def follow_events(http: httpx.AsyncClient, batch_id: str) -> dict[str, int]:
    """Read the batch's SSE stream to its end; counts of task events per ARN."""
    seen: dict[str, int] = {}
    async with http.stream("GET", f"/batches/{batch_id}/events", timeout=None) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "task":
                arn = json.loads(line[6:])["arn"]
                seen[arn] = seen.get(arn, 0) + 1
    return seen


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in ms (``statistics.quantiles``, inclusive method)."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "count": len(latencies),
        "p50": round(cuts[49], 3),
        "p90": round(cuts[89], 3),
        "p99": round(cuts[98], 3),
        "max": round(max(latencies), 3),
        "mean": round(statistics.fmean(latencies), 3),
    }


async def run(args: argparse.Namespace, local: ServiceProcess) -> dict[str, Any]:
    split = _core_split(args.pin)
    if split is not None:
        _pin_tree(local.process.pid, split[0])
        os.sched_setaffinity(0, split[1])  # this script measures beside the app
    async with (
        example_app(local, args.quota_scale, split[1] if split else None) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        await ping_until(http, asyncio.Event(), interval=0, limit=50)  # warm up
        idle = await ping_until(
            http, asyncio.Event(), interval=args.interval, limit=args.idle_pings
        )

        started = time.perf_counter()
        body = {"n": args.tasks, "kind": "mixed", "shots": args.shots, "seed": 7}
        batch = (await http.post("/batches", json=body)).json()
        events = asyncio.create_task(follow_events(http, batch["batch_id"]))
        stop = asyncio.Event()
        events.add_done_callback(lambda _: stop.set())
        busy = await ping_until(http, stop, interval=args.interval)
        seen = await events
        wall = time.perf_counter() - started
        status = (await http.get(f"/batches/{batch['batch_id']}?tasks=false")).json()
        ledger = (
            await http.get(f"{local.endpoint_url}/_local/ledger", headers=local.control_headers())
        ).json()
    idle_p, busy_p = percentiles(idle), percentiles(busy)
    ratio = busy_p["p99"] / idle_p["p99"]
    return {
        "benchmark": "loop_responsiveness",
        "tasks": args.tasks,
        "quota_scale": args.quota_scale,
        "ping_interval_s": args.interval,
        "batch_wall_s": round(wall, 3),
        "batch_counts": status["counts"],
        "service_calls": ledger["calls"],
        "service_throttled": ledger["total_throttled"],
        "pinned": {"service": sorted(split[0]), "app": sorted(split[1])} if split else None,
        "task_events": sum(seen.values()),
        "tasks_reported_once": len(seen) == args.tasks and set(seen.values()) == {1},
        "idle_ms": idle_p,
        "busy_ms": busy_p,
        "p99_ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--quota-scale", type=float, default=1.0, help="service and client alike")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between pings")
    parser.add_argument("--idle-pings", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="simulator processes")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="share every core")
    args = parser.parse_args(argv)
    with local_service(quota_scale=args.quota_scale, workers=args.workers) as local:
        report = asyncio.run(run(args, local))
    path = write_json("loop_responsiveness.json", report)
    idle, busy = report["idle_ms"], report["busy_ms"]
    print(
        f"batch of {report['tasks']} tasks in {report['batch_wall_s']} s: {report['batch_counts']}"
    )
    print(f"task events over SSE: {report['task_events']} (each task once: "
          f"{report['tasks_reported_once']})")  # fmt: skip
    print(
        f"GET /ping  idle  p50 {idle['p50']:.2f} ms  p99 {idle['p99']:.2f} ms  (n={idle['count']})"
    )
    print(
        f"GET /ping  busy  p50 {busy['p50']:.2f} ms  p99 {busy['p99']:.2f} ms  (n={busy['count']})"
    )
    verdict = "meets" if report["meets_target"] else "MISSES"
    print(f"p99 busy/idle = {report['p99_ratio']:.2f}x ({verdict} the <= {TARGET_RATIO}x target)")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
