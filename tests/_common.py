"""Test helpers shared by several test modules: device ARN, a Bell program, a session on a
local service, a hand-moved clock."""

from __future__ import annotations

from typing import Any

from braket_async import BraketSession
from braket_async.local import LocalBraket

__all__ = ["BELL", "SV1", "FakeClock", "session_on"]

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;"


def session_on(local: LocalBraket, **kwargs: Any) -> BraketSession:
    """A session on ``local`` (Braket and S3) with test credentials; use it as
    ``async with session_on(local) as braket:``."""
    return BraketSession(
        endpoint_url=local.endpoint_url,
        s3_endpoint_url=local.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


class FakeClock:
    """A clock that moves only when a test sets or advances ``now``."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
