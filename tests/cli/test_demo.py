"""``braket-async demo``: in-process on a warm simulator pool, and once cold as a subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

import pytest

from braket_async.cli import main


@pytest.mark.usefixtures("quick_local")
async def test_demo_runs_every_task_and_reports_the_ledgers_figures() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["demo", "--tasks", "24", "--shots", "50", "--qubits", "3", "--json"]
    code = await asyncio.to_thread(main, argv, stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    report = json.loads(stdout.getvalue())
    assert report["tasks"] == report["completed"] == report["results_downloaded"] == 24
    assert report["tasks_created"] == 24 and report["client_token_replays"] == 0
    assert report["calls_by_operation"]["CreateQuantumTask"] == 24
    assert report["api_calls"] == sum(report["calls_by_operation"].values())
    assert report["api_calls_per_task"] == round(report["api_calls"] / 24, 3)
    assert report["throttled_429"] == 0
    # 12 GHZ tasks x 50 shots, all zeros or all ones.
    assert set(report["ghz_counts"]) == {"000", "111"}
    assert sum(report["ghz_counts"].values()) == 12 * 50
    assert 1 <= report["random_outcomes"] <= 8


async def test_the_demo_command_works_cold_without_a_terminal() -> None:
    """What the README's first command runs: a fresh process, no TTY, exit 0, a histogram."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "braket_async.cli", "demo", "--tasks", "10", "--shots", "40",
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    text, log = out.decode(), err.decode()
    assert "GHZ, 4 qubits" in text and "0000" in text and "1111" in text
    assert "tasks completed" in text and "10 of 10" in text
    assert "Braket API calls per task" in text and "throttled (429)" in text
    assert "submitted 10/10, finished 10/10 (queued 0, running 0," in log  # plain lines off a TTY
    assert "\x1b[" not in text + log  # no terminal escapes in logs
