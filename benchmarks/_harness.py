"""Shared benchmark helpers: the local Braket service in its own process, its ledger over HTTP,
clients run in their own processes, and what they cost (wall time, CPU seconds, peak RSS).

::

    from _harness import local_service, run_peer, measure

    with local_service(quota_scale=0.5, latency=0.05) as service:
        row = run_peer([sys.executable, "bench_x.py", "--peer", "ours"], env=service.env())
        calls = service.ledger()["total_calls"]

``python benchmarks/_harness.py serve [--quota-scale S] [--latency SECONDS] ...`` runs the
service (``braket_async.local``'s ``serve``) with an added latency on every call, which the
stock ``python -m braket_async.local serve`` cannot configure; it prints the same ready line.
Keep this module generic: nothing here knows about a particular benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "OUT_DIR",
    "ResourceUse",
    "ServiceProcess",
    "local_service",
    "measure",
    "run_peer",
    "serve_main",
    "write_json",
]

#: Where benchmarks write their JSON and charts.
OUT_DIR = Path(__file__).resolve().parent / "out"
_HERE = Path(__file__).resolve()
_REGION = "us-east-1"


@attrs.define
class ServiceProcess:
    """A running local Braket service in a child process."""

    endpoint_url: str
    s3_endpoint_url: str
    default_bucket: str
    region: str
    process: subprocess.Popen[str]

    def ledger(self) -> dict[str, Any]:
        """The service's counters (``GET /_local/ledger``)."""
        with urllib.request.urlopen(f"{self.endpoint_url}/_local/ledger", timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def reset_ledger(self) -> None:
        """Zero the counters (``POST /_local/ledger/reset``)."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/_local/ledger/reset", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30):
            pass

    def env(self) -> dict[str, str]:
        """Environment pointing boto3, aiobotocore, braket-async and the Braket SDK here."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") or k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
        }
        env.update(
            {
                "AWS_ENDPOINT_URL_BRAKET": self.endpoint_url,
                "AWS_ENDPOINT_URL_S3": self.s3_endpoint_url,
                "AWS_ENDPOINT_URL_STS": self.s3_endpoint_url,
                "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.s3_endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env


@contextlib.contextmanager
def local_service(
    *,
    quota_scale: float = 1.0,
    no_quotas: bool = False,
    latency: float = 0.0,
    queue_delay: float = 0.0,
    run_delay: float = 0.0,
    workers: int | None = None,
) -> Iterator[ServiceProcess]:
    """Start the local service in a child process; stop it (SIGTERM) on exit."""
    argv = [
        sys.executable, str(_HERE), "serve",
        "--quota-scale", str(quota_scale),
        "--latency", str(latency),
        "--queue-delay", str(queue_delay),
        "--run-delay", str(run_delay),
    ]  # fmt: skip
    if no_quotas:
        argv.append("--no-quotas")
    if workers is not None:
        argv += ["--workers", str(workers)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the ready line (or EOF if it died)
        if not line:
            raise RuntimeError(f"the local service did not start (exit code {proc.poll()})")
        info = json.loads(line)
        yield ServiceProcess(
            endpoint_url=info["endpoint_url"],
            s3_endpoint_url=info["s3_endpoint_url"],
            default_bucket=info["default_bucket"],
            region=info.get("region", _REGION),
            process=proc,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@attrs.define
class ResourceUse:
    """What a measured block cost its process: wall and CPU seconds (every thread), and the
    process's peak resident set size so far (MB)."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return attrs.asdict(self)


@contextlib.contextmanager
def measure() -> Iterator[ResourceUse]:
    """Measure the block: ``with measure() as use: ...`` then read ``use``."""
    use = ResourceUse()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield use
    finally:
        use.wall_seconds = time.perf_counter() - wall
        use.cpu_seconds = time.process_time() - cpu
        # ru_maxrss is in KiB on Linux (bytes on macOS).
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        use.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def run_peer(
    argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run a client in its own process (so its CPU and memory are its own) and return the JSON
    object it prints as its last stdout line."""
    done = subprocess.run(
        list(argv), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-20:])
        raise RuntimeError(f"{argv[1:3]} exited with {done.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def write_json(name: str, data: Any, out_dir: Path = OUT_DIR) -> Path:
    """Write ``data`` as ``{out_dir}/{name}`` (pretty JSON); returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``_harness.py serve``: the local service with an optional added latency per call."""
    import asyncio

    from braket_async.local import FaultConfig, FaultSpec
    from braket_async.local.__main__ import serve

    parser = argparse.ArgumentParser(prog="_harness.py")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--quota-scale", type=float, default=1.0)
    s.add_argument("--no-quotas", action="store_true")
    s.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    s.add_argument("--queue-delay", type=float, default=0.0)
    s.add_argument("--run-delay", type=float, default=0.0)
    s.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    faults = FaultConfig(default=FaultSpec(latency=args.latency)) if args.latency > 0 else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                quota_scale=args.quota_scale,
                no_quotas=args.no_quotas,
                queue_delay=args.queue_delay,
                run_delay=args.run_delay,
                workers=args.workers,
                faults=faults,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(serve_main())
