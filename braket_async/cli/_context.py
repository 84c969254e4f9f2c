"""What a command runs with: one open BraketSession (and, with ``--local``, the local service)."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

from .. import BraketSession
from ._errors import CliError, local_extras_missing
from ._output import Output

if TYPE_CHECKING:
    from ..local import LocalBraket

__all__ = ["BUCKET_ENV", "LOCAL_CREDENTIALS", "Context", "open_context", "start_local"]

#: Environment variable naming the default output bucket (``--bucket`` wins).
BUCKET_ENV = "BRAKET_ASYNC_BUCKET"
#: The local service's default credentials: every request must be SigV4-signed with them.
LOCAL_CREDENTIALS = ("testing", "testing")


@attrs.define
class Context:
    """An open session plus the command's options and printer."""

    args: argparse.Namespace
    out: Output
    braket: BraketSession
    local: LocalBraket | None = None

    def output_bucket(self) -> str:
        """``--bucket``, else $BRAKET_ASYNC_BUCKET, else the local service's default bucket."""
        bucket: str | None = getattr(self.args, "bucket", None) or os.environ.get(BUCKET_ENV)
        if bucket:
            return bucket
        if self.local is not None:
            return self.local.default_bucket
        raise CliError(f"--bucket is required (or set ${BUCKET_ENV}): where Braket writes results")


async def start_local(stack: AsyncExitStack, out: Output, **kwargs: Any) -> LocalBraket:
    """Start the local Braket service in this process, closed with ``stack``.

    Hybrid jobs created on it run their scripts as local processes.
    """
    try:
        from ..local import LocalBraket
        from ..local.jobs._jobs import process_job_runner_factory
    except ModuleNotFoundError as exc:
        raise local_extras_missing(exc) from exc
    out.info("[dim]starting the local Braket service…[/]")
    kwargs.setdefault("job_runner_factory", process_job_runner_factory)
    return await stack.enter_async_context(LocalBraket(**kwargs))


@asynccontextmanager
async def open_context(args: argparse.Namespace, out: Output) -> AsyncIterator[Context]:
    """Open the session the global options describe (``--local`` starts a local service)."""
    if args.local and (args.endpoint_url or args.s3_endpoint_url):
        raise CliError("--local starts its own service: drop --endpoint-url/--s3-endpoint-url")
    async with AsyncExitStack() as stack:
        local: LocalBraket | None = None
        endpoint_url: str | None = args.endpoint_url
        s3_endpoint_url: str | None = args.s3_endpoint_url
        sqs_endpoint_url: str | None = args.sqs_endpoint_url
        events_endpoint_url: str | None = args.events_endpoint_url
        region: str | None = args.region
        key_id: str | None = None
        secret: str | None = None
        if args.local:
            local = await start_local(stack, out)
            endpoint_url = local.endpoint_url
            s3_endpoint_url = local.s3_endpoint_url
            # The local service's moto server serves EventBridge and SQS too.
            aws_endpoint_url = local.events_endpoint_url or local.s3_endpoint_url
            sqs_endpoint_url = sqs_endpoint_url or aws_endpoint_url
            events_endpoint_url = events_endpoint_url or aws_endpoint_url
            region = region or "us-east-1"
            key_id, secret = local.credentials
        session = BraketSession(
            region_name=region,
            endpoint_url=endpoint_url,
            s3_endpoint_url=s3_endpoint_url,
            logs_endpoint_url=args.logs_endpoint_url or (s3_endpoint_url if local else None),
            sqs_endpoint_url=sqs_endpoint_url,
            events_endpoint_url=events_endpoint_url,
            profile_name=args.profile,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        braket = await stack.enter_async_context(session)
        yield Context(args=args, out=out, braket=braket, local=local)
