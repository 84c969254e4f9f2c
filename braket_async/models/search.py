"""Search filters (request side) and typed Search* pages (response side).

Filters are accepted by the ``search_*`` / ``iter_*`` methods as these models or as wire dicts
(``{"name": ..., "operator": ..., "values": [...]}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal, TypeAlias, get_args

import attrs

from .devices import DeviceSummary
from .enums import FilterOperator, QuantumTaskStatus
from .jobs import JobSummary
from .spending import SpendingLimit
from .tasks import QuantumTaskSummary

__all__ = [
    "DeviceFilter",
    "DeviceFilterName",
    "JobFilter",
    "JobFilterName",
    "Operator",
    "QuantumTaskFilter",
    "QuantumTaskFilterName",
    "QuantumTaskStatusName",
    "SearchDevicesPage",
    "SearchJobsPage",
    "SearchQuantumTasksPage",
    "SearchSpendingLimitsPage",
    "SpendingLimitFilter",
    "SpendingLimitFilterName",
]


# Filter names and operators each search accepts (botocore's Braket model names the members;
# the service documents the names). A typo is refused before the network: the service would
# answer no results at all, not an error.
QuantumTaskFilterName: TypeAlias = Literal[
    "quantumTaskArn", "deviceArn", "jobArn", "status", "createdAt"
]
"""The names a ``QuantumTaskFilter`` accepts."""
JobFilterName: TypeAlias = Literal["jobArn", "createdAt"]
"""The names a ``JobFilter`` accepts."""
DeviceFilterName: TypeAlias = Literal["deviceArn"]
"""The name a ``DeviceFilter`` accepts."""
SpendingLimitFilterName: TypeAlias = Literal["deviceArn"]
"""The name a ``SpendingLimitFilter`` accepts."""
Operator: TypeAlias = (
    FilterOperator | Literal["LT", "LTE", "EQUAL", "GT", "GTE", "BETWEEN", "CONTAINS"]
)
"""A filter operator, as the enum or its value."""
QuantumTaskStatusName: TypeAlias = (
    QuantumTaskStatus
    | Literal["CREATED", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLING", "CANCELLED"]
)
"""A task status, as the enum or its value."""

_TASK_OPERATORS = frozenset(FilterOperator) - {FilterOperator.CONTAINS}
_JOB_OPERATORS = frozenset(FilterOperator)
_SPENDING_OPERATORS = frozenset({FilterOperator.EQUAL})


def _values(values: Iterable[str | datetime] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(v.isoformat() if isinstance(v, datetime) else str(v) for v in values)


def _operator(value: Operator) -> FilterOperator:
    return FilterOperator(value)


def _one_of(field: str, value: str, allowed: Iterable[str]) -> None:
    if value not in allowed:
        from ..errors import ParameterError  # errors imports models: import when needed

        raise ParameterError(field, f"must be one of {sorted(allowed)}, got {value!r}")


def _check_name(names: Any) -> Callable[[Any, Any, str], None]:
    """The validator of a filter's ``name``: one of the ``Literal`` type ``names``."""
    allowed = frozenset(get_args(names))

    def check(instance: Any, attribute: Any, value: str) -> None:
        _one_of(f"{type(instance).__name__}.name", value, allowed)

    return check


def _check_operator(
    allowed: frozenset[FilterOperator],
) -> Callable[[Any, Any, FilterOperator], None]:
    def check(instance: Any, attribute: Any, value: FilterOperator) -> None:
        _one_of(f"{type(instance).__name__}.operator", value, {str(o) for o in allowed})

    return check


@attrs.frozen
class QuantumTaskFilter:
    """A SearchQuantumTasks filter.

    ``name``: quantumTaskArn, deviceArn, jobArn, status or createdAt; ``operator``: LT, LTE,
    EQUAL, GT, GTE, BETWEEN; 1 to 10 ``values``. Names, operators and the values of a
    ``status`` filter are checked when the filter is built: an unknown one raises
    :class:`~braket_async.errors.ParameterError` naming the allowed ones.
    """

    name: QuantumTaskFilterName = attrs.field(validator=_check_name(QuantumTaskFilterName))
    operator: FilterOperator = attrs.field(
        converter=_operator, validator=_check_operator(_TASK_OPERATORS)
    )
    values: tuple[str, ...] = attrs.field(converter=_values)

    def __attrs_post_init__(self) -> None:
        if self.name == "status":
            for value in self.values:
                _one_of("QuantumTaskFilter.values", value, {str(s) for s in QuantumTaskStatus})

    @classmethod
    def status(cls, *statuses: QuantumTaskStatusName) -> QuantumTaskFilter:
        """Tasks whose status is any of ``statuses`` (one EQUAL filter).

        Args:
            *statuses: :class:`~braket_async.models.QuantumTaskStatus` members or their
                values (``"COMPLETED"``).

        Returns:
            The filter.

        Raises:
            ParameterError: a status that is not one of the service's.
        """
        return cls("status", FilterOperator.EQUAL, statuses)

    @classmethod
    def device(cls, device_arn: str) -> QuantumTaskFilter:
        """Tasks of one device.

        Args:
            device_arn: The device's ARN.

        Returns:
            The filter.
        """
        return cls("deviceArn", FilterOperator.EQUAL, (device_arn,))

    @classmethod
    def job(cls, job_arn: str) -> QuantumTaskFilter:
        """Tasks created by one hybrid job.

        Args:
            job_arn: The job's ARN.

        Returns:
            The filter.
        """
        return cls("jobArn", FilterOperator.EQUAL, (job_arn,))

    @classmethod
    def quantum_task_arns(cls, *arns: str) -> QuantumTaskFilter:
        """Tasks with any of these ARNs (up to 10).

        Args:
            *arns: Task ARNs.

        Returns:
            The filter.
        """
        return cls("quantumTaskArn", FilterOperator.EQUAL, arns)

    @classmethod
    def created_after(cls, when: datetime) -> QuantumTaskFilter:
        """Tasks created at or after ``when``.

        Args:
            when: An aware datetime.

        Returns:
            The filter.
        """
        return cls("createdAt", FilterOperator.GTE, (when,))


@attrs.frozen
class JobFilter:
    """A SearchJobs filter (``name``: jobArn or createdAt; operators include CONTAINS)."""

    name: JobFilterName = attrs.field(validator=_check_name(JobFilterName))
    operator: FilterOperator = attrs.field(
        converter=_operator, validator=_check_operator(_JOB_OPERATORS)
    )
    values: tuple[str, ...] = attrs.field(converter=_values)


@attrs.frozen
class DeviceFilter:
    """A SearchDevices filter (``name``: deviceArn; no operator)."""

    name: DeviceFilterName = attrs.field(validator=_check_name(DeviceFilterName))
    values: tuple[str, ...] = attrs.field(converter=_values)


@attrs.frozen
class SpendingLimitFilter:
    """A SearchSpendingLimits filter (``name``: deviceArn; operator EQUAL)."""

    name: SpendingLimitFilterName = attrs.field(validator=_check_name(SpendingLimitFilterName))
    values: tuple[str, ...] = attrs.field(converter=_values)
    operator: FilterOperator = attrs.field(
        default=FilterOperator.EQUAL,
        converter=_operator,
        validator=_check_operator(_SPENDING_OPERATORS),
    )


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
