"""Shared benchmark helpers: the local Braket service in its own process, its ledger over HTTP,
clients run in their own processes, and what they cost (wall time, CPU seconds, peak RSS).

::

    from _harness import local_service, run_peer, measure

    with local_service(quota_scale=0.5, latency=0.05) as service:
        row = run_peer([sys.executable, "bench_x.py", "--peer", "ours"], env=service.env())
        calls = service.ledger()["total_calls"]
        service.put_faults({"default": {"throttle": 0.1}})  # change it while it runs

The service is the stock ``python -m braket_async.local serve`` (its ``--latency`` and
``--fault ...`` options; ``/_local/faults`` and ``/_local/quotas`` to change them later).
Keep this module generic: nothing here knows about a particular benchmark.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
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
    "write_json",
]

#: Where benchmarks write their JSON and charts.
OUT_DIR = Path(__file__).resolve().parent / "out"
_REGION = "us-east-1"


@attrs.define
class ServiceProcess:
    """A running local Braket service in a child process."""

    endpoint_url: str
    s3_endpoint_url: str
    default_bucket: str
    region: str
    process: subprocess.Popen[str]
    #: Bearer token of the ``/_local/*`` routes and the key pair requests are signed with
    #: (all from the ready line; the secret is serve's default unless overridden).
    control_token: str = ""
    credentials: tuple[str, str] = ("testing", "testing")

    def control_headers(self) -> dict[str, str]:
        """The header the ``/_local/*`` control routes require."""
        return {"Authorization": f"Bearer {self.control_token}"}

    def ledger(self) -> dict[str, Any]:
        """The service's counters (``GET /_local/ledger``)."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/_local/ledger", headers=self.control_headers()
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def reset_ledger(self) -> None:
        """Zero the counters (``POST /_local/ledger/reset``)."""
        self._send("POST", "ledger/reset", {})

    def put_faults(self, config: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault injection (``PUT /_local/faults``, ``FaultConfig``'s JSON form:
        ``{"default": {...}, "per_operation": {op: {...}}, "seed": n}``); returns it."""
        return self._send("PUT", "faults", config)

    def put_quotas(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the request-rate quotas (``PUT /_local/quotas``:
        ``{"scale": s, "overrides": {op: [rate, burst]}}`` or ``{"off": true}``)."""
        return self._send("PUT", "quotas", settings)

    def _send(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.endpoint_url}/_local/{route}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", **self.control_headers()},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

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
                "AWS_ACCESS_KEY_ID": self.credentials[0],
                "AWS_SECRET_ACCESS_KEY": self.credentials[1],
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
    extra_args: Sequence[str] = (),
) -> Iterator[ServiceProcess]:
    """Start ``python -m braket_async.local serve`` in a child process; stop it (SIGTERM) on
    exit. ``latency`` is added to every call; ``extra_args`` are more ``serve`` options (e.g.
    ``["--fault", "CreateQuantumTask:throttle=0.1"]``)."""
    argv = [
        sys.executable, "-m", "braket_async.local", "serve",
        "--quota-scale", str(quota_scale),
        "--latency", str(latency),
        "--queue-delay", str(queue_delay),
        "--run-delay", str(run_delay),
    ]  # fmt: skip
    if no_quotas:
        argv.append("--no-quotas")
    if workers is not None:
        argv += ["--workers", str(workers)]
    argv += extra_args
    # stderr goes to a file, not a pipe nobody reads (which could fill and stall the service),
    # so that a service that dies at start can say why.
    with tempfile.TemporaryFile(mode="w+") as stderr:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # the ready line (or EOF if it died)
            if not line:
                code = proc.wait(timeout=30)
                stderr.seek(0)
                tail = "\n".join(stderr.read().splitlines()[-20:])
                raise RuntimeError(f"the local service did not start (exit code {code}):\n{tail}")
            info = json.loads(line)
            yield ServiceProcess(
                endpoint_url=info["endpoint_url"],
                s3_endpoint_url=info["s3_endpoint_url"],
                default_bucket=info["default_bucket"],
                region=info.get("region", _REGION),
                process=proc,
                control_token=info["control_token"],
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
