"""Running one parsed command: its session, its errors and its exit code."""

from __future__ import annotations

import argparse
import asyncio
import traceback
import urllib.parse

from .. import errors
from ._context import open_context
from ._errors import EXIT_ERROR, EXIT_FAILED, EXIT_TIMEOUT, CliError
from ._output import Output

__all__ = ["exit_code_for", "region_hint", "run_command", "split_local_serve"]

_FAILED = (
    errors.QuantumTaskFailed,
    errors.QuantumTaskCancelled,
    errors.JobFailed,
    errors.JobCancelled,
)


async def run_command(args: argparse.Namespace, out: Output) -> int:
    """Run the command ``args`` names (inside ``asyncio.run``); errors become exit codes.

    Commands with ``needs_session`` get an open :class:`~braket_async.cli._context.Context`,
    closed (with any ``--local`` service) before this returns.
    """
    try:
        if args.needs_session:
            async with open_context(args, out) as ctx:
                code: int = await args.handler(ctx, args)
        else:
            code = await args.handler(args, out)
        return code
    except CliError as exc:
        out.error(exc.message)
        return exc.exit_code
    except errors.BraketError as exc:
        if args.debug:
            out.err_console.print(traceback.format_exc(), markup=False, highlight=False)
        out.error(str(exc))
        if isinstance(exc, errors.ConfigurationError) and _is_loopback(args.endpoint_url):
            out.info(
                "hint: the local service verifies requests with its own credentials "
                "(default testing/testing): "
                "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
            )
        if isinstance(exc, errors.ConnectionFailed) and args.endpoint_url is None:
            hint = await asyncio.to_thread(region_hint, exc.endpoint_url)
            if hint is not None:
                out.info(hint)
        return exit_code_for(exc)


def exit_code_for(exc: errors.BraketError) -> int:
    """4 for a timeout, 3 for a task or job that ended FAILED/CANCELLED, else 1."""
    if isinstance(exc, errors.WaiterTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, _FAILED):
        return EXIT_FAILED
    return EXIT_ERROR


def region_hint(endpoint_url: str | None) -> str | None:
    """A hint listing Braket's regions when the AWS endpoint that could not be reached
    (``https://braket.{region}.amazonaws.com``) names a region Braket is not in (botocore's
    endpoint data; it reads files, so call it off the event loop)."""
    host = urllib.parse.urlsplit(endpoint_url).hostname if endpoint_url else None
    parts = host.split(".") if host else []
    if len(parts) < 4 or parts[0] != "braket" or parts[-2:] != ["amazonaws", "com"]:
        return None
    region = parts[1]
    import botocore.session

    regions = botocore.session.get_session().get_available_regions("braket")
    if not regions or region in regions:
        return None
    return (
        f"hint: Amazon Braket has no endpoint in region {region!r}; its regions are "
        f"{', '.join(sorted(regions))} (--region NAME, or AWS_REGION)"
    )


def _is_loopback(url: str | None) -> bool:
    host = urllib.parse.urlsplit(url).hostname if url else None
    return host in ("127.0.0.1", "localhost", "::1")


def split_local_serve(tokens: list[str]) -> tuple[list[str], list[str] | None]:
    """``... local serve REST`` -> (``... local serve``, REST): REST is the service's to parse."""
    for i in range(len(tokens) - 1):
        if tokens[i] == "local" and tokens[i + 1] == "serve":
            return tokens[: i + 2], tokens[i + 2 :]
    return tokens, None
