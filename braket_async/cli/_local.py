"""``braket-async local serve`` (the local Braket service, run until Ctrl-C) and
``braket-async local env`` (the environment that points AWS clients at a running one).

``serve`` is the same command as ``python -m braket_async.local serve`` (its parser and
checks); jobs created on this service really run their scripts (as local processes).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import EXIT_ERROR, EXIT_USAGE, CliError, local_extras_missing
from ._output import Output

__all__ = ["env", "serve"]

#: Same variable and default as ``serve`` (``braket_async.local.__main__.SECRET_KEY_ENV``).
_SECRET_ENV = "BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY"
_DEFAULT_KEY = "testing"


def serve(serve_args: Sequence[str], out: Output) -> int:
    """Run the service with ``serve_args`` until SIGINT/SIGTERM; prints its ready line.

    A ``--port`` already in use is one error line naming it (checked before the service
    starts its simulator workers, and again if the port is taken in between).
    """
    try:
        from ..local.__main__ import build_parser
        from ..local.__main__ import main as local_main
    except ModuleNotFoundError as exc:
        raise local_extras_missing(exc) from exc
    try:
        address = _address(build_parser("braket-async local"), serve_args)
        if address is not None and not _can_bind(*address):
            out.error(_port_in_use(*address))
            return EXIT_ERROR
        return local_main(["serve", *serve_args], prog="braket-async local")
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or address is None:
            raise
        out.error(_port_in_use(*address))
        return EXIT_ERROR


def _address(parser: argparse.ArgumentParser, serve_args: Sequence[str]) -> tuple[str, int] | None:
    """The ``--host``/``--port`` the service will bind, or None for a free port (``0``)."""
    known, _ = parser.parse_known_args(["serve", *serve_args])
    port = getattr(known, "port", 0)
    return (str(known.host), int(port)) if port else None


def _can_bind(host: str, port: int) -> bool:
    # The service binds with socket.create_server (SO_REUSEADDR): test the same way.
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False
        raise
    return True


def _port_in_use(host: str, port: int) -> str:
    return (
        f"port {port} on {host} is already in use: stop what listens there, or choose "
        "another --port (0 picks a free one)"
    )


def _read_ready(source: str) -> str:
    if source == "-":
        return sys.stdin.readline()
    if source.lstrip().startswith("{"):
        return source
    try:
        with Path(source).open(encoding="utf-8") as file:
            return file.readline()
    except OSError as exc:
        raise CliError(f"--from: cannot read {source!r}: {exc.strerror or exc}") from None


def _secret(args: argparse.Namespace, access_key_id: str) -> str:
    secret = args.secret_access_key or os.environ.get(_SECRET_ENV)
    if secret:
        return str(secret)
    if access_key_id == _DEFAULT_KEY:
        return _DEFAULT_KEY
    raise CliError(
        f"--secret-access-key is required: the service's access key id is {access_key_id!r}, "
        f"not the default, and ${_SECRET_ENV} is not set"
    )


async def env(args: argparse.Namespace, out: Output) -> int:
    """Print ``LocalBraket.environ()`` of the service whose ready line ``--from`` names."""
    try:
        from ..local._environ import environ_from_ready_line, format_exports
    except ModuleNotFoundError as exc:
        raise local_extras_missing(exc) from exc
    text = await asyncio.to_thread(_read_ready, args.ready)
    if not text.strip():
        raise CliError(f"--from: no ready line in {args.ready!r} (is the service up yet?)")
    try:
        info: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--from: the ready line is not JSON: {exc}") from None
    if not isinstance(info, dict):
        raise CliError("--from: the ready line must be a JSON object")
    key = info.get("access_key_id")
    secret = _secret(args, key if isinstance(key, str) else "")
    try:
        variables = environ_from_ready_line(info, secret)
    except ValueError as exc:
        raise CliError(f"--from: {exc}") from None
    out.raw(format_exports(variables, as_json=args.json).rstrip("\n"))
    return 0
