"""Analog Hamiltonian simulation (``braket.ir.ahs.program``) in a simulator worker process.

Runs the program on amazon-braket-default-simulator's ``RydbergAtomSimulator`` with the
device's ``paradigm.rydberg.c6Coefficient`` and writes the result as Braket does:
a ``braket.task_result.analog_hamiltonian_simulation_task_result`` v1 document with one
``measurements`` entry per shot (``shotMetadata.shotStatus``, ``shotResult.preSequence`` /
``postSequence`` bits per site), ``taskMetadata`` and ``additionalMetadata.action``.

The simulator is exact (no atom-loss or detection noise): every shot's status is ``Success``
and ``preSequence`` equals the register's filling. Its cost grows as 2^atoms;
``max_atoms`` (the executor's engine limit) stops programs the machine could not finish.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["AHS_RESULT_HEADER", "AhsTooLarge", "simulate_ahs"]

AHS_RESULT_HEADER = {
    "name": "braket.task_result.analog_hamiltonian_simulation_task_result",
    "version": "1",
}
_METADATA_HEADER = {"name": "braket.task_result.task_metadata", "version": "1"}
#: Time points of the simulated evolution (the simulator's own default is 1000; 100 keeps a
#: few-atom program in the tens of milliseconds and the populations within 1e-3).
STEPS = 100

_SIMULATOR: Any = None


class AhsTooLarge(ValueError):
    """The program has more atoms than the local engine simulates."""


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def simulate_ahs(
    action: dict[str, Any],
    *,
    task_arn: str,
    device_arn: str,
    shots: int,
    created_at: str,
    c6_coefficient: float,
    max_atoms: int,
) -> str:
    """Run one AHS task; returns the results.json text. Raises ``ValueError`` (invalid
    program, too many atoms) or the simulator's own errors."""
    global _SIMULATOR
    from braket.analog_hamiltonian_simulator.rydberg.rydberg_simulator import (
        RydbergAtomSimulator,
    )
    from braket.ir.ahs import Program

    program = Program.parse_obj(action)
    atoms = sum(int(f) for f in program.setup.ahs_register.filling)
    if atoms > max_atoms:
        raise AhsTooLarge(
            f"Program has {atoms} atoms; the local AHS engine simulates at most {max_atoms} "
            f"(device {device_arn})."
        )
    if _SIMULATOR is None:
        _SIMULATOR = RydbergAtomSimulator()
    started = time.perf_counter()
    raw = _SIMULATOR.run(program, shots=shots, steps=STEPS, rydberg_interaction_coef=c6_coefficient)
    measurements = [
        {
            "shotMetadata": {"shotStatus": m.shotMetadata.shotStatus},
            "shotResult": {
                "preSequence": [int(b) for b in m.shotResult.preSequence],
                "postSequence": [int(b) for b in m.shotResult.postSequence],
            },
        }
        for m in raw.measurements or ()
    ]
    ended = datetime.now(UTC)
    doc = {
        "braketSchemaHeader": AHS_RESULT_HEADER,
        "taskMetadata": {
            "braketSchemaHeader": _METADATA_HEADER,
            "id": task_arn,
            "shots": shots,
            "deviceId": device_arn,
            "createdAt": created_at or _timestamp(ended),
            "endedAt": _timestamp(ended),
            "status": "COMPLETED",
        },
        "measurements": measurements,
        "additionalMetadata": {
            "action": action,
            "simulatorMetadata": {
                "braketSchemaHeader": {
                    "name": "braket.task_result.simulator_metadata",
                    "version": "1",
                },
                "executionDuration": int((time.perf_counter() - started) * 1000),
            },
        },
    }
    return json.dumps(doc, separators=(",", ":"))
