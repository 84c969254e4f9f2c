"""The ``local`` extra: checked once, when ``braket_async.local`` is imported.

Without it the service used to start half-way (the simulator workers, the HTTP server) and
then fail on ``import moto`` with a bare ``ModuleNotFoundError``, while what it had started
kept running. Checking for the modules first fails at once, names the install command, and
leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["INSTALL_HINT", "LOCAL_EXTRA_MODULES", "missing_modules", "require_local_extra"]

INSTALL_HINT = "pip install 'braket-async[local]'"

#: Modules of the ``local`` extra (pyproject's ``local`` list) the service imports.
LOCAL_EXTRA_MODULES = ("moto", "flask", "boto3", "braket.default_simulator", "qiskit")


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` cannot be imported (found without importing them)."""
    missing = []
    for name in names:
        if name in sys.modules:
            if sys.modules[name] is None:  # blocked on purpose
                missing.append(name)
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a parent package missing or blocked
            spec = None
        if spec is None:
            missing.append(name)
    return missing


def require_local_extra() -> None:
    """Raise ImportError naming the install command unless the ``local`` extra is there."""
    missing = missing_modules(LOCAL_EXTRA_MODULES)
    if missing:
        raise ImportError(
            f"braket_async.local needs the 'local' extra ({', '.join(missing)} missing): "
            f"{INSTALL_HINT}",
            name=missing[0],
        )
