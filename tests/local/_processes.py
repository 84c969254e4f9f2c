"""Process helpers for tests (Linux ``/proc``)."""

from __future__ import annotations

import asyncio
import os

__all__ = ["alive", "child_pids", "gone"]


def child_pids(parent: int | None = None) -> set[int]:
    """Pids whose parent is ``parent`` (default: this process), read from ``/proc``."""
    parent = os.getpid() if parent is None else parent
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def gone(pid: int, within: float = 10.0) -> bool:
    """Wait up to ``within`` seconds for ``pid`` to end; whether it has."""
    step = 0.05
    for _ in range(int(within / step)):
        if not alive(pid):
            return True
        await asyncio.sleep(step)
    return not alive(pid)
