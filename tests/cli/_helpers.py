"""Helpers for the command-line tests: one in-process run of ``braket-async``."""

from __future__ import annotations

import io
import json
from typing import Any

import attrs

from braket_async.cli import main

__all__ = ["Run", "run_main"]


@attrs.frozen
class Run:
    """One run of the command: exit code and what it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_main(*argv: str) -> tuple[int, str, str]:
    """Run ``braket-async argv...`` in this thread (``main`` runs its own ``asyncio.run``):
    exit code, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()
