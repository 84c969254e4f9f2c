"""The example scripts in examples/ run as documented (on the session's warm local service
parts, so they start in milliseconds)."""

from __future__ import annotations

import ast
import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from braket_async.local import LocalBraket

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def warm(simulator_executor: Any, local_braket: LocalBraket) -> Any:
    """LocalBraket on the session's simulator pool and moto server."""
    return functools.partial(
        LocalBraket, executor=simulator_executor, s3_endpoint_url=local_braket.s3_endpoint_url
    )


async def test_quickstart(warm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    module = load("quickstart")
    monkeypatch.setattr(module, "LocalBraket", warm)
    await module.main()
    out = capsys.readouterr().out
    assert "SV1: ONLINE" in out and "status COMPLETED" in out
    counts = ast.literal_eval(out.split("counts ", 1)[1].strip())  # the dict it printed
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000


async def test_batch(warm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    module = load("batch")
    monkeypatch.setattr(module, "LocalBraket", warm)
    await module.main(12)
    out = capsys.readouterr().out
    assert "statuses {'COMPLETED': 12}" in out
    assert "'CreateQuantumTask': 12" in out


async def test_waiters(warm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    module = load("waiters")
    monkeypatch.setattr(module, "LocalBraket", warm)
    await module.main()
    out = capsys.readouterr().out
    assert "completed: COMPLETED" in out
    assert "failed as expected:" in out and "no_such_gate" in out
    assert "timed out as expected:" in out and "waiter: COMPLETED" in out
    assert out.count("finished ") == 20
