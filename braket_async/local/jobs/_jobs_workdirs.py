"""Job work directories: one per run under a root private to this user, named after their owner
(see ``_jobs_procs``) so the leftovers of a killed service can be told apart from the
directories of services still running. Blocking: call these off the event loop.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from ._jobs_procs import owner_alive

__all__ = ["default_work_root", "make_job_dir", "prepare_root", "remove_owned", "remove_stale"]

_NAME = re.compile(r"(\d+\.\d+\.[0-9a-f]+)-")


def default_work_root() -> Path:
    """``{temp dir}/braket-async-jobs-{uid}`` (the temp dir honours ``TMPDIR``)."""
    return Path(tempfile.gettempdir()) / f"braket-async-jobs-{os.getuid()}"


def prepare_root(root: Path) -> None:
    """Create ``root`` (mode 0700) if needed; refuse one that is not this user's own directory
    (in a shared temp dir another user could have made it first)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(
            f"job work root {root} must be a directory owned by this user (uid {os.getuid()})"
        )


def make_job_dir(root: Path, owner: str, job_name: str) -> Path:
    """A new, empty directory for one run of ``job_name``."""
    return Path(tempfile.mkdtemp(prefix=f"{owner}-{job_name}-", dir=root))


def _owned_dirs(root: Path) -> list[tuple[Path, str]]:
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        match = _NAME.match(entry.name)
        if match and entry.is_dir(follow_symlinks=False):
            found.append((Path(entry.path), match[1]))
    return found


def remove_stale(root: Path) -> list[Path]:
    """Delete the directories whose owner is gone (a service that was killed); returns them."""
    removed = []
    for path, owner in _owned_dirs(root):
        if not owner_alive(owner):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_owned(root: Path, owner: str) -> list[Path]:
    """Delete every directory of ``owner``; returns them."""
    removed = []
    for path, dir_owner in _owned_dirs(root):
        if dir_owner == owner:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
