"""Finding the task of a create whose answer was lost, without replaying the create.

A batch tags every task it creates with its client token (:data:`TOKEN_TAG`). When a
CreateQuantumTask attempt gets no usable answer (a dropped connection: the task may or may
not exist), the item's next attempt first looks for its task with one SearchQuantumTasks over
the device's tasks created around that attempt (:func:`find_created`), instead of replaying
the create at once. A replay is safe (same client token, the service answers the existing
task) but takes a CreateQuantumTask token, the scarce quota of a batch; a search takes a
SearchQuantumTasks token. When the search finds nothing (the create never took effect, the
search index lags, the clocks disagree by more than the slack, or the search itself failed)
the item replays its create as before: the search only saves a create, it never decides that
no task exists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import errors
from ._sdk_retries import sdk_retries_off
from .models import QuantumTaskFilter

__all__ = ["LOCATE_SLACK", "TOKEN_TAG", "find_created", "tagged", "wall_now"]

TOKEN_TAG = "braket-async:client-token"
"""The tag a batch gives every task it creates: the item's client token."""
LOCATE_SLACK = timedelta(seconds=1.0)
"""How far around the lost attempt (client clock) the search looks for the task's
``createdAt`` (service clock): beyond it, the create is replayed."""
_PAGE = 100
_PAGES = 2
_SEARCH_ATTEMPTS = 2


def wall_now() -> datetime:
    """The client's wall clock (UTC), as the service stamps ``createdAt``."""
    return datetime.now(UTC)


def tagged(request: Mapping[str, Any], client_token: str) -> dict[str, Any]:
    """``request`` (create_quantum_task keyword arguments) with the client-token tag."""
    return {**request, "tags": {**(request.get("tags") or {}), TOKEN_TAG: client_token}}


async def find_created(
    session: Any, request: Mapping[str, Any], client_token: str, sent_at: datetime
) -> str | None:
    """The ARN of the task tagged ``client_token`` on the request's device, created between
    ``sent_at`` and now (give or take :data:`LOCATE_SLACK`); ``None`` when the search does
    not find it or fails (each search is one attempt, botocore's retries off, at most
    :data:`_SEARCH_ATTEMPTS` of them)."""
    filters = [
        QuantumTaskFilter("deviceArn", "EQUAL", (str(request["device_arn"]),)),
        QuantumTaskFilter(
            "createdAt", "BETWEEN", (sent_at - LOCATE_SLACK, wall_now() + LOCATE_SLACK)
        ),
    ]
    for _ in range(_SEARCH_ATTEMPTS):
        with contextlib.suppress(errors.BraketError):
            return await _search(session, filters, client_token)
    return None


async def _search(
    session: Any, filters: list[QuantumTaskFilter], client_token: str
) -> str | None:
    token: str | None = None
    for _ in range(_PAGES):
        with sdk_retries_off():
            page = await session.search_quantum_tasks(
                filters=filters, max_results=_PAGE, next_token=token
            )
        for summary in page.quantum_tasks:
            if summary.tags.get(TOKEN_TAG) == client_token:
                return str(summary.quantum_task_arn)
        token = page.next_token
        if token is None:
            break
    return None
