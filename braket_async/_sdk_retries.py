"""Turning botocore's own retries off for the calls of one coroutine.

botocore retries a 5xx, a 429 or a dropped connection inside one client call (standard
mode: 3 attempts). A caller that retries through :func:`braket_async.polling.retry_target`
(a batch's creates) would otherwise multiply the two loops: 11 calls of 3 attempts each sent
one systematically failing create 33 times. Inside :func:`sdk_retries_off` every attempt is
one call, so the caller's budget counts and paces the attempts on the wire.

The switch is a context variable read by a ``needs-retry`` handler registered first on the
client (:func:`register_retry_switch`): an answer of ``False`` is the first non-``None``
answer, which aiobotocore takes as "do not retry". Other calls on the same client keep
botocore's retries.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["register_retry_switch", "sdk_retries_off"]

_RETRIES_OFF: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "braket_async_sdk_retries_off", default=False
)


@contextlib.contextmanager
def sdk_retries_off() -> Iterator[None]:
    """botocore makes one attempt per call for the calls made inside this block (in this
    task and the tasks it creates)."""
    token = _RETRIES_OFF.set(True)
    try:
        yield
    finally:
        _RETRIES_OFF.reset(token)


def _veto(**_kwargs: Any) -> bool | None:
    return False if _RETRIES_OFF.get() else None


def register_retry_switch(events: Any, service: str = "braket") -> None:
    """Make :func:`sdk_retries_off` apply to an (aio)botocore client; pass its
    ``meta.events``."""
    events.register_first(
        f"needs-retry.{service}", _veto, unique_id=f"braket-async-retry-switch-{service}"
    )
