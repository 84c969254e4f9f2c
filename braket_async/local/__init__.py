"""The local Braket service: Braket's rest-json API on loopback, backed by the real simulator.

``async with LocalBraket() as local:`` then point any Braket client at ``local.endpoint_url``
(and S3 at ``local.s3_endpoint_url``); ``with ThreadedLocalBraket() as local:`` runs it on a
thread of its own, for synchronous code or any event loop. Run it standalone with
``python -m braket_async.local serve``.
"""

from __future__ import annotations

from ._extra import require_local_extra

require_local_extra()  # before anything that needs it is imported or started

from ._environ import CONFLICTING_VARIABLES  # noqa: E402
from ._faults import FaultConfig, FaultSpec  # noqa: E402
from ._jobrun import NoScriptJobRunner  # noqa: E402
from ._jobseam import JobControl, JobRunner, JobSpec  # noqa: E402
from ._ledger import Ledger  # noqa: E402
from ._qpu_queue import QpuQueue  # noqa: E402
from ._quotas import Quotas  # noqa: E402
from ._service import DEFAULT_BUCKET, LocalBraket  # noqa: E402
from ._synthetic import SyntheticExecutor  # noqa: E402
from ._threaded import ServiceThread, ThreadedLocalBraket  # noqa: E402

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
    "QpuQueue",
    "Quotas",
    "ServiceThread",
    "SyntheticExecutor",
    "ThreadedLocalBraket",
]
