"""The local Braket service: Braket's rest-json API on loopback, backed by the real simulator.

``async with LocalBraket() as local:`` then point any Braket client at ``local.endpoint_url``
(and S3 at ``local.s3_endpoint_url``); ``with ThreadedLocalBraket() as local:`` runs it on a
thread of its own, for synchronous code or any event loop. Run it standalone with
``python -m braket_async.local serve``.
"""

from __future__ import annotations

from ._environ import CONFLICTING_VARIABLES
from ._faults import FaultConfig, FaultSpec
from ._jobrun import NoScriptJobRunner
from ._jobseam import JobControl, JobRunner, JobSpec
from ._ledger import Ledger
from ._quotas import Quotas
from ._service import DEFAULT_BUCKET, LocalBraket
from ._synthetic import SyntheticExecutor
from ._threaded import ServiceThread, ThreadedLocalBraket

__all__ = [
    "CONFLICTING_VARIABLES",
    "DEFAULT_BUCKET",
    "FaultConfig",
    "FaultSpec",
    "JobControl",
    "JobRunner",
    "JobSpec",
    "Ledger",
    "LocalBraket",
    "NoScriptJobRunner",
    "Quotas",
    "ServiceThread",
    "SyntheticExecutor",
    "ThreadedLocalBraket",
]
