"""Search filters (request side) and typed Search* pages (response side).

Filters are accepted by the ``search_*`` / ``iter_*`` methods as these models or as wire dicts
(``{"name": ..., "operator": ..., "values": [...]}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from .devices import DeviceSummary
from .enums import FilterOperator
from .jobs import JobSummary
from .spending import SpendingLimit
from .tasks import QuantumTaskSummary

__all__ = [
    "DeviceFilter",
    "JobFilter",
    "QuantumTaskFilter",
    "SearchDevicesPage",
    "SearchJobsPage",
    "SearchQuantumTasksPage",
    "SearchSpendingLimitsPage",
    "SpendingLimitFilter",
]


def _values(values: Iterable[str | datetime] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(v.isoformat() if isinstance(v, datetime) else str(v) for v in values)


@attrs.frozen
class QuantumTaskFilter:
    """A SearchQuantumTasks filter.

    ``name``: quantumTaskArn, deviceArn, jobArn, status or createdAt; ``operator``: LT, LTE,
    EQUAL, GT, GTE, BETWEEN; 1 to 10 ``values``.
    """

    name: str
    operator: FilterOperator = attrs.field(converter=FilterOperator)
    values: tuple[str, ...] = attrs.field(converter=_values)

    @classmethod
    def status(cls, *statuses: str) -> QuantumTaskFilter:
        """Tasks whose status is any of ``statuses`` (one EQUAL filter)."""
        return cls("status", FilterOperator.EQUAL, statuses)

    @classmethod
    def device(cls, device_arn: str) -> QuantumTaskFilter:
        """Tasks of one device."""
        return cls("deviceArn", FilterOperator.EQUAL, (device_arn,))

    @classmethod
    def job(cls, job_arn: str) -> QuantumTaskFilter:
        """Tasks created by one hybrid job."""
        return cls("jobArn", FilterOperator.EQUAL, (job_arn,))

    @classmethod
    def quantum_task_arns(cls, *arns: str) -> QuantumTaskFilter:
        """Tasks with any of these ARNs (up to 10)."""
        return cls("quantumTaskArn", FilterOperator.EQUAL, arns)

    @classmethod
    def created_after(cls, when: datetime) -> QuantumTaskFilter:
        """Tasks created at or after ``when``."""
        return cls("createdAt", FilterOperator.GTE, (when,))


@attrs.frozen
class JobFilter:
    """A SearchJobs filter (``name``: jobArn or createdAt; operators include CONTAINS)."""

    name: str
    operator: FilterOperator = attrs.field(converter=FilterOperator)
    values: tuple[str, ...] = attrs.field(converter=_values)


@attrs.frozen
class DeviceFilter:
    """A SearchDevices filter (``name``: deviceArn; no operator)."""

    name: str
    values: tuple[str, ...] = attrs.field(converter=_values)


@attrs.frozen
class SpendingLimitFilter:
    """A SearchSpendingLimits filter (``name``: deviceArn; operator EQUAL)."""

    name: str
    values: tuple[str, ...] = attrs.field(converter=_values)
    operator: FilterOperator = attrs.field(default=FilterOperator.EQUAL, converter=FilterOperator)


@attrs.frozen
class SearchQuantumTasksPage:
    """One page of SearchQuantumTasks; ``next_token`` is None on the last page."""

    quantum_tasks: tuple[QuantumTaskSummary, ...] = ()
    next_token: str | None = None


@attrs.frozen
class SearchJobsPage:
    """One page of SearchJobs."""

    jobs: tuple[JobSummary, ...] = ()
    next_token: str | None = None


@attrs.frozen
class SearchDevicesPage:
    """One page of SearchDevices."""

    devices: tuple[DeviceSummary, ...] = ()
    next_token: str | None = None


@attrs.frozen
class SearchSpendingLimitsPage:
    """One page of SearchSpendingLimits."""

    spending_limits: tuple[SpendingLimit, ...] = ()
    next_token: str | None = None
