"""The interpreter that runs hybrid-job scripts, checked before the service starts.

A job written with the Braket SDK imports ``braket.jobs``; run by an interpreter without the
SDK, every such job fails with ``ModuleNotFoundError``. ``serve --job-python PATH`` names the
interpreter (a venv's ``bin/python`` with the SDK), and :func:`check_job_python` refuses one
that cannot import ``braket.jobs`` when the service starts, not when the first job fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import attrs

__all__ = ["JobPython", "JobPythonError", "check_job_python", "has_braket_jobs"]

#: What the check runs in the interpreter: its version on success, the import error otherwise.
_PROBE = (
    "import sys\n"
    "try:\n"
    "    import braket.jobs\n"
    "except Exception as exc:\n"
    "    print(f'{type(exc).__name__}: {exc}'); sys.exit(3)\n"
    "print('%d.%d' % sys.version_info[:2])\n"
)
#: Importing the SDK takes seconds on a loaded machine.
PROBE_TIMEOUT = 120.0


class JobPythonError(ValueError):
    """The job interpreter does not exist, does not run, or lacks ``braket.jobs``."""


@attrs.frozen
class JobPython:
    """A checked job interpreter: its path and its ``major.minor`` version."""

    executable: str
    version: str


def check_job_python(path: str) -> JobPython:
    """``path`` (a file, or a command name on ``PATH``) as a job interpreter that can import
    ``braket.jobs``; :class:`JobPythonError` saying what is wrong otherwise. Blocks for the
    probe (call it from a thread in async code)."""
    found = path if os.sep in path else shutil.which(path)
    if found is None or not os.path.isfile(found):
        raise JobPythonError(f"--job-python {path}: no such file")
    if not os.access(found, os.X_OK):
        raise JobPythonError(f"--job-python {path}: not executable")
    executable = os.path.abspath(found)
    try:
        done = subprocess.run(
            [executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JobPythonError(f"--job-python {path}: does not run as Python: {exc}") from None
    answer = done.stdout.strip().splitlines()
    if done.returncode == 3:
        reason = answer[-1] if answer else "import failed"
        raise JobPythonError(
            f"--job-python {path}: cannot import braket.jobs ({reason}); job scripts need the "
            "Braket SDK: install it there (pip install amazon-braket-sdk)"
        )
    if done.returncode != 0 or not answer:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise JobPythonError(f"--job-python {path}: does not run as Python ({tail})")
    return JobPython(executable, answer[-1])


def has_braket_jobs() -> bool:
    """Whether this interpreter (the default job interpreter) has the Braket SDK's jobs."""
    import importlib.util

    try:
        return importlib.util.find_spec("braket.jobs") is not None
    except ModuleNotFoundError:  # no "braket" package at all
        return False
