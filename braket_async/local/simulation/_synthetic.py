"""``SyntheticExecutor``: results of the right shape, without simulating (for runs at scale).

The local service normally runs every program on the default simulator in worker processes.
For load runs (a tracker following 100,000 tasks) that would measure the simulator, not the
client. Plug this executor instead -- ``LocalBraket(executor=SyntheticExecutor())`` or
``python -m braket_async.local serve --synthetic`` -- and every task completes with a
GateModelTaskResult document of the real shape whose measurements are all zeros: the
qubit count comes from the program (``qubit[n]`` declarations of OpenQASM, the highest
qubit index of JAQCD instructions), nothing is simulated and nothing is checked beyond
that. Results are NOT physically meaningful; use it only where the results do not matter.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from ._executor import ExecutionOutcome, ExecutionRequest, format_timestamp

__all__ = ["SyntheticExecutor"]

_RESULT_HEADER = {"name": "braket.task_result.gate_model_task_result", "version": "1"}
_METADATA_HEADER = {"name": "braket.task_result.task_metadata", "version": "1"}
_QUBITS = re.compile(r"\bqubit\s*\[\s*(\d+)\s*\]")
_SINGLE_QUBIT = re.compile(r"\bqubit\s+[A-Za-z_]")


def _qubit_count(action: dict[str, Any]) -> int:
    source = action.get("source")
    if isinstance(source, str):
        count = sum(int(n) for n in _QUBITS.findall(source))
        count += len(_SINGLE_QUBIT.findall(source))
        return max(1, count)
    highest = -1
    for instruction in action.get("instructions") or ():
        if isinstance(instruction, dict):
            for key in ("target", "control"):
                value = instruction.get(key)
                if isinstance(value, int):
                    highest = max(highest, value)
            for key in ("targets", "controls"):
                for value in instruction.get(key) or ():
                    if isinstance(value, int):
                        highest = max(highest, value)
    return max(1, highest + 1)


class SyntheticExecutor:
    """An executor for the local service that completes every task at once, unsimulated."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, req: ExecutionRequest) -> ExecutionOutcome:
        """Complete the task at once, all measurements zero (an action not a JSON object fails).

        Args:
            req: The task to run.

        Returns:
            The outcome.
        """
        self.runs += 1
        try:
            action = json.loads(req.action)
        except ValueError:
            return ExecutionOutcome.failed("The action is not a Braket program (not JSON).")
        if not isinstance(action, dict):
            return ExecutionOutcome.failed("The action is not a Braket program (not an object).")
        qubits = _qubit_count(action)
        doc: dict[str, Any] = {"braketSchemaHeader": _RESULT_HEADER}
        if req.shots > 0:  # as the simulator: no measurements for shots=0
            doc["measurements"] = [[0] * qubits for _ in range(req.shots)]
        doc.update(
            {
                "measuredQubits": list(range(qubits)),
                "resultTypes": [],
                "taskMetadata": {
                    "braketSchemaHeader": _METADATA_HEADER,
                    "id": req.task_arn,
                    "shots": req.shots,
                    "deviceId": req.device.arn,
                    "createdAt": format_timestamp(req.created_at),
                    "endedAt": format_timestamp(datetime.now(UTC)),
                    "status": "COMPLETED",
                },
                "additionalMetadata": {"action": action},
            }
        )
        return ExecutionOutcome("COMPLETED", doc, None)
