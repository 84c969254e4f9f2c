"""Counts of what the local service did, for tests and benchmarks.

Readable from Python (:meth:`Ledger.snapshot`) and over HTTP at ``GET /_local/ledger``
(reset with ``POST /_local/ledger/reset``), outside the Braket routes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

__all__ = ["Ledger"]


class Ledger:
    """Counters: calls, throttles and injected faults per operation; tasks, jobs, replays."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faults: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.errors: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.tasks_created = 0
        self.client_token_replays = 0
        self.jobs_created = 0
        self.tasks_completed = 0
        self.tasks_failed = 0
        self.tasks_cancelled = 0
        #: Published state-change events: published, duplicated, reordered, delayed,
        #: dropped (fault), overflow (queue full), send_failed (PutEvents kept failing).
        self.events: Counter[str] = Counter()

    def record_call(self, operation: str) -> None:
        """One request routed to ``operation`` (counted before quotas and faults).

        Args:
            operation: The operation's name.
        """
        self.calls[operation] += 1

    def record_throttle(self, operation: str) -> None:
        """One request refused by a quota with 429.

        Args:
            operation: The operation's name.
        """
        self.throttled[operation] += 1

    def record_fault(self, operation: str, kind: str) -> None:
        """One injected fault of ``kind`` (internal_error, throttle, drop_connection, ...).

        Args:
            operation: The operation's name.
            kind: The fault's kind.
        """
        self.faults[operation][kind] += 1

    def record_error(self, operation: str, code: str) -> None:
        """One error response (any cause) with error ``code``.

        Args:
            operation: The operation's name.
            code: The error code.
        """
        self.errors[operation][code] += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "throttled": dict(self.throttled),
            "total_throttled": sum(self.throttled.values()),
            "faults": {op: dict(kinds) for op, kinds in self.faults.items()},
            "errors": {op: dict(codes) for op, codes in self.errors.items()},
            "tasks_created": self.tasks_created,
            "tasks_completed": self.tasks_completed,
            "tasks_failed": self.tasks_failed,
            "tasks_cancelled": self.tasks_cancelled,
            "client_token_replays": self.client_token_replays,
            "jobs_created": self.jobs_created,
            "events": dict(self.events),
        }
