"""A small FastAPI service on braket-async: run a Bell pair on SV1 and return its counts.

Its Braket session reads the usual AWS settings from the environment (``AWS_ENDPOINT_URL_*``,
region, credentials) and the output bucket from ``BRAKET_OUTPUT_BUCKET``, so the same code runs
on AWS and, in ``test_app.py``, against the local Braket service of the pytest plugin.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from braket_async.contrib.fastapi import BraketDep, braket_lifespan
from braket_async.errors import BraketError

__all__ = ["SV1", "create_app"]

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"


def create_app() -> FastAPI:
    """The app; one ``BraketSession`` for its lifetime (settings from the environment)."""
    app = FastAPI(lifespan=braket_lifespan())

    @app.exception_handler(BraketError)
    async def braket_failed(_request: Request, exc: BraketError) -> JSONResponse:
        # Braket's own error code, after the session's retries: a bad gateway for our callers
        return JSONResponse({"braket_error": exc.code}, status_code=502)

    @app.get("/devices/sv1")
    async def sv1_status(braket: BraketDep) -> dict[str, str]:
        return {"status": str((await braket.get_device(SV1)).device_status)}

    @app.post("/bell")
    async def bell(
        braket: BraketDep, shots: Annotated[int, Query(ge=1, le=100_000)] = 100
    ) -> dict[str, object]:
        arn = await braket.create_quantum_task(
            device_arn=SV1,
            action=BELL,
            shots=shots,
            output_s3_bucket=os.environ["BRAKET_OUTPUT_BUCKET"],
            output_s3_key_prefix="bell",
        )
        result = await braket.get_quantum_task_result(arn, wait=True, timeout=120)
        return {"task_arn": arn, "counts": dict(result.gate_model().counts)}

    return app
