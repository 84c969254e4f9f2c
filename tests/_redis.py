"""A real ``redis-server`` for tests: its own process, a free loopback port, no persistence.

The binary comes from the system (Debian's ``redis-server`` package; ``.ci/run`` installs it).
Without it the tests that need Redis skip, saying so, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["RedisServer", "free_port", "redis_server_binary", "running_redis"]


def redis_server_binary() -> str:
    """The ``redis-server`` executable; skips the test (fails it under ``CI=true``) if absent."""
    path = shutil.which("redis-server")
    if path is None:
        reason = (
            "redis-server is not installed: the shared rate-limit tests run a real Redis "
            "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on 127.0.0.1; :meth:`stop` and :meth:`start` again keep the port.
    ``appendonly=True``: an AOF (fsync every second) in its directory, so the data survive
    a :meth:`stop` and :meth:`start` (docs/replicas.md, durability)."""

    def __init__(self, binary: str, *, appendonly: bool = False) -> None:
        self.binary = binary
        self.appendonly = appendonly
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="braket-async-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        """Start it and wait until it answers PING."""
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec", "--dir", self._dir.name, "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not self._pong():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Terminate it (the data goes with it) and wait for the exit."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # in case a test froze it
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def freeze(self) -> None:
        """SIGSTOP: connections still open (the kernel accepts them), nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A started ``redis-server`` of its own, closed on exit (skips when there is none)."""
    server = RedisServer(redis_server_binary())
    server.start()
    try:
        yield server
    finally:
        server.close()
