"""Program sets (``braket.ir.openqasm.program_set``): run in a worker, written in Braket's layout.

A program set is one task holding several OpenQASM programs; a program whose ``inputs`` map
names to lists runs once per position of those lists (an *executable*). The task's ``shots``
is the total: every executable runs ``shots / executables`` shots (CreateQuantumTask refuses a
total that does not divide, see ``_capabilities``).

The worker returns one self-contained ``braket.task_result.program_set_task_result`` document
(everything inline); :func:`result_objects` then spreads it over the S3 objects Braket writes
in the task's output directory, which the Braket SDK reads back through ``s3Location``::

    results.json                          programResults: ["programs/0/results.json", ...],
                                          taskMetadata: "metadata.json", s3Location: [bucket, dir]
    metadata.json                         braket.task_result.program_set_task_metadata
    programs/{i}/results.json             braket.task_result.program_result (source:
                                          "program.json", executableResults: ["executables/0.json"])
    programs/{i}/program.json             the program as run (braket.ir.openqasm.program)
    programs/{i}/executables/{j}.json     program_set_executable_result / _failure

An executable the simulator rejects does not fail the task: it is written as a
``program_set_executable_failure`` and counted in ``totalFailedExecutables``; the task fails
only when every executable failed. ``numSuccessfulShots`` is the shots of the executables that
ran.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "PROGRAM_SET_RESULT_SCHEMA",
    "result_objects",
    "run_program_set",
    "successful_shots",
]

PROGRAM_SET_RESULT_SCHEMA = "braket.task_result.program_set_task_result"


def _header(name: str) -> dict[str, str]:
    return {"name": f"braket.task_result.{name}", "version": "1"}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


#: ``run(source, inputs, shots) -> (measurements, measured_qubits)``
RunOne = Callable[[str, dict[str, Any], int], tuple[list[list[int]], list[int]]]


def run_program_set(
    action: Mapping[str, Any],
    *,
    run: RunOne,
    describe: Callable[[BaseException], str],
    task_arn: str,
    device_arn: str,
    shots: int,
    created_at: str,
    device_parameters: Mapping[str, Any] | None,
) -> str:
    """Run every executable of the program set with ``run``; returns the inline
    ProgramSetTaskResult JSON text. Raises ``ValueError`` when every executable failed."""
    programs = list(action["programs"])
    counts = [_executable_count(p) for p in programs]
    total = sum(counts)
    per_executable = shots // total
    program_results: list[dict[str, Any]] = []
    program_metadata: list[dict[str, Any]] = []
    failed = 0
    first_failure = ""
    for program, count in zip(programs, counts, strict=True):
        inputs = program.get("inputs") or {}
        started = time.perf_counter()
        executables: list[dict[str, Any]] = []
        metadata: list[dict[str, Any]] = []
        for index in range(count):
            values = {name: value[index] for name, value in inputs.items()}
            try:
                measurements, measured = run(program["source"], values, per_executable)
            except Exception as exc:  # the simulator's errors are untyped: report per executable
                failed += 1
                reason = describe(exc)
                first_failure = first_failure or reason
                failure = {"failureReason": reason, "retryable": False, "category": "COMPILATION"}
                executables.append(
                    {
                        "braketSchemaHeader": _header("program_set_executable_failure"),
                        "inputsIndex": index,
                        "failureMetadata": failure,
                    }
                )
                metadata.append(failure)
                continue
            executables.append(
                {
                    "braketSchemaHeader": _header("program_set_executable_result"),
                    "inputsIndex": index,
                    "measurements": measurements,
                    "measuredQubits": measured,
                }
            )
            metadata.append({})
        program_results.append(
            {
                "braketSchemaHeader": _header("program_result"),
                "executableResults": executables,
                "source": {
                    "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                    "source": program["source"],
                    "inputs": inputs or None,
                },
                "additionalMetadata": {
                    "simulatorMetadata": {
                        "braketSchemaHeader": _header("simulator_metadata"),
                        "executionDuration": int((time.perf_counter() - started) * 1000),
                    }
                },
            }
        )
        program_metadata.append({"executables": metadata})
    if failed == total:
        raise ValueError(f"Every executable of the program set failed; first: {first_failure}")
    doc = {
        "braketSchemaHeader": _header("program_set_task_result"),
        "programResults": program_results,
        "taskMetadata": {
            "braketSchemaHeader": _header("program_set_task_metadata"),
            "id": task_arn,
            "deviceId": device_arn,
            "requestedShots": shots,
            "successfulShots": per_executable * (total - failed),
            "programMetadata": program_metadata,
            "deviceParameters": dict(device_parameters) if device_parameters else None,
            "createdAt": created_at or _timestamp(datetime.now(UTC)),
            "endedAt": _timestamp(datetime.now(UTC)),
            "status": "COMPLETED",
            "totalFailedExecutables": failed,
        },
        "s3Location": None,
    }
    return json.dumps(doc, separators=(",", ":"))


def _executable_count(program: Mapping[str, Any]) -> int:
    inputs = program.get("inputs") or {}
    return max((len(v) for v in inputs.values()), default=1)


def successful_shots(result: Mapping[str, Any], requested: int) -> int:
    """``numSuccessfulShots`` of a finished task's result document."""
    if result.get("braketSchemaHeader", {}).get("name") == PROGRAM_SET_RESULT_SCHEMA:
        metadata = result.get("taskMetadata")
        if isinstance(metadata, Mapping):
            return int(metadata.get("successfulShots", requested))
    return requested


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


async def result_objects(
    result: Mapping[str, Any], bucket: str, directory: str, result_json: str | None = None
) -> list[tuple[str, bytes]]:
    """The S3 objects (key, body) of a task result, ``results.json`` last (a reader that sees
    it finds everything it points to). Program-set results are spread over Braket's layout
    (encoded in a worker thread); any other result is the one ``results.json``
    (``result_json`` verbatim when given)."""
    if result.get("braketSchemaHeader", {}).get("name") != PROGRAM_SET_RESULT_SCHEMA:
        body = result_json.encode("utf-8") if result_json is not None else _dump(result)
        return [(f"{directory}/results.json", body)]
    return await asyncio.to_thread(_program_set_objects, result, bucket, directory)


def _program_set_objects(
    result: Mapping[str, Any], bucket: str, directory: str
) -> list[tuple[str, bytes]]:
    objects: list[tuple[str, bytes]] = [
        (f"{directory}/metadata.json", _dump(result["taskMetadata"]))
    ]
    references = []
    for i, program in enumerate(result["programResults"]):
        base = f"programs/{i}"
        executables = []
        for j, executable in enumerate(program["executableResults"]):
            objects.append((f"{directory}/{base}/executables/{j}.json", _dump(executable)))
            executables.append(f"executables/{j}.json")
        objects.append((f"{directory}/{base}/program.json", _dump(program["source"])))
        summary = {**program, "executableResults": executables, "source": "program.json"}
        objects.append((f"{directory}/{base}/results.json", _dump(summary)))
        references.append(f"{base}/results.json")
    top = {
        "braketSchemaHeader": result["braketSchemaHeader"],
        "programResults": references,
        "taskMetadata": "metadata.json",
        "s3Location": [bucket, directory],
    }
    objects.append((f"{directory}/results.json", _dump(top)))
    return objects
