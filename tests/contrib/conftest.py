"""Helpers for the FastAPI tests: run an ASGI app on a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn


@contextlib.asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Run ``app`` (lifespan on) on 127.0.0.1 in this event loop; yields its base URL.

    Stops the server (and so the app's lifespan) on exit.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                await serving  # startup failed: raise its error
                raise RuntimeError("uvicorn stopped before it started (lifespan failed?)")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
def serve() -> Any:
    """``async with serve(app) as base_url:`` runs the app on a real loopback server."""
    return serve_app
