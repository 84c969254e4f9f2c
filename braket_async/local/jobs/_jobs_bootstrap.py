"""The job container's ``braket_container.py``: supervises one hybrid job's process tree and runs
its entry point the way the Braket job container does.

:class:`~braket_async.local.jobs._jobs.ProcessJobRunner` copies this file into the job's directory
as ``braket_container.py`` and runs ``python braket_container.py`` with the job's ``AMZN_BRAKET_*``
environment. Stdlib only, so the job pays no import of ``braket_async.local``.

Two processes, as in the container (``braket_container.py`` runs the customer code in a
``multiprocessing.Process``):

- the **supervisor** (this process) prints the container's lines ("Beginning Setup", "Running
  Code As Process", "Code Run Finished"), forks the customer process and waits. It is a child
  subreaper (``PR_SET_CHILD_SUBREAPER``): every descendant orphaned by its parent, including
  ones that called ``setsid``, is re-parented to it instead of ``init``, so the whole tree stays
  visible under it in ``/proc``. When the customer process exits, when it gets SIGTERM (cancel,
  timeout, service shutdown) and when the service dies (end of file on its stdin, the
  *lifeline* pipe the service holds, or ``PR_SET_PDEATHSIG``), it stops every descendant:
  SIGTERM, a grace period, then SIGKILL until none is left.
- the **customer process** (a fork, in its own process group, ``PR_SET_PDEATHSIG`` = SIGKILL)
  runs the entry point: ``module:function`` imports the module and calls the function, binding
  hyperparameters to its parameters when they fit its signature; ``module`` alone runs it as
  ``python -m module`` would. The working directory is the code directory, also on
  ``sys.path``. An exception is written as ``Type: message`` to the failure file (the service
  reads it for ``failureReason``), its traceback, without this file's frames, goes to stderr and
  the exit status is 1.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import inspect
import json
import os
import runpy
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "CODE_DIR_ENV",
    "FAILURE_FILE_ENV",
    "JOB_MARKER_ENV",
    "LIFELINE_ENV",
    "PARENT_PID_ENV",
    "STOP_GRACE_ENV",
    "bind_hyperparameters",
    "descendants",
    "main",
    "resolve_entry_point",
]

#: The file the failure line is written to (private to the container: removed from the
#: environment before the customer code runs, like the others below but the marker).
FAILURE_FILE_ENV = "AMZN_BRAKET_LOCAL_FAILURE_FILE"
#: The directory holding the customer code.
CODE_DIR_ENV = "AMZN_BRAKET_LOCAL_CODE_DIR"
#: The service's pid: if the supervisor's parent is already another process, the service died
#: before ``PR_SET_PDEATHSIG`` was armed.
PARENT_PID_ENV = "AMZN_BRAKET_LOCAL_PARENT_PID"
#: "1" when stdin is the lifeline pipe (end of file = the service is gone).
LIFELINE_ENV = "AMZN_BRAKET_LOCAL_LIFELINE"
#: Seconds between SIGTERM and SIGKILL when the tree is stopped.
STOP_GRACE_ENV = "AMZN_BRAKET_LOCAL_STOP_GRACE"
#: Kept in every descendant's environment: the service finds strays by it in /proc.
JOB_MARKER_ENV = "AMZN_BRAKET_LOCAL_JOB"

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_KILL_DEADLINE = 10.0  # seconds of SIGKILL rounds before the service's own sweep takes over


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


# ------------------------------------------------------------------ the entry point


def resolve_entry_point(entry_point: str) -> Callable[..., Any]:
    """Turn ``module`` or ``module:function`` into something to call (as the container does)."""
    module_name, sep, function_name = entry_point.partition(":")
    if sep:
        module = importlib.import_module(module_name)
        function: Callable[..., Any] = getattr(module, function_name)
        return function

    def run_as_main() -> Any:
        # equivalent to `python -m module`
        return runpy.run_module(module_name, run_name="__main__", alter_sys=True)

    return run_as_main


def bind_hyperparameters(function: Callable[..., Any]) -> dict[str, Any]:
    """Keyword arguments for ``function`` from the hyperparameters file, when they bind.

    Values are converted with the parameter's annotation when it is a type, else kept as the
    strings they are in the file (the container's rule).
    """
    hp_file = os.environ.get("AMZN_BRAKET_HP_FILE")
    if not hp_file:
        return {}
    with open(hp_file, encoding="utf-8") as handle:
        hyperparameters: dict[str, Any] = json.load(handle)
    try:
        signature = inspect.signature(function)
        signature.bind(**hyperparameters)
    except (TypeError, ValueError):
        return {}
    try:  # string annotations (``from __future__ import annotations``) resolved when possible
        annotations = inspect.get_annotations(function, eval_str=True)
    except Exception:
        annotations = inspect.get_annotations(function)
    bound: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        annotation = annotations.get(name, str)
        bound[name] = annotation(value) if isinstance(annotation, type) else value
    return bound


def _record_failure(exc: BaseException, failure_file: str | None) -> None:
    if not failure_file:
        return
    text = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
    with open(failure_file, "a", encoding="utf-8") as handle:
        handle.write(text)


def _print_user_traceback(exc: BaseException) -> None:
    # The user's frames only: this file's frames say nothing about their code.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _run_customer_code(code_dir: str, entry_point: str, failure_file: str | None) -> int:
    os.chdir(code_dir)
    sys.path.insert(0, code_dir)
    try:
        function = resolve_entry_point(entry_point)
        function(**bind_hyperparameters(function))
    except SystemExit as exc:
        code = exc.code
        if code in (None, 0):
            return 0
        _record_failure(exc, failure_file)
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr, flush=True)
        return 1
    except BaseException as exc:
        _record_failure(exc, failure_file)
        _print_user_traceback(exc)
        return 1
    return 0


# ------------------------------------------------------------------ the process tree


def _proc_table() -> dict[int, tuple[int, str]] | None:
    """pid -> (parent pid, state) of every process, or None without /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    table: dict[int, tuple[int, str]] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue  # gone meanwhile
        # the command name (field 2) may hold spaces and parentheses: split after the last ")"
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            table[int(name)] = (int(fields[1]), fields[0].decode("ascii", "replace"))
    return table


def descendants(root: int) -> list[int] | None:
    """Every living (not zombie) descendant of ``root``, or None without /proc."""
    table = _proc_table()
    if table is None:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    stack = [root]
    while stack:
        for pid in children.get(stack.pop(), ()):
            stack.append(pid)
            if table[pid][1] != "Z":
                found.append(pid)
    return found


class _Supervisor:
    def __init__(self, child: int, wakeup: int, lifeline: int | None, grace: float) -> None:
        self.child = child
        self.status: int | None = None
        self._wakeup = wakeup
        self._lifeline = lifeline
        self._grace = grace

    def reap(self) -> None:
        """Collect every exited child (orphans re-parented here too)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.status = status

    def _living(self) -> list[int]:
        found = descendants(os.getpid())
        if found is not None:
            return found
        # no /proc: the customer's process group is all that can be reached
        return [-self.child] if self.status is None else []

    def _signal(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if pid < 0:
                    os.killpg(-pid, sig)
                else:
                    os.kill(pid, sig)

    def end_tree(self, grace: float) -> None:
        """SIGTERM every descendant, wait up to ``grace`` s, then SIGKILL until none is left."""
        living = self._living()
        if living and grace > 0:
            self._signal(living, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while living and time.monotonic() < deadline:
                time.sleep(0.02)
                self.reap()
                living = self._living()
        deadline = time.monotonic() + _KILL_DEADLINE
        while living and time.monotonic() < deadline:
            # killed parents hand their children to this subreaper: the next round gets them
            self._signal(living, signal.SIGKILL)
            time.sleep(0.005)
            self.reap()
            living = self._living()
        self.reap()

    def wait(self) -> bool:
        """Wait for the customer process; False when told to stop (or the service is gone)."""
        watched = [self._wakeup] if self._lifeline is None else [self._wakeup, self._lifeline]
        while True:
            self.reap()
            if self.status is not None:
                return True
            readable, _, _ = select.select(watched, [], [], 1.0)
            if self._wakeup in readable:
                with contextlib.suppress(BlockingIOError):
                    received = os.read(self._wakeup, 512)
                    if any(sig in received for sig in _STOP_SIGNALS):
                        return False
            lifeline = self._lifeline
            if lifeline is not None and lifeline in readable and not os.read(lifeline, 512):
                return False  # end of file: the service died

    def stop(self) -> int:
        self.end_tree(self._grace)
        return 128 + signal.SIGTERM

    def finish(self) -> int:
        print("Code Run Finished", flush=True)
        # whatever the customer code left running dies with the job, as with its container
        self.end_tree(self._grace)
        assert self.status is not None
        if os.WIFSIGNALED(self.status):
            # die the way the customer process did, so the service reports the signal
            sig = os.WTERMSIG(self.status)
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        return os.waitstatus_to_exitcode(self.status)


def _check_requirements(code_dir: str) -> None:
    print("Checking for Additional Requirements", flush=True)
    for root, _, files in os.walk(code_dir):
        if "requirements.txt" in files:
            found = os.path.relpath(os.path.join(root, "requirements.txt"), code_dir)
            print(
                f"Local service: {found} is not installed; the job runs in the service's "
                "Python environment",
                flush=True,
            )
    print("Additional Requirements Check Finished", flush=True)


def _ignore(signum: int, frame: object) -> None:
    """Signals only wake the supervisor's select (through the wakeup fd)."""


def main() -> int:
    """Supervise the job: fork the customer process, wait, end the whole tree."""
    environ = os.environ
    code_dir = environ.pop(CODE_DIR_ENV, None) or os.getcwd()
    failure_file = environ.pop(FAILURE_FILE_ENV, None)
    parent = environ.pop(PARENT_PID_ENV, None)
    lifeline = 0 if environ.pop(LIFELINE_ENV, None) == "1" else None
    grace = float(environ.pop(STOP_GRACE_ENV, "") or 1.0)
    entry_point = environ["AMZN_BRAKET_SCRIPT_ENTRY_POINT"]

    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != int(parent):
        return 1  # the service died before the death signal was armed
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)

    print("Beginning Setup", flush=True)
    _check_requirements(code_dir)
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_r, False)
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    handled = (*_STOP_SIGNALS, signal.SIGCHLD)
    for sig in handled:
        signal.signal(sig, _ignore)

    print("Running Code As Process", flush=True)
    supervisor_pid = os.getpid()
    child = os.fork()
    if child == 0:
        # the customer process: the container's defaults, none of the supervisor's plumbing
        signal.set_wakeup_fd(-1)
        os.close(wakeup_r)
        os.close(wakeup_w)
        for sig in handled:
            signal.signal(sig, signal.SIG_DFL)
        os.setpgid(0, 0)  # a killpg by the customer code cannot reach the supervisor
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != supervisor_pid:
            os._exit(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the lifeline is the supervisor's alone
        os.close(devnull)
        return _run_customer_code(code_dir, entry_point, failure_file)

    supervisor = _Supervisor(child, wakeup_r, lifeline, grace)
    if supervisor.wait():
        return supervisor.finish()
    return supervisor.stop()


if __name__ == "__main__":
    # Run by path: drop this file's folder from the import path so the job's own modules
    # cannot be shadowed by anything next to it.
    sys.path.pop(0)
    sys.exit(main())
