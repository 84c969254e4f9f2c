"""The ``braket-async`` command: devices, quantum tasks, hybrid jobs, the local service, a demo.

``main(argv)`` runs one command under one ``asyncio.run`` and returns its exit code: 0 success,
1 a Braket error, 2 a usage error, 3 a task or job that ended FAILED or CANCELLED, 4 a timeout,
130 Ctrl-C. Run ``braket-async --help``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from ._errors import EXIT_INTERRUPTED, EXIT_USAGE, CliError

__all__ = ["main"]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``braket-async ARGV...``; returns the exit code (the console script exits with it).

    ``stdout``/``stderr`` default to the process's streams (tests pass buffers).
    """
    try:
        from ._app import run_command, split_local_serve
        from ._output import Output
        from ._parser import build_parser, fill_global_defaults
    except ModuleNotFoundError as exc:  # the printer needs rich, from the 'cli' extra
        if exc.name is None or exc.name.split(".")[0] != "rich":
            raise
        print(
            f"braket-async: the command needs the 'cli' extra ({exc.name} is missing): "
            "pip install 'braket-async[cli]'",
            file=stderr or sys.stderr,
        )
        return EXIT_USAGE

    tokens, serve_args = split_local_serve(list(sys.argv[1:] if argv is None else argv))
    try:
        args = fill_global_defaults(build_parser().parse_args(tokens))
    except SystemExit as exc:  # argparse has printed the usage error or the help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Output(json_mode=args.json, stdout=stdout or sys.stdout, stderr=stderr or sys.stderr)
    try:
        if hasattr(args, "sync_handler"):
            code: int = args.sync_handler(serve_args or [], out)
            return code
        return asyncio.run(run_command(args, out))
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED
    except CliError as exc:
        out.error(exc.message)
        return exc.exit_code
