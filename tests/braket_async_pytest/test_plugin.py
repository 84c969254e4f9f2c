"""The pytest plugin (``braket_async_pytest``): fixtures in this project's own run (auto mode,
session loop) and, in subprocesses, in a fresh directory with no conftest and no configuration
(pytest-asyncio's strict mode, function loops by default)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from braket_async import BraketSession
from braket_async.local import Ledger, LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"

THREE_LINES = """\
import pytest
@pytest.mark.asyncio(loop_scope="session")
async def test_devices(braket): assert len((await braket.search_devices()).devices) >= 3
"""

STRICT_MODE_FILE = '''
import asyncio
import os

import boto3
import pytest

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_session_service(braket, braket_local, braket_local_session, braket_ledger):
    assert braket_local is braket_local_session
    await braket.get_device(SV1)
    assert braket_ledger.calls["GetDevice"] == 1
    braket_local.ledger.record_call("Marker")


async def test_ledger_is_reset_per_test(braket_ledger):
    assert "Marker" not in braket_ledger.calls


THROTTLED = {"per_operation": {"SearchDevices": {"throttle": 1.0}}}


@pytest.mark.braket_local(quotas="off", queue_delay=0.25, faults=THROTTLED)
async def test_marker_gives_an_own_service(braket_local, braket_local_session, braket):
    assert braket_local is not braket_local_session
    assert braket_local.quotas.describe()["off"] is True
    assert braket_local.queue_delay == 0.25
    assert braket_local.s3_endpoint_url == braket_local_session.s3_endpoint_url
    assert (await braket.get_device(SV1)).device_status == "ONLINE"
    assert braket_local.faults.per_operation["SearchDevices"].throttle == 1.0


async def test_env_points_boto3_at_the_service(braket_env, braket_local):
    assert os.environ["AWS_ENDPOINT_URL_BRAKET"] == braket_local.endpoint_url
    assert "AWS_PROFILE" not in os.environ
    devices = await asyncio.to_thread(
        lambda: boto3.client("braket").search_devices(filters=[])["devices"]
    )
    assert len(devices) >= 3


async def test_env_is_undone():
    assert "AWS_ENDPOINT_URL_BRAKET" not in os.environ
    assert os.environ["AWS_PROFILE"] == "outer-profile"


def test_sync_test_is_told(braket_local):
    pass


@pytest.mark.asyncio(loop_scope="function")
async def test_function_loop_is_told(braket_local):
    pass


@pytest.mark.braket_local(quotas="sometimes")
async def test_bad_marker_value_is_named(braket_local):
    pass
'''


def _child_env(directory: Path) -> dict[str, str]:
    """No AWS or pytest settings of ours, but a developer's profile (which ``braket_env``
    must set aside for the test and give back)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PYTEST_", "BRAKET_"))
    }
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


async def test_three_line_file_runs_with_no_conftest_and_no_configuration(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_three.py").write_text(THREE_LINES)
    assert len(THREE_LINES.splitlines()) == 3
    code, out, outcomes = await _pytest_in(tmp_path)
    assert code == 0, out[-3000:]
    assert outcomes == {"test_devices": ("passed", "")}


async def test_fixtures_in_strict_mode_and_clear_errors_for_the_wrong_loop(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_features.py").write_text(STRICT_MODE_FILE)
    code, out, outcomes = await _pytest_in(tmp_path)
    assert code == 1, out[-3000:]
    for name in (
        "test_session_service",
        "test_ledger_is_reset_per_test",
        "test_marker_gives_an_own_service",
        "test_env_points_boto3_at_the_service",
        "test_env_is_undone",
    ):
        assert outcomes[name] == ("passed", ""), (name, out[-3000:])
    kind, message = outcomes["test_sync_test_is_told"]
    assert kind == "error" and "make the test 'async def'" in message
    kind, message = outcomes["test_function_loop_is_told"]
    assert kind == "error" and "loop scope is 'function'" in message
    kind, message = outcomes["test_bad_marker_value_is_named"]
    assert kind == "error" and "quotas=...) must be 'off', 'aws_defaults'" in message


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
