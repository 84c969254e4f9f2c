"""``braket-async local serve``: the local Braket service, run by its own command line."""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import EXIT_USAGE, CliError

__all__ = ["serve"]


def serve(serve_args: Sequence[str]) -> int:
    """Run ``python -m braket_async.local serve SERVE_ARGS...`` in this process."""
    try:
        from ..local.__main__ import main as local_main
    except ImportError as exc:
        raise CliError(
            f"the local service needs extra packages ({exc.name} is missing): "
            "pip install 'braket-async[local]'",
            exit_code=EXIT_USAGE,
        ) from exc
    try:
        return int(local_main(["serve", *serve_args]) or 0)
    except SystemExit as exc:  # its parser exits for --help and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
