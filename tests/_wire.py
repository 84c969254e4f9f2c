"""A scripted HTTP server on loopback for wire cases the local service cannot produce
(malformed bodies, unknown error codes, bodiless 5xx, proxy pages, bodies cut short or
stalled): real sockets, no patching of aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from braket_async import BraketSession, RateLimits

__all__ = ["Reply", "WireServer", "session_on_wire", "wire_server"]


class Reply:
    """One scripted response.

    ``delay``: seconds before the headers. ``cut_after``: send the headers (with the full
    Content-Length) and only this many bytes of the body, then drop the connection.
    ``stall``: with ``cut_after``, hold the connection open this long instead of dropping it.
    """

    def __init__(
        self,
        status: int = 200,
        body: bytes | str = b"{}",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        cut_after: int | None = None,
        stall: float = 0.0,
    ) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.delay = delay
        self.cut_after = cut_after
        self.stall = stall


class WireServer:
    """Answers every request with ``reply`` (or ``handler``); records what it received."""

    def __init__(self) -> None:
        self.reply = Reply()
        #: replies used in turn before ``reply`` (one per request)
        self.script: list[Reply] = []
        self.handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
        self.requests: list[tuple[str, str, bytes]] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, body))
        self.headers.append(dict(request.headers))
        if self.handler is not None:
            return await self.handler(request)
        reply = self.script.pop(0) if self.script else self.reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.cut_after is None:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response = web.StreamResponse(
            status=reply.status,
            headers={**reply.headers, "Content-Length": str(len(reply.body))},
        )
        await response.prepare(request)
        await response.write(reply.body[: reply.cut_after])
        if reply.stall:
            await asyncio.sleep(reply.stall)
        if request.transport is not None:
            request.transport.abort()  # the rest of the body never comes
        return response

    def bodies(self, path_prefix: str = "") -> list[bytes]:
        """The bodies of the requests received whose path starts with ``path_prefix``."""
        return [body for _, path, body in self.requests if path.startswith(path_prefix)]


@asynccontextmanager
async def wire_server() -> AsyncIterator[WireServer]:
    """Start a :class:`WireServer` on 127.0.0.1 (random port) for the block."""
    server = WireServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = site._server.sockets if site._server is not None else ()  # type: ignore[union-attr]
    port = sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def session_on_wire(server: WireServer, **kwargs: Any) -> BraketSession:
    """A session on ``server`` (dummy credentials, no client-side rate limits); ``kwargs``
    (e.g. a botocore ``config``) go to :class:`BraketSession`."""
    return BraketSession(
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        rate_limits=RateLimits.off(),
        **kwargs,
    )
