"""Who owns a job's processes and work directories, and how strays are found (Linux ``/proc``).

Every job runner has an *owner* id, ``{pid}.{start}.{token}``: the service's pid, that process's
start time in clock ticks since boot (``/proc/{pid}/stat`` field 22, so a recycled pid is not
taken for the owner) and a random token per runner (several services may share one process).
Each job's processes carry ``AMZN_BRAKET_LOCAL_JOB={owner}/{run}`` in their environment, and its
work directory is named ``{owner}-{job name}-...``. An owner is alive while a process with that
pid and start time exists.

These are the safety net behind the job supervisor (``_jobs_bootstrap``), which ends its own
tree: they catch processes that escaped it (the supervisor itself killed by SIGKILL) and
directories a killed service left behind. Blocking: call them off the event loop.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import time

from ._jobs_bootstrap import JOB_MARKER_ENV

__all__ = [
    "Owner",
    "find_marked",
    "kill_marked",
    "owner_alive",
    "process_start_ticks",
]

_OWNER = re.compile(r"(\d+)\.(\d+)\.([0-9a-f]+)")
_MARKER_PREFIX = f"{JOB_MARKER_ENV}=".encode()


def process_start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None if there is no such process
    (or no /proc: then 0 when the process exists)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[19])  # field 22 of stat; fields here start at field 3


class Owner:
    """This process's identity as the owner of job processes and directories."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.id = f"{pid}.{process_start_ticks(pid) or 0}.{secrets.token_hex(4)}"

    def marker(self, run: str) -> str:
        """The marker value of one job run's processes."""
        return f"{self.id}/{run}"


def owner_alive(owner: str) -> bool:
    """Whether the process that ``owner`` names is still running (a malformed id: False)."""
    match = _OWNER.fullmatch(owner)
    if match is None:
        return False
    ticks = process_start_ticks(int(match[1]))
    return ticks is not None and (ticks == 0 or ticks == int(match[2]))


def _marker_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read()
    except OSError:  # gone, or another user's
        return None
    for item in environ.split(b"\0"):
        if item.startswith(_MARKER_PREFIX):
            return item[len(_MARKER_PREFIX) :].decode("utf-8", "replace")
    return None


def find_marked(selects: str | None = None) -> dict[int, str]:
    """pid -> marker of every process carrying a job marker (``selects``: only markers equal
    to it or starting with ``selects + "/"``). Empty without /proc."""
    found: dict[int, str] = {}
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        marker = _marker_of(int(name))
        if marker is None:
            continue
        if selects is None or marker == selects or marker.startswith(f"{selects}/"):
            found[int(name)] = marker
    return found


def kill_marked(selects: str | None = None, *, only_dead_owners: bool = False) -> list[int]:
    """SIGKILL every process :func:`find_marked` selects (with ``only_dead_owners``: those whose
    owner is gone), round after round until none is left; returns the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        targets = [
            pid
            for pid, marker in find_marked(selects).items()
            if not only_dead_owners or not owner_alive(marker.partition("/")[0])
        ]
        if not targets:
            break
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed.extend(pid for pid in targets if pid not in killed)
        time.sleep(0.01)
    return killed
