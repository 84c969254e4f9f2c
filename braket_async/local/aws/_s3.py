"""Embedded AWS (moto's server: S3, CloudWatch Logs, STS) and the async S3 writer.

:class:`EmbeddedAws` runs moto's server (in a thread) on a free loopback port; one port
serves every service because moto dispatches on the credential scope of the signed request.
Only requests signed with the server's credentials reach moto, and no web browser does
(``_aws_guard.SignedOnly``).
moto's backends are process-global, so two embedded servers in one process share their data, and
``moto.mock_aws`` used elsewhere in the same process resets it.

:class:`ObjectStore` wraps one aiobotocore S3 client (path-style addressing, so it works against
moto, MinIO or AWS alike) and, on first need, one CloudWatch Logs client on the same endpoint.
"""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from ..._base import AsyncContext

__all__ = ["TEST_CREDENTIALS", "EmbeddedAws", "ObjectStore"]

#: Default credentials of the embedded server (moto's documented test credentials).
TEST_CREDENTIALS = ("testing", "testing")

_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})
_OWNED_BUCKET_CODES = frozenset({"BucketAlreadyOwnedByYou"})


class EmbeddedAws:
    """moto's server on ``host:port`` (port 0: a free one), started and stopped off the loop.

    This is what ``moto.server.ThreadedMotoServer`` does, built from the same public pieces
    (``DomainDispatcherApplication``, ``create_backend_app``, ``MotoRequestHandler``) with two
    fixes: each response carries one ``Server`` header (werkzeug adds its own next to moto's, and
    aiohttp >= 3.13.4, hence aiobotocore, rejects the duplicate: getmoto/moto#9930), and the
    listening socket is closed on stop. Request logging is off (errors are still logged).

    Requests must be SigV4-signed with ``credentials`` (access key id, secret): see
    ``_aws_guard``. Usable as ``async with EmbeddedAws() as endpoint_url: ...``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: tuple[str, str] = TEST_CREDENTIALS,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        if not (credentials[0] and credentials[1]):
            raise ValueError("credentials must be a non-empty (access key id, secret) pair")
        self._host = host
        self._port = port
        self._credentials = credentials
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("EmbeddedAws is not started: await start() first")
        return self._endpoint_url

    async def start(self) -> str:
        """Start the server in its own thread and return its endpoint URL."""
        if self._server is not None:
            raise RuntimeError("EmbeddedAws is already started")
        # Importing moto and binding the socket both block: do them off the loop.
        server = await asyncio.to_thread(_make_server, self._host, self._port, self._credentials)
        thread = threading.Thread(
            target=server.serve_forever, name=f"braket-async-moto-{server.port}", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        host = str(server.server_address[0])
        shown = f"[{host}]" if ":" in host else host
        self._endpoint_url = f"http://{shown}:{server.port}"
        return self._endpoint_url

    async def close(self) -> None:
        """Stop the server and close its listening socket. Idempotent."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        self._endpoint_url = None
        if server is not None:
            await asyncio.to_thread(_stop, server, thread)

    async def __aenter__(self) -> str:
        return await self.start()  # the endpoint URL, unlike AsyncContext's self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _make_server(host: str, port: int, credentials: tuple[str, str]) -> Any:
    # moto is an optional ("local") dependency and slow to import: only here, in a thread.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class _Handler(MotoRequestHandler):
        def send_response(self, code: int, message: str | None = None) -> None:
            # BaseHTTPRequestHandler.send_response minus the log line and the Server header
            # (moto's responses carry their own).
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

    from ..guards._aws_guard import SignedOnly
    from ..guards._sigv4 import SigV4Verifier

    verifier = SigV4Verifier(*credentials, s3=True)
    app = SignedOnly(DomainDispatcherApplication(create_backend_app), verifier, host)
    return make_server(host, port, app, threaded=True, request_handler=_Handler)


def _stop(server: Any, thread: threading.Thread | None) -> None:
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ObjectStore(AsyncContext):
    """One aiobotocore S3 client (and a lazily created Logs client) on ``endpoint_url``.

    ``aws_access_key_id`` / ``aws_secret_access_key`` default to the embedded server's test
    credentials; pass ``None`` for both to use botocore's usual credential chain (a real
    endpoint). Use ``async with ObjectStore(url) as store`` or ``open()`` / ``close()``.
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str = "us-east-1",
        *,
        aws_access_key_id: str | None = TEST_CREDENTIALS[0],
        aws_secret_access_key: str | None = TEST_CREDENTIALS[1],
        max_pool_connections: int = 50,
    ) -> None:
        if not endpoint_url.startswith(("http://", "https://")):
            raise ValueError(
                f"endpoint_url must start with http:// or https://, got {endpoint_url!r}"
            )
        if not region:
            raise ValueError("region must be a non-empty string")
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise ValueError("aws_access_key_id and aws_secret_access_key must be given together")
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (
            {"aws_access_key_id": aws_access_key_id, "aws_secret_access_key": aws_secret_access_key}
            if aws_access_key_id is not None
            else {}
        )
        self._config = AioConfig(
            s3={"addressing_style": "path"}, max_pool_connections=max_pool_connections
        )
        self._session = get_session()
        self._stack: AsyncExitStack | None = None
        self._s3: Any = None
        self._logs: Any = None
        self._logs_lock = asyncio.Lock()

    async def open(self) -> None:
        """Create the S3 client."""
        if self._stack is not None:
            raise RuntimeError("ObjectStore is already open")
        stack = AsyncExitStack()
        try:
            self._s3 = await stack.enter_async_context(self._client("s3"))
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        """Close the S3 client and the Logs client if one was created. Idempotent."""
        stack, self._stack = self._stack, None
        self._s3 = self._logs = None
        if stack is not None:
            await stack.aclose()

    async def _enter(self) -> None:
        await self.open()

    async def _exit(self) -> None:
        await self.close()

    def _client(self, service: str) -> Any:
        return self._session.create_client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=self._config,
            **self._credentials,
        )

    @property
    def s3(self) -> Any:
        """The raw aiobotocore S3 client."""
        if self._s3 is None:
            raise RuntimeError("ObjectStore is not open: await open() first")
        return self._s3

    async def logs_client(self) -> Any:
        """The aiobotocore CloudWatch Logs client on the same endpoint (created on first call,
        closed with the store)."""
        async with self._logs_lock:
            if self._stack is None:
                raise RuntimeError("ObjectStore is not open: await open() first")
            if self._logs is None:
                self._logs = await self._stack.enter_async_context(self._client("logs"))
            return self._logs

    async def bucket_exists(self, bucket: str) -> bool:
        """Whether ``bucket`` exists (HeadBucket; 404 is False, other errors raise)."""
        try:
            await self.s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_BUCKET_CODES:
                return False
            raise
        return True

    async def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` unless it already exists and is ours."""
        if await self.bucket_exists(bucket):
            return
        params: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            # S3 rejects an explicit us-east-1 constraint and requires one everywhere else.
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await self.s3.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) not in _OWNED_BUCKET_CODES:
                raise

    async def put_bytes(
        self, bucket: str, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        """Write ``data`` to ``s3://bucket/key``."""
        await self.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    async def put_json(self, bucket: str, key: str, doc: Any) -> None:
        """Write ``doc`` as JSON to ``s3://bucket/key``. A ``str`` or ``bytes`` ``doc`` is taken
        as already-serialized JSON and written verbatim (e.g. ``ExecutionOutcome.result_json``,
        which saves re-encoding large results on the event loop)."""
        if isinstance(doc, bytes):
            data = doc
        elif isinstance(doc, str):
            data = doc.encode("utf-8")
        else:
            data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        await self.put_bytes(bucket, key, data, content_type="application/json")

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        """The body of ``s3://bucket/key`` (raises ``ClientError`` NoSuchKey if absent)."""
        response = await self.s3.get_object(Bucket=bucket, Key=key)
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data
