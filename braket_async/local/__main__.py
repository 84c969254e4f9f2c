"""``python -m braket_async.local serve``: run the local Braket service until SIGINT/SIGTERM.

When ready it prints one JSON line to stdout:
``{"endpoint_url": ..., "s3_endpoint_url": ..., "default_bucket": ..., "region": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._quotas import Quotas
from ._service import DEFAULT_BUCKET, LocalBraket

__all__ = ["build_parser", "main", "serve"]


def build_parser(prog: str = "python -m braket_async.local") -> argparse.ArgumentParser:
    """The command-line parser (``serve`` subcommand)."""
    parser = argparse.ArgumentParser(prog=prog, description="The local Amazon Braket service.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the service until interrupted")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    s.add_argument("--region", default="us-east-1")
    s.add_argument("--account-id", default="123456789012")
    s.add_argument(
        "--s3-endpoint-url",
        default=None,
        help="S3 endpoint for results (default: start an embedded moto server)",
    )
    s.add_argument(
        "--queue-delay", type=float, default=0.0, help="seconds a task stays QUEUED at least"
    )
    s.add_argument(
        "--run-delay", type=float, default=0.0, help="seconds a task stays RUNNING at least"
    )
    s.add_argument(
        "--quota-scale",
        type=float,
        default=1.0,
        help="multiply the AWS default request-rate quotas",
    )
    s.add_argument("--no-quotas", action="store_true", help="disable every quota")
    s.add_argument("--workers", type=int, default=None, help="simulator worker processes")
    s.add_argument("--default-bucket", default=DEFAULT_BUCKET)
    return parser


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    s3_endpoint_url: str | None = None,
    queue_delay: float = 0.0,
    run_delay: float = 0.0,
    quota_scale: float = 1.0,
    no_quotas: bool = False,
    workers: int | None = None,
    default_bucket: str = DEFAULT_BUCKET,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
    **local_kwargs: Any,
) -> None:
    """Run the service until ``stop`` is set or SIGINT/SIGTERM arrives.

    Prints the ready line (JSON) to ``out`` (stdout by default). Extra keyword arguments go to
    :class:`LocalBraket` (e.g. ``job_runner_factory``).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not supported on this platform
    quotas = Quotas.off() if no_quotas else Quotas.aws_defaults(scale=quota_scale)
    try:
        async with LocalBraket(
            host=host,
            port=port,
            region=region,
            account_id=account_id,
            s3_endpoint_url=s3_endpoint_url,
            queue_delay=queue_delay,
            run_delay=run_delay,
            quotas=quotas,
            workers=workers,
            default_bucket=default_bucket,
            **local_kwargs,
        ) as local:
            line = {
                "endpoint_url": local.endpoint_url,
                "s3_endpoint_url": local.s3_endpoint_url,
                "default_bucket": local.default_bucket,
                "region": local.region,
            }
            stream = out or sys.stdout
            stream.write(json.dumps(line) + "\n")
            stream.flush()
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m braket_async.local``; returns the exit code."""
    args = build_parser().parse_args(argv)
    kwargs = {k: v for k, v in vars(args).items() if k != "command"}
    # SIGINT is handled inside serve(); this covers Ctrl-C before its handler is installed.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(**kwargs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
