"""The AWS regions the local service answers for, and the region of the request being served.

Braket is a regional service: a QPU lives in one region (its ARN says which) and is listed,
described and used only by requests signed for that region; the managed simulators are offered
in several (Braket Developer Guide, "Amazon Braket supported regions and devices"). The local
service answers requests signed for any region on one port: the dispatcher sets
:data:`REQUEST_REGION` from the SigV4 credential scope before calling a handler, and the
handlers serve that region's devices. A region Braket does not operate in (a test's
``mars-north-7``) is served as the service's home region (``LocalBraket(region=...)``).
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = [
    "BRAKET_REGIONS",
    "REQUEST_REGION",
    "SIMULATOR_REGIONS",
    "TN1_REGIONS",
    "arn_region",
    "serving_region",
]

#: Regions Braket operates in (devices page of the developer guide, checked 2026-12-03).
BRAKET_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-1", "us-west-2", "eu-west-2", "eu-north-1")
#: Where SV1 and DM1 are offered: every Braket region.
SIMULATOR_REGIONS: frozenset[str] = frozenset(BRAKET_REGIONS)
#: Where TN1 is offered.
TN1_REGIONS: frozenset[str] = frozenset({"us-east-1", "us-west-2", "eu-west-2"})

#: The SigV4 region of the request being handled (None outside a request: the home region).
REQUEST_REGION: ContextVar[str | None] = ContextVar("braket_local_request_region", default=None)


def arn_region(arn: str) -> str:
    """The region field of an ARN (``""`` for region-less simulator ARNs)."""
    parts = arn.split(":", 4)
    return parts[3] if len(parts) > 3 else ""


def serving_region(home: str) -> str:
    """The Braket region whose devices the current request sees: the request's signing region
    when Braket operates there, else ``home``."""
    region = REQUEST_REGION.get()
    return region if region in SIMULATOR_REGIONS else home
