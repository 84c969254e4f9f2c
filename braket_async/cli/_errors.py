"""Exit codes of the ``braket-async`` command and the error that carries one."""

from __future__ import annotations

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "CliError",
    "local_extras_missing",
]

#: Success.
EXIT_OK = 0
#: The service or the client refused or failed (a ``BraketError``).
EXIT_ERROR = 1
#: The command line is wrong (argparse also exits with 2).
EXIT_USAGE = 2
#: A task or job this command followed ended FAILED or CANCELLED.
EXIT_FAILED = 3
#: ``--timeout`` passed before the task or job finished.
EXIT_TIMEOUT = 4
#: Interrupted with Ctrl-C.
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem the command reports as one line on stderr and exits ``exit_code`` for."""

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def local_extras_missing(exc: ModuleNotFoundError) -> CliError:
    """The error for a command that needs the local service when its extras are missing."""
    return CliError(
        f"the local service needs extra packages ({exc.name} is missing): "
        "pip install 'braket-async[local]'",
        exit_code=EXIT_USAGE,
    )
