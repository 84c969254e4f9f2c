"""A simulator worker process, and the framing both ends of its pipes speak.

The service starts each worker as a plain ``python -c`` child (see
:data:`BOOTSTRAP`), never through ``multiprocessing``: the child imports only this package's
simulator modules and never re-imports the user's ``__main__``, so a script that starts
``LocalBraket`` at module level needs no ``if __name__ == "__main__":`` guard.

Protocol (stdin: parent -> worker; stdout: worker -> parent; stderr is inherited):
each message is ``>II`` (header length, body length), a UTF-8 JSON header, then the body bytes.

- worker -> parent, once warm: ``{"ready": pid}``.
- parent -> worker: ``{"job": [...]}`` (the executor's job tuple, JSON-encoded).
- worker -> parent: ``{"status": ..., "reason": ...}`` with the ``results.json`` text as body.

The worker dies with the service: on Linux the kernel sends it SIGKILL when its parent exits
(``PR_SET_PDEATHSIG``), and on every platform a thread reading stdin ends the process at EOF,
which is what a dead parent's pipe gives, even in the middle of a simulation.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import struct
import sys
import threading
from typing import Any, BinaryIO

__all__ = ["BOOTSTRAP", "decode_header", "encode_message", "main", "read_message"]

_PREFIX = struct.Struct(">II")

#: The ``python -P -c`` program that starts a worker. ``argv[1:3]`` are the directories of
#: ``braket_async`` and ``braket_async.local``: registering them as bare packages skips both
#: ``__init__`` modules (the client and the web server), whose imports a worker never needs and
#: that would add about half a second to every worker's start. ``argv[3]`` is the parent's pid.
BOOTSTRAP = """\
import sys, types
for _name, _path in (("braket_async", sys.argv[1]), ("braket_async.local", sys.argv[2])):
    _package = types.ModuleType(_name)
    _package.__path__ = [_path]
    sys.modules[_name] = _package
from braket_async.local.simulation._worker import main
main(int(sys.argv[3]))
"""


def encode_message(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One framed message."""
    data = json.dumps(header, separators=(",", ":")).encode()
    return _PREFIX.pack(len(data), len(body)) + data + body


def decode_header(data: bytes) -> dict[str, Any]:
    """A message header; ``ValueError`` if it is not a JSON object."""
    header = json.loads(data)
    if not isinstance(header, dict):
        raise ValueError("a worker message header must be a JSON object")
    return header


def read_message(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """The next message from a blocking stream, or ``None`` at EOF."""
    prefix = _read_exactly(stream, _PREFIX.size)
    if prefix is None:
        return None
    header_size, body_size = _PREFIX.unpack(prefix)
    header = _read_exactly(stream, header_size)
    body = _read_exactly(stream, body_size)
    if header is None or body is None:
        return None
    return decode_header(header), body


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# The worker process.


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the stdin watchdog still ends the worker
    if os.getppid() != parent_pid:
        os._exit(0)  # the parent died before the signal was armed


def _read_jobs(stream: BinaryIO, jobs: queue.SimpleQueue[list[Any]]) -> None:
    """Feed jobs to the main thread; end the process when the parent's pipe closes."""
    try:
        while (message := read_message(stream)) is not None:
            jobs.put(message[0]["job"])
    except Exception:  # a garbled pipe means a broken parent: stop as at EOF
        pass
    os._exit(0)


def main(parent_pid: int) -> None:
    """Run jobs from stdin until it closes."""
    _die_with_parent(parent_pid)
    # The pipes to the parent move to fresh descriptors; fd 0 and 1 are reassigned so that
    # anything the simulator prints goes to stderr instead of corrupting the protocol.
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    try:
        os.dup2(2, 1)
    except OSError:  # no stderr (a detached service): print nowhere
        os.dup2(devnull, 1)
    os.close(devnull)
    jobs: queue.SimpleQueue[list[Any]] = queue.SimpleQueue()
    threading.Thread(target=_read_jobs, args=(requests, jobs), daemon=True).start()

    from ._simulate import execute, init_worker

    init_worker()
    replies.write(encode_message({"ready": os.getpid()}))
    replies.flush()
    while True:
        job = jobs.get()
        status, text, reason = execute(tuple(job))
        body = text.encode() if text is not None else b""
        replies.write(encode_message({"status": status, "reason": reason}, body))
        replies.flush()
