"""``braket-async local serve``: the local Braket service, run until Ctrl-C.

The options are those of ``python -m braket_async.local serve`` (same parser); jobs created on
this service really run their scripts (as local processes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from ._errors import EXIT_OK, EXIT_USAGE, local_extras_missing

__all__ = ["serve"]


def serve(serve_args: Sequence[str]) -> int:
    """Run the service with ``serve_args`` until SIGINT/SIGTERM; prints its ready line."""
    try:
        from ..local.__main__ import build_parser
        from ..local.__main__ import serve as serve_local
        from ..local._jobs import process_job_runner_factory
    except ModuleNotFoundError as exc:
        raise local_extras_missing(exc) from exc
    try:
        args = build_parser(prog="braket-async local").parse_args(["serve", *serve_args])
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    options = {k: v for k, v in vars(args).items() if k != "command"}
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_local(**options, job_runner_factory=process_job_runner_factory))
    return EXIT_OK
