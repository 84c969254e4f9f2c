"""Cold start of the local service: this tree's pipe workers vs an earlier revision, same run.

Each round starts a fresh ``python`` that imports the package and runs
``async with SimulatorExecutor(workers=2)`` (``--what executor``) or
``async with LocalBraket(workers=2)`` (``--what local``: embedded moto too), and times process
start -> ready from the parent (``Popen`` -> the ready line). Rounds alternate between the two
source trees so that load on the machine hits both alike; medians and the ratio
``this / baseline`` are printed (target: <= 1.0, startup must not get slower).

Both trees run with ``python -S`` and ``PYTHONPATH=<tree>:<site-packages>``, so an editable
install of either cannot shadow the other (the baseline is ``git archive REV braket_async``).

    python benchmarks/bench_local_startup.py --baseline-rev REV [--rounds N] [--what W]

Writes ``benchmarks/out/bench_local_startup.json``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import write_json

ROOT = Path(__file__).resolve().parent.parent

#: Run in the child: start, print one line when ready, stop.
PROBE = """\
import asyncio, sys
async def main(what):
    if what == "executor":
        from braket_async.local.simulation._executor import SimulatorExecutor
        async with SimulatorExecutor(workers=2):
            print("ready", flush=True)
    else:
        from braket_async.local import LocalBraket
        async with LocalBraket(workers=2):
            print("ready", flush=True)
if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
"""


def _archive(rev: str, into: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "braket_async"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _cold_start(tree: Path, what: str, probe: Path) -> float:
    site = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), site])}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-S", str(probe), what],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=probe.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready = time.perf_counter() - started
    proc.wait(timeout=120)
    proc.stdout.close()
    if line.strip() != "ready":
        raise RuntimeError(f"{tree}: the probe did not start (exit code {proc.returncode})")
    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", required=True, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--what", choices=("executor", "local"), default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = _archive(args.baseline_rev, Path(tmp) / "baseline")
        # The probe lives in its own directory: python puts a script's directory on sys.path.
        probe_dir = Path(tmp) / "probe"
        probe_dir.mkdir()
        probe = probe_dir / "probe.py"
        probe.write_text(PROBE)
        trees = {"baseline": base, "this": ROOT}
        times: dict[str, list[float]] = {name: [] for name in trees}
        for round_no in range(args.rounds):
            order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
            for name in order:
                times[name].append(_cold_start(trees[name], args.what, probe))
                print(f"round {round_no + 1}: {name:8s} {times[name][-1]:.2f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["this"] / medians["baseline"]
    print(
        f"{args.what} cold start, median of {args.rounds}: baseline ({args.baseline_rev}) "
        f"{medians['baseline']:.2f} s, this tree {medians['this']:.2f} s, ratio {ratio:.2f}"
    )
    result: dict[str, Any] = {
        "what": args.what,
        "baseline_rev": args.baseline_rev,
        "rounds": args.rounds,
        "seconds": times,
        "median_seconds": medians,
        "ratio_this_over_baseline": ratio,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    print(write_json(f"bench_local_startup_{args.what}.json", result))


if __name__ == "__main__":
    main()
