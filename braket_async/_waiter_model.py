"""The Braket waiter model (botocore ``waiters-2`` format; botocore ships none for Braket).

Read by :class:`botocore.waiter.WaiterModel`. Acceptors match the ``status`` member of
GetQuantumTask / GetJob; throttling and the service's 500 answers are ``retry`` states so one
busy moment does not fail a long wait. Names are PascalCase as in botocore's own models; the
session exposes them snake_cased (``quantum_task_completed``), as boto3 does.
"""

from __future__ import annotations

from typing import Any

from .models.enums import TERMINAL_JOB_STATUSES, TERMINAL_TASK_STATUSES

__all__ = ["WAITER_MODEL"]

_TRANSIENT = [
    {"matcher": "error", "expected": "ThrottlingException", "state": "retry"},
    {"matcher": "error", "expected": "InternalServiceException", "state": "retry"},
]


def _status(expected: str, state: str) -> dict[str, Any]:
    return {"matcher": "path", "argument": "status", "expected": expected, "state": state}


def _waiter(operation: str, success: list[str], failure: list[str]) -> dict[str, Any]:
    return {
        "operation": operation,
        # Defaults only; WaiterConfig={"Delay": ..., "MaxAttempts": ...} overrides them.
        "delay": 1,
        "maxAttempts": 600,
        "acceptors": [_status(s, "success") for s in success]
        + [_status(s, "failure") for s in failure]
        + _TRANSIENT,
    }


_TASK_TERMINAL = sorted(map(str, TERMINAL_TASK_STATUSES))
_TASK_FAILURES = [s for s in _TASK_TERMINAL if s != "COMPLETED"]
_JOB_TERMINAL = sorted(map(str, TERMINAL_JOB_STATUSES))
_JOB_FAILURES = [s for s in _JOB_TERMINAL if s != "COMPLETED"]

#: botocore waiter model, version 2.
WAITER_MODEL: dict[str, Any] = {
    "version": 2,
    "waiters": {
        "QuantumTaskCompleted": _waiter("GetQuantumTask", ["COMPLETED"], _TASK_FAILURES),
        "QuantumTaskTerminal": _waiter("GetQuantumTask", _TASK_TERMINAL, []),
        "JobCompleted": _waiter("GetJob", ["COMPLETED"], _JOB_FAILURES),
        "JobTerminal": _waiter("GetJob", _JOB_TERMINAL, []),
    },
}
