"""A scripted HTTP server on loopback for wire cases the local service cannot produce
(malformed bodies, unknown error codes, bodiless 5xx): real sockets, no patching of aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

__all__ = ["Reply", "WireServer", "wire_server"]


class Reply:
    """One scripted response."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | str = b"{}",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.delay = delay


class WireServer:
    """Answers every request with ``reply`` (or ``handler``); records what it received."""

    def __init__(self) -> None:
        self.reply = Reply()
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
        reply = self.reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


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
