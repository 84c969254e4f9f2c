"""The job container's entry: runs a hybrid job's entry point the way the Braket container does.

Started by :class:`~braket_async.local._jobs.ProcessJobRunner` as
``python <this file> <code dir>`` with the job's ``AMZN_BRAKET_*`` environment. Stdlib only,
and run by path (not ``-m``) so the job pays no import of ``braket_async.local``.

Like the container (``braket_container.py``): ``module:function`` imports the module and calls
the function, binding hyperparameters to its parameters when they fit its signature;
``module`` alone runs it as ``python -m module`` would. The working directory is the code
directory, which is also on ``sys.path``. An exception is written as ``Type: message`` to the
file named by ``AMZN_BRAKET_LOCAL_FAILURE_FILE`` (the service reads it for ``failureReason``),
its traceback goes to stderr and the process exits with status 1.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import runpy
import sys
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["FAILURE_FILE_ENV", "bind_hyperparameters", "main", "resolve_entry_point"]

#: Environment variable naming the file the failure line is written to.
FAILURE_FILE_ENV = "AMZN_BRAKET_LOCAL_FAILURE_FILE"


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


def _record_failure(exc: BaseException) -> None:
    failure_file = os.environ.get(FAILURE_FILE_ENV)
    if not failure_file:
        return
    text = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
    with open(failure_file, "a", encoding="utf-8") as handle:
        handle.write(text)


def main(argv: list[str]) -> int:
    """Run the entry point from ``AMZN_BRAKET_SCRIPT_ENTRY_POINT`` in code dir ``argv[0]``."""
    code_dir = argv[0]
    entry_point = os.environ["AMZN_BRAKET_SCRIPT_ENTRY_POINT"]
    os.chdir(code_dir)
    sys.path.insert(0, code_dir)
    print("Beginning Setup", flush=True)
    try:
        function = resolve_entry_point(entry_point)
        kwargs = bind_hyperparameters(function)
        print("Running Code As Process", flush=True)
        function(**kwargs)
    except SystemExit as exc:
        code = exc.code
        if code in (None, 0):
            print("Code Run Finished", flush=True)
            return 0
        _record_failure(exc)
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr, flush=True)
        return 1
    except BaseException as exc:
        _record_failure(exc)
        traceback.print_exc()
        return 1
    print("Code Run Finished", flush=True)
    return 0


if __name__ == "__main__":
    # Run by path: drop this file's folder from the import path so the job's own modules
    # cannot be shadowed by the service's private ones.
    sys.path.pop(0)
    sys.exit(main(sys.argv[1:]))
