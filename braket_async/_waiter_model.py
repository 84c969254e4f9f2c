"""The Braket waiter model (botocore ``waiters-2`` format; botocore ships none for Braket).

Read by :class:`botocore.waiter.WaiterModel`. Acceptors match the ``status`` member of
GetQuantumTask / GetJob; throttling and the service's 500 answers are ``retry`` states so one
busy moment does not fail a long wait. Names are PascalCase as in botocore's own models; the
session exposes them snake_cased (``quantum_task_completed``), as boto3 does.
"""

from __future__ import annotations

from typing import Any

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


#: botocore waiter model, version 2.
WAITER_MODEL: dict[str, Any] = {
    "version": 2,
    "waiters": {
        "QuantumTaskCompleted": _waiter("GetQuantumTask", ["COMPLETED"], ["FAILED", "CANCELLED"]),
        "QuantumTaskTerminal": _waiter("GetQuantumTask", ["COMPLETED", "FAILED", "CANCELLED"], []),
        "JobCompleted": _waiter("GetJob", ["COMPLETED"], ["FAILED", "CANCELLED"]),
        "JobTerminal": _waiter("GetJob", ["COMPLETED", "FAILED", "CANCELLED"], []),
    },
}
