"""Limits the local service puts on each quantum task (sources: ``docs/limits.md``).

``MAX_ACTION_BYTES`` is checked at CreateQuantumTask; the time and memory limits are enforced
on the simulator workers while a task runs (``_pool.WorkerPool``), and so is the memory
budget of all workers together.
"""

from __future__ import annotations

import os

__all__ = [
    "DEFAULT_BURST_AFTER",
    "DEFAULT_TASK_MEMORY_LIMIT",
    "DEFAULT_TASK_TIME_LIMIT",
    "DEFAULT_WORKERS_MEMORY_LIMIT",
    "MAX_ACTION_BYTES",
    "default_memory_limit",
    "default_workers_memory_limit",
]

#: Largest ``action`` (the program's JSON text, UTF-8 bytes) CreateQuantumTask accepts.
#: Braket documents no maximum for ``action``; this bound keeps one request from pinning the
#: service (see docs/limits.md) and is far above any circuit a simulator can run.
MAX_ACTION_BYTES = 4 * 1024 * 1024

#: Seconds a task may simulate before its worker is killed and the task FAILS.
DEFAULT_TASK_TIME_LIMIT = 600.0

#: Seconds every worker must have been busy with its task before the pool starts an extra one.
DEFAULT_BURST_AFTER = 5.0

_GIB = 1 << 30


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_memory_limit() -> int:
    """8 GiB, or half the machine's memory if that is less (a 26-qubit state-vector task,
    the largest the local engine runs, peaks near 3 GiB)."""
    physical = _physical_memory()
    if physical is None:
        return 8 * _GIB
    return max(_GIB, min(8 * _GIB, physical // 2))


def default_workers_memory_limit() -> int:
    """Half the machine's memory (8 GiB when it cannot be read): the budget of all simulator
    workers together, burst workers included."""
    physical = _physical_memory()
    return 8 * _GIB if physical is None else max(_GIB, physical // 2)


#: Resident bytes a worker may reach while running a task.
DEFAULT_TASK_MEMORY_LIMIT = default_memory_limit()

#: Resident bytes all simulator workers together may hold (past it the largest busy one is
#: killed, and no burst worker starts that would not fit).
DEFAULT_WORKERS_MEMORY_LIMIT = default_workers_memory_limit()
