"""Missing extras (issue 20, item 8): each entry point that needs one fails at once with an
ImportError naming the install command, and leaves nothing running. Each case runs in a child
Python whose import system refuses the extra's modules (a meta-path blocker installed by a
``sitecustomize``, so it holds in the child's own children too), with a bounded exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Installed by ``sitecustomize``: modules named in $BLOCK_MODULES (comma-separated, read at
#: every lookup) cannot be imported, as if their distribution were not installed.
SITECUSTOMIZE = textwrap.dedent(
    """
    import importlib.abc, os, sys

    class _Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            for blocked in filter(None, os.environ.get("BLOCK_MODULES", "").split(",")):
                if name == blocked or name.startswith(blocked + "."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Blocker())
    """
)


def run_child(
    tmp_path: Path, program: str, blocked: str, *, timeout: float = 90.0
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "BLOCK_MODULES": blocked,
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang fails the test instead of holding it
        check=False,
    )


#: Every extra missing at once: the core client works; each entry point of an extra fails
#: with its install command; LocalBraket starts nothing. One JSON line per case.
WITHOUT_EXTRAS = """
import asyncio, io, json, sys

def attempt(case, statement):
    try:
        exec(statement, {})
    except ImportError as exc:
        print(json.dumps([case, "ImportError", str(exc)]))
    else:
        print(json.dumps([case, "ok", ""]))

attempt("core", "from braket_async import BraketSession, Telemetry; Telemetry()")
attempt("otel", "from braket_async import Telemetry; Telemetry(tracer_provider=object())")
attempt("redis", "import braket_async.ratelimit_redis")
attempt("fastapi", "import braket_async.contrib.fastapi")
attempt("local", "import braket_async.local")

from braket_async.cli import main
err = io.StringIO()
code = main(["devices"], stderr=err)
print(json.dumps(["cli", code, err.getvalue()]))

async def serve():
    try:
        from braket_async.local import LocalBraket
        async with LocalBraket():
            pass
    except ImportError as exc:
        return ["service", "ImportError", str(exc), len(asyncio.all_tasks()) - 1]
    return ["service", "ok", "", len(asyncio.all_tasks()) - 1]
print(json.dumps(asyncio.run(serve())))
"""


def _lines(stdout: str) -> dict[str, list[object]]:
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("[")]
    return {row[0]: row[1:] for row in rows}


def test_each_entry_point_without_its_extra_names_the_install_command(tmp_path: Path) -> None:
    child = run_child(tmp_path, WITHOUT_EXTRAS, "moto,redis,fastapi,opentelemetry,rich")
    assert child.returncode == 0, child.stderr
    rows = _lines(child.stdout)
    assert rows["core"] == ["ok", ""]  # the blocker is real, and the client needs no extra
    for extra in ("otel", "redis", "fastapi", "local"):
        kind, message = rows[extra]
        assert kind == "ImportError" and f"pip install 'braket-async[{extra}]'" in str(message)
    code, stderr = rows["cli"]
    assert code != 0 and "pip install 'braket-async[cli]'" in str(stderr)
    # `async with LocalBraket(): pass` (the report's case): the hint, and no task left behind
    assert rows["service"][0] == "ImportError"
    assert "pip install 'braket-async[local]'" in str(rows["service"][1])
    assert rows["service"][2] == 0


#: Each module of the ``local`` extra missing alone (the blocker reads $BLOCK_MODULES on every
#: lookup, so one child tries them in turn).
EACH_LOCAL_MODULE = """
import json, os, sys
for blocked in ("moto", "flask", "boto3", "braket.default_simulator", "qiskit"):
    os.environ["BLOCK_MODULES"] = blocked
    for name in [n for n in sys.modules if n.startswith("braket_async.local")]:
        del sys.modules[name]
    try:
        import braket_async.local
    except ImportError as exc:
        print(json.dumps([blocked, "ImportError", str(exc)]))
    else:
        print(json.dumps([blocked, "ok", ""]))
"""


def test_each_module_of_the_local_extra_is_checked(tmp_path: Path) -> None:
    child = run_child(tmp_path, EACH_LOCAL_MODULE, "")
    assert child.returncode == 0, child.stderr
    rows = _lines(child.stdout)
    assert set(rows) == {"moto", "flask", "boto3", "braket.default_simulator", "qiskit"}
    for blocked, (kind, message) in rows.items():
        assert kind == "ImportError", blocked
        assert blocked in str(message) and "pip install 'braket-async[local]'" in str(message)


#: Starts the service after the import check passed, with the simulator then missing from the
#: workers it spawns: the executor's start fails while the embedded moto server is starting.
HALF_START = """
import asyncio, os, time
from braket_async.local import LocalBraket

def children():
    me, found = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            found.append(pid)
    return found

async def main():
    os.environ["BLOCK_MODULES"] = "braket.default_simulator"  # the workers cannot import it
    started = time.monotonic()
    try:
        async with LocalBraket(workers=1):
            print("STARTED")
    except Exception as exc:
        print("FAILED", type(exc).__name__, round(time.monotonic() - started, 1))
    print("TASKS", len(asyncio.all_tasks()) - 1)
    print("CHILDREN", children())

asyncio.run(main())
print("EXITED")
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_a_start_that_fails_half_way_leaves_nothing_running(tmp_path: Path) -> None:
    child = run_child(tmp_path, HALF_START, "", timeout=60)
    out = child.stdout
    assert "FAILED" in out and "STARTED" not in out, out + child.stderr
    assert "TASKS 0" in out, out
    assert "CHILDREN []" in out, out
    assert "EXITED" in out and child.returncode == 0, child.stderr
