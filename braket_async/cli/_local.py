"""``braket-async local serve``: the local Braket service, run until Ctrl-C.

The same command as ``python -m braket_async.local serve`` (its parser and checks); jobs created
on this service really run their scripts (as local processes).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import EXIT_USAGE, local_extras_missing

__all__ = ["serve"]


def serve(serve_args: Sequence[str]) -> int:
    """Run the service with ``serve_args`` until SIGINT/SIGTERM; prints its ready line."""
    try:
        from ..local.__main__ import main as local_main
    except ModuleNotFoundError as exc:
        raise local_extras_missing(exc) from exc
    try:
        return local_main(["serve", *serve_args], prog="braket-async local")
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
