"""The pytest plugin (``braket_async_pytest``): in subprocesses, in a fresh directory with no
conftest and no configuration (pytest-asyncio's strict mode, function loops by default; the
interpreter is this venv's, with ``-p no:cacheprovider`` and the temp directory as rootdir, not
a venv built for the test), in its default thread mode, under pytest-xdist, and in its
session-loop mode; then in this project's own run (session-loop mode, settings from pyproject).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from braket_async import BraketSession
from braket_async.local import Ledger, LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"

#: The done-when of issue 22: three lines each, no configuration, sync and async.
THREE_LINE_SYNC = """\
import boto3
def test_sync(braket_env):
    assert len(boto3.client("braket").search_devices(filters=[])["devices"]) >= 3
"""
THREE_LINE_ASYNC = """\
import pytest
@pytest.mark.asyncio
async def test_async(braket): assert len((await braket.search_devices()).devices) >= 3
"""

#: thread mode, file 1 of 2 (one per xdist worker): sync code, async tests on three loops.
THREAD_MODE_CLIENTS = """
import json
import os
from pathlib import Path

import boto3
import pytest

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def test_sync_boto3(braket_env, braket_ledger):
    devices = boto3.client("braket").search_devices(filters=[])["devices"]
    assert len(devices) >= 3
    assert braket_ledger.calls["SearchDevices"] == 1


def test_sync_braket_sdk(braket_env):
    from braket.aws import AwsDevice

    assert AwsDevice(SV1).status == "ONLINE"


@pytest.mark.asyncio
async def test_function_loop(braket):
    assert (await braket.get_device(SV1)).device_status == "ONLINE"


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(braket):
    assert (await braket.get_device(SV1)).device_status == "ONLINE"


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(braket, braket_local):
    assert braket.client.meta.endpoint_url == braket_local.endpoint_url
    assert (await braket.get_device(SV1)).device_status == "ONLINE"


def test_env_is_undone():
    assert "AWS_ENDPOINT_URL_BRAKET" not in os.environ
    assert os.environ["AWS_PROFILE"] == "outer-profile"


def test_braket_in_a_sync_test_is_told(braket):
    pass


@pytest.mark.braket_local(quotas="sometimes")
def test_bad_marker_value_is_named(braket_local):
    pass


def test_zz_which_worker(braket_local):
    here = Path(__file__).with_suffix(".worker")
    here.write_text(json.dumps([os.environ["PYTEST_XDIST_WORKER"], braket_local.endpoint_url]))
"""

#: thread mode, file 2 of 2: marker services, a clean slate.
THREAD_MODE_SERVICES = """
import json
import os
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
THROTTLED = {"per_operation": {"SearchDevices": {"throttle": 1.0}}}


@pytest.mark.braket_local(quotas="off", queue_delay=0.25, faults=THROTTLED)
def test_marker_gives_an_own_service(braket_local, braket_local_session, braket_env):
    assert braket_local is not braket_local_session
    assert braket_local.quotas.describe()["off"] is True
    assert braket_local.queue_delay == 0.25
    assert braket_local.s3_endpoint_url == braket_local_session.s3_endpoint_url
    client = boto3.client("braket", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError, match="ThrottlingException"):
        client.search_devices(filters=[])
    assert client.get_device(deviceArn=SV1)["deviceStatus"] == "ONLINE"


@pytest.mark.asyncio
async def test_leaves_a_task_and_a_fault(braket, braket_local):
    await braket.create_quantum_task(
        device_arn=SV1, action=BELL, shots=10,
        output_s3_bucket=braket_local.default_bucket, output_s3_key_prefix="t",
    )
    from braket_async.local import FaultConfig

    braket_local.faults = FaultConfig.from_json(
        {"per_operation": {"GetDevice": {"internal_error": 1.0}}}
    )


@pytest.mark.asyncio
async def test_clean_slate(braket_clean, braket):
    assert braket_clean.faults is None
    assert (await braket.search_quantum_tasks(filters=[])).quantum_tasks == ()
    assert (await braket.get_device(SV1)).device_status == "ONLINE"
    assert braket_clean.ledger.calls == {"SearchQuantumTasks": 1, "GetDevice": 1}


def test_zz_which_worker(braket_local):
    here = Path(__file__).with_suffix(".worker")
    here.write_text(json.dumps([os.environ["PYTEST_XDIST_WORKER"], braket_local.endpoint_url]))
"""

#: session-loop mode: the service on pytest-asyncio's session loop, clear errors elsewhere.
SESSION_LOOP_MODE = """
import asyncio
import os

import boto3
import pytest

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_session_service(braket, braket_local, braket_local_session, braket_ledger):
    assert braket_local is braket_local_session
    assert type(braket_local).__name__ == "LocalBraket"
    await braket.get_device(SV1)
    assert braket_ledger.calls["GetDevice"] == 1
    braket_local.ledger.record_call("Marker")


async def test_ledger_is_reset_per_test(braket_ledger):
    assert "Marker" not in braket_ledger.calls


@pytest.mark.braket_local(quotas="off", queue_delay=0.25)
async def test_marker_gives_an_own_service(braket_local, braket_local_session, braket):
    assert braket_local is not braket_local_session
    assert braket_local.quotas.describe()["off"] is True
    assert (await braket.get_device(SV1)).device_status == "ONLINE"


async def test_env_points_boto3_at_the_service(braket_env, braket_clean):
    devices = await asyncio.to_thread(
        lambda: boto3.client("braket").search_devices(filters=[])["devices"]
    )
    assert len(devices) >= 3
    assert braket_clean.ledger.calls == {"SearchDevices": 1}


def test_sync_test_is_told(braket_local):
    pass


@pytest.mark.asyncio(loop_scope="function")
async def test_function_loop_is_told(braket_local):
    pass
"""


#: A child pytest starts its own service (moto, simulator workers): seconds, more on a loaded
#: machine than the suite's per-test timeout allows.
_CHILD_PYTEST = pytest.mark.timeout(300)


def _child_env(directory: Path) -> dict[str, str]:
    """No AWS or pytest settings of ours, but a developer's profile (which ``braket_env``
    must set aside for the test and give back)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "BRAKET_"))}
    config = directory / "aws-config"
    config.write_text("[profile outer-profile]\nregion = eu-west-1\n")
    return {**env, "AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "outer-profile"}


async def _pytest_in(directory: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    """Run pytest in ``directory`` in a child process; returns code, output and the outcome
    of each test (from its JUnit XML)."""
    report = directory / "report.xml"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
        "error::ResourceWarning", f"--junitxml={report}", *args,
        cwd=directory,
        env=_child_env(directory),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    outcomes: dict[str, Any] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            problem = next(iter(case), None)
            outcomes[case.get("name", "")] = (
                ("passed", "") if problem is None else (problem.tag, problem.get("message", ""))
            )
    assert proc.returncode is not None
    return proc.returncode, out.decode(), outcomes


@_CHILD_PYTEST
async def test_three_line_sync_and_async_tests_pass_with_no_configuration(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_sync.py").write_text(THREE_LINE_SYNC)
    (tmp_path / "test_async.py").write_text(THREE_LINE_ASYNC)
    assert len(THREE_LINE_SYNC.splitlines()) == len(THREE_LINE_ASYNC.splitlines()) == 3
    code, out, outcomes = await _pytest_in(tmp_path)
    assert code == 0, out[-3000:]
    assert outcomes == {"test_sync": ("passed", ""), "test_async": ("passed", "")}


@_CHILD_PYTEST
async def test_thread_mode_serves_sync_tests_and_every_loop_one_service_per_xdist_worker(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_clients.py").write_text(THREAD_MODE_CLIENTS)
    (tmp_path / "test_services.py").write_text(THREAD_MODE_SERVICES)
    # loadfile: each of the two files on its own worker, its tests in order
    args = ("-n", "2", "--dist", "loadfile", "-o", "braket_local_workers=1")
    code, out, outcomes = await _pytest_in(tmp_path, *args)
    assert code == 1, out[-3000:]
    errors = {
        "test_braket_in_a_sync_test_is_told": "use it in an 'async def' test",
        "test_bad_marker_value_is_named": "quotas=...) must be 'off', 'aws_defaults'",
    }
    for name, outcome in outcomes.items():
        if name in errors:
            kind, message = outcome
            assert kind == "error" and errors[name] in message, (name, outcome)
        else:
            assert outcome == ("passed", ""), (name, out[-3000:])
    assert len(outcomes) == 12  # test_zz_which_worker is in both files
    workers = await asyncio.to_thread(
        lambda: [json.loads(f.read_text()) for f in sorted(tmp_path.glob("*.worker"))]
    )
    assert len({worker for worker, _ in workers}) == 2
    assert len({endpoint for _, endpoint in workers}) == 2  # one service per worker


@_CHILD_PYTEST
async def test_session_loop_mode_and_clear_errors_for_the_wrong_loop(tmp_path: Path) -> None:
    (tmp_path / "test_features.py").write_text(SESSION_LOOP_MODE)
    args = ("-o", "braket_local_mode=session-loop", "-o", "braket_local_workers=1")
    code, out, outcomes = await _pytest_in(tmp_path, *args)
    assert code == 1, out[-3000:]
    for name in (
        "test_session_service",
        "test_ledger_is_reset_per_test",
        "test_marker_gives_an_own_service",
        "test_env_points_boto3_at_the_service",
    ):
        assert outcomes[name] == ("passed", ""), (name, out[-3000:])
    kind, message = outcomes["test_sync_test_is_told"]
    assert kind == "error" and "make the test 'async def'" in message
    kind, message = outcomes["test_function_loop_is_told"]
    assert kind == "error" and "loop scope is 'function'" in message


@_CHILD_PYTEST
async def test_an_unknown_mode_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text("def test_one(braket_local):\n    pass\n")
    code, _out, outcomes = await _pytest_in(tmp_path, "-o", "braket_local_mode=subprocess")
    assert code == 1
    kind, message = outcomes["test_one"]
    assert kind == "error"
    assert "braket_local_mode must be 'thread' or 'session-loop', got 'subprocess'" in message


async def test_loading_the_plugin_imports_neither_the_service_nor_the_client() -> None:
    code = textwrap.dedent(
        """
        import sys
        import braket_async_pytest.plugin
        heavy = ("braket_async", "moto", "aiohttp", "aiobotocore", "braket")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    ).replace("import sys", "import json, sys")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert json.loads(out) == []


async def test_the_plugin_is_registered_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "braket_async"]
    assert entry.value == "braket_async_pytest.plugin"


# In this project's own run (auto mode, session loop, settings from pyproject) --------------


@pytest.mark.braket_local(quotas="aws_defaults:0.5", queue_delay=0.0, run_delay=0.0)
async def test_marked_test_gets_its_own_scaled_service(
    braket_local: LocalBraket, local_braket: LocalBraket, braket: BraketSession
) -> None:
    assert braket_local is not local_braket
    assert braket_local.quotas.describe()["scale"] == 0.5
    assert braket.client.meta.endpoint_url == braket_local.endpoint_url


async def test_ledger_counts_only_this_test(
    braket: BraketSession, braket_ledger: Ledger, local_braket: LocalBraket
) -> None:
    assert braket_ledger is local_braket.ledger
    assert braket_ledger.snapshot()["total_calls"] == 0
    await braket.get_device(SV1)
    await braket.get_device(SV1)
    assert braket_ledger.calls["GetDevice"] == 2


async def test_ini_options_set_the_session_service(
    local_braket: LocalBraket, request: pytest.FixtureRequest
) -> None:
    from braket_async.local import NoScriptJobRunner

    # pyproject: braket_local_queue_delay / _run_delay = 0.01, braket_local_job_scripts = false
    assert request.config.getini("braket_local_queue_delay") == "0.01"
    assert (local_braket.queue_delay, local_braket.run_delay) == (0.01, 0.01)
    assert isinstance(local_braket.jobs.runner, NoScriptJobRunner)


@pytest.fixture
async def dirty(braket_local: LocalBraket, braket: BraketSession) -> AsyncIterator[str]:
    """A task left in ``braket_local`` and a fault in force (before ``braket_clean``)."""
    arn = await braket.create_quantum_task(
        device_arn=SV1,
        action="OPENQASM 3; qubit q; bit c; h q; c = measure q;",
        shots=1,
        output_s3_bucket=braket_local.default_bucket,
        output_s3_key_prefix="dirty",
    )
    yield arn


@pytest.mark.braket_local(queue_delay=3600.0)
async def test_braket_clean_resets_the_service_on_the_session_loop(
    dirty: str, braket_clean: LocalBraket, braket: BraketSession
) -> None:
    from braket_async.errors import ResourceNotFoundException

    assert braket_clean.ledger.snapshot()["total_calls"] == 0
    with pytest.raises(ResourceNotFoundException):
        await braket.get_quantum_task(dirty)
