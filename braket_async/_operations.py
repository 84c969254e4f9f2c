"""Operations: one coroutine per Braket operation, models in, models out.

Parameters are keyword-only snake_case mirrors of the wire members (the resource ARN of
Get/Cancel/Tag operations may be positional). Each call checks its parameters against the
service model before anything is sent (:mod:`._validate`), goes through the session's
``invoke`` (rate limiting, error mapping) and structures the answer with the one converter.
The session builds one :class:`Operations` and delegates to it; the other features (waiters,
results, jobs, batches) take it as their dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs

from ._base import Invoke
from ._converter import structure_fn, unstructure
from ._searches import (
    SEARCH_DEVICES,
    SEARCH_JOBS,
    SEARCH_QUANTUM_TASKS,
    SEARCH_SPENDING_LIMITS,
    Search,
)
from ._validate import validate
from .errors import ParameterError, ResponseError
from .models import (
    AlgorithmSpecification,
    Association,
    Device,
    DeviceConfig,
    DeviceFilter,
    ExperimentalCapabilities,
    HybridJobAdditionalAttributeName,
    InputFileConfig,
    InstanceConfig,
    Job,
    JobCancellation,
    JobCheckpointConfig,
    JobFilter,
    JobOutputDataConfig,
    JobStoppingCondition,
    QuantumTask,
    QuantumTaskAdditionalAttributeName,
    QuantumTaskCancellation,
    QuantumTaskFilter,
    SearchDevicesPage,
    SearchJobsPage,
    SearchQuantumTasksPage,
    SearchSpendingLimitsPage,
    SpendingLimitFilter,
    TimePeriod,
)
from .programs import Action, DeviceParameters, coerce_action, coerce_device_parameters

__all__ = [
    "DeviceFilterLike",
    "JobFilterLike",
    "Operations",
    "QuantumTaskFilterLike",
    "SpendingLimitFilterLike",
    "search_params",
    "structure_response",
]

T = TypeVar("T")

QuantumTaskFilterLike = QuantumTaskFilter | Mapping[str, Any]
JobFilterLike = JobFilter | Mapping[str, Any]
DeviceFilterLike = DeviceFilter | Mapping[str, Any]
SpendingLimitFilterLike = SpendingLimitFilter | Mapping[str, Any]

_TASK = structure_fn(QuantumTask)
_JOB = structure_fn(Job)
_DEVICE = structure_fn(Device)
_TASK_CANCEL = structure_fn(QuantumTaskCancellation)
_JOB_CANCEL = structure_fn(JobCancellation)


def structure_response(operation: str, build: Callable[[Any], T], data: Any) -> T:
    """``build(data)``, with a failure reported as :class:`ResponseError`."""
    try:
        return build(data)
    except Exception as exc:  # any shape problem means the response is unusable
        raise ResponseError(
            f"{operation}: the response could not be read ({type(exc).__name__}: {exc})",
            operation=operation,
        ) from exc


def _wire(value: Any) -> Any:
    """Models (or lists of them) as wire data; wire dicts pass through."""
    if attrs.has(type(value)):
        return unstructure(value)
    if isinstance(value, list | tuple):
        # One level only: no shape nests lists of models, and a recursion would let a list
        # nested 100 000 deep raise RecursionError instead of the validator's ParameterError.
        return [unstructure(v) if attrs.has(type(v)) else v for v in value]
    return value


def _filters(filters: Iterable[Any] | None, field: str, operation: str) -> list[Any]:
    if filters is None:
        return []
    if (
        not isinstance(filters, Iterable)
        or isinstance(filters, Mapping | str)
        or attrs.has(type(filters))
    ):
        raise ParameterError(
            field, "must be a list of filters (models or wire dicts)", operation=operation
        )
    return [_wire(f) for f in filters]


def search_params(
    search: Search[Any],
    filters: Iterable[Any] | None,
    max_results: int | None,
    next_token: str | None,
) -> dict[str, Any]:
    """Validated wire parameters of one call of ``search``."""
    params: dict[str, Any] = {}
    wire_filters = _filters(filters, "filters", search.name)
    if wire_filters or search.filters_required:
        params["filters"] = wire_filters
    if max_results is not None:
        params[search.limit_key] = max_results
    if next_token is not None:
        params[search.input_token] = next_token
    validate(search.name, params)
    return params


def _copied(value: Any) -> Any:
    """A mapping as a dict, any other iterable (a string aside) as a list; anything else
    unchanged, for the validator to name (``dict(5)`` would raise a bare TypeError)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return list(value)
    return value


def _tags(tags: Mapping[str, str] | None, params: dict[str, Any]) -> None:
    if tags is not None:
        params["tags"] = _copied(tags)


def _amount(value: str | int | Decimal, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ParameterError(field, f"must be a decimal string, int or Decimal, got {value!r}")
    return value if isinstance(value, str) else format(Decimal(value), "f")


def _hyper_parameters(value: Mapping[str, Any]) -> dict[str, Any]:
    # The wire wants strings; numbers and bools are written the way the SDK writes them.
    return {
        k: str(v) if isinstance(v, int | float | Decimal) and not isinstance(v, str) else v
        for k, v in value.items()
    }


class Operations:
    """A coroutine per operation of Braket's service model (see docs/ARCHITECTURE.md).

    Every method checks its parameters against botocore's Braket model before the network
    (``ParameterError`` naming the field and the rule) and answers typed models. Service errors
    raise the :class:`~braket_async.errors.ServiceError` subclass of their code.

    Args:
        invoke: Sends one operation (model name, wire parameters) and answers the parsed
            response: the session's ``_invoke``, with its rate limiter and error mapping.
    """

    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke

    async def _call_operation(
        self, operation: str, params: dict[str, Any], build: Callable[[Any], T]
    ) -> T:
        """Check ``params`` against the model, send ``operation`` and ``build`` its answer."""
        validate(operation, params)
        return structure_response(operation, build, await self._invoke(operation, params))

    async def search_page(self, search: Search[T], params: dict[str, Any]) -> T:
        """One page of ``search`` for wire ``params`` that :func:`search_params` checked.

        Args:
            search: The row of the Search table (``_searches.py``) of one operation.
            params: Wire parameters, already checked.

        Returns:
            The typed page.
        """
        response = await self._invoke(search.name, params)
        return structure_response(search.name, search.build, response)

    async def _search(
        self,
        search: Search[T],
        filters: Iterable[Any] | None,
        max_results: int | None,
        next_token: str | None,
    ) -> T:
        return await self.search_page(
            search, search_params(search, filters, max_results, next_token)
        )

    # -- quantum tasks -----------------------------------------------------------------------

    async def create_quantum_task(
        self,
        *,
        device_arn: str,
        action: Action,
        shots: int,
        output_s3_bucket: str,
        output_s3_key_prefix: str,
        device_parameters: DeviceParameters = None,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
        job_token: str | None = None,
        associations: Sequence[Association | Mapping[str, Any]] | None = None,
        experimental_capabilities: ExperimentalCapabilities | Mapping[str, Any] | None = None,
    ) -> str:
        """Create a quantum task (CreateQuantumTask).

        Args:
            device_arn: The device to run on.
            action: The program: OpenQASM source text, an ``OpenQASMProgram``, an action
                document (mapping or JSON string) or a Braket SDK program (``to_ir()``).
            shots: Shots to run (0 for result types computed exactly, on simulators).
            output_s3_bucket: Bucket the service writes the result to.
            output_s3_key_prefix: Key prefix of the result's directory.
            device_parameters: Device parameters (mapping, JSON string, SDK model) or None.
            client_token: Idempotency key; botocore generates one when None.
            tags: Tags of the task.
            job_token: The hybrid job's token, for tasks created inside a job.
            associations: Reservations (``Association`` or wire dicts).
            experimental_capabilities: Experimental capabilities to enable.

        Returns:
            The new task's ARN.

        Raises:
            ParameterError: A parameter breaks the service model's rules.
            ValidationException: The service refused the program or its parameters.
            ServiceQuotaExceededException: Too many tasks in flight.
        """
        params: dict[str, Any] = {
            "deviceArn": device_arn,
            "action": coerce_action(action),
            "shots": shots,
            "outputS3Bucket": output_s3_bucket,
            "outputS3KeyPrefix": output_s3_key_prefix,
        }
        parameters = coerce_device_parameters(device_parameters)
        if parameters is not None:
            params["deviceParameters"] = parameters
        if client_token is not None:
            params["clientToken"] = client_token
        _tags(tags, params)
        if job_token is not None:
            params["jobToken"] = job_token
        if associations is not None:
            params["associations"] = _wire(list(associations))
        if experimental_capabilities is not None:
            params["experimentalCapabilities"] = _wire(experimental_capabilities)
        return await self._call_operation("CreateQuantumTask", params, _TASK_ARN_OF)

    async def get_quantum_task(
        self,
        quantum_task_arn: str,
        *,
        additional_attribute_names: Sequence[
            QuantumTaskAdditionalAttributeName | Literal["QueueInfo"]
        ]
        | None = None,
    ) -> QuantumTask:
        """Get a quantum task (GetQuantumTask).

        Args:
            quantum_task_arn: The task's ARN.
            additional_attribute_names: ``["QueueInfo"]`` adds its queue position.

        Returns:
            The task.

        Raises:
            InvalidArnError: Not a quantum-task ARN.
            ResourceNotFoundException: No such task.
        """
        params: dict[str, Any] = {"quantumTaskArn": quantum_task_arn}
        if additional_attribute_names is not None:
            params["additionalAttributeNames"] = _copied(additional_attribute_names)
        return await self._call_operation("GetQuantumTask", params, _TASK)

    async def cancel_quantum_task(
        self, quantum_task_arn: str, *, client_token: str | None = None
    ) -> QuantumTaskCancellation:
        """Ask the service to cancel a quantum task (CancelQuantumTask).

        Args:
            quantum_task_arn: The task's ARN.
            client_token: Idempotency key; botocore generates one when None.

        Returns:
            The cancellation (its status: CANCELLING or CANCELLED).

        Raises:
            ResourceNotFoundException: No such task.
            ConflictException: The task has already ended.
        """
        params: dict[str, Any] = {"quantumTaskArn": quantum_task_arn}
        if client_token is not None:
            params["clientToken"] = client_token
        return await self._call_operation("CancelQuantumTask", params, _TASK_CANCEL)

    async def search_quantum_tasks(
        self,
        *,
        filters: Iterable[QuantumTaskFilterLike],
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchQuantumTasksPage:
        """One page of quantum tasks matching ``filters`` (SearchQuantumTasks), newest first;
        ``iter_quantum_tasks`` pages through them all.

        Args:
            filters: ``QuantumTaskFilter`` models or wire dicts (1 to 10).
            max_results: Page size (1 to 100).
            next_token: The previous page's ``next_token``.

        Returns:
            The page (``quantum_tasks``, ``next_token``).
        """
        return await self._search(SEARCH_QUANTUM_TASKS, filters, max_results, next_token)

    # -- hybrid jobs -------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        algorithm_specification: AlgorithmSpecification | Mapping[str, Any],
        instance_config: InstanceConfig | Mapping[str, Any],
        job_name: str,
        output_data_config: JobOutputDataConfig | Mapping[str, Any],
        role_arn: str,
        device_config: DeviceConfig | Mapping[str, Any],
        checkpoint_config: JobCheckpointConfig | Mapping[str, Any] | None = None,
        client_token: str | None = None,
        hyper_parameters: Mapping[str, Any] | None = None,
        input_data_config: Sequence[InputFileConfig | Mapping[str, Any]] | None = None,
        stopping_condition: JobStoppingCondition | Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        associations: Sequence[Association | Mapping[str, Any]] | None = None,
    ) -> str:
        """Create a hybrid job (CreateJob); ``create_hybrid_job`` uploads a script first.

        Configuration arguments take models (``InstanceConfig(...)``) or wire dicts.

        Args:
            algorithm_specification: The script (or container image) the job runs.
            instance_config: The instance type, count and volume.
            job_name: The job's name (unique in the account).
            output_data_config: Where results go (``s3Path``).
            role_arn: The IAM role the job runs as.
            device_config: The device the job's tasks use.
            checkpoint_config: Where checkpoints go.
            client_token: Idempotency key; botocore generates one when None.
            hyper_parameters: Hyperparameters (numbers are sent as strings).
            input_data_config: Input channels.
            stopping_condition: The job's time limit.
            tags: Tags of the job.
            associations: Reservations.

        Returns:
            The new job's ARN.

        Raises:
            ParameterError: A parameter breaks the service model's rules.
            ValidationException: The service refused the request.
        """
        params: dict[str, Any] = {
            "algorithmSpecification": _wire(algorithm_specification),
            "instanceConfig": _wire(instance_config),
            "jobName": job_name,
            "outputDataConfig": _wire(output_data_config),
            "roleArn": role_arn,
            "deviceConfig": _wire(device_config),
        }
        if checkpoint_config is not None:
            params["checkpointConfig"] = _wire(checkpoint_config)
        if client_token is not None:
            params["clientToken"] = client_token
        if hyper_parameters is not None:
            params["hyperParameters"] = _hyper_parameters(hyper_parameters)
        if input_data_config is not None:
            params["inputDataConfig"] = _wire(list(input_data_config))
        if stopping_condition is not None:
            params["stoppingCondition"] = _wire(stopping_condition)
        _tags(tags, params)
        if associations is not None:
            params["associations"] = _wire(list(associations))
        return await self._call_operation("CreateJob", params, _JOB_ARN_OF)

    async def get_job(
        self,
        job_arn: str,
        *,
        additional_attribute_names: Sequence[
            HybridJobAdditionalAttributeName | Literal["QueueInfo"]
        ]
        | None = None,
    ) -> Job:
        """Get a hybrid job (GetJob), with at most its latest 20 events.

        Args:
            job_arn: The job's ARN.
            additional_attribute_names: ``["QueueInfo"]`` adds its queue position.

        Returns:
            The job.

        Raises:
            ResourceNotFoundException: No such job.
        """
        params: dict[str, Any] = {"jobArn": job_arn}
        if additional_attribute_names is not None:
            params["additionalAttributeNames"] = _copied(additional_attribute_names)
        return await self._call_operation("GetJob", params, _JOB)

    async def cancel_job(self, job_arn: str) -> JobCancellation:
        """Ask the service to cancel a hybrid job (CancelJob).

        Args:
            job_arn: The job's ARN.

        Returns:
            The cancellation.

        Raises:
            ResourceNotFoundException: No such job.
            ConflictException: The job has already ended.
        """
        params: dict[str, Any] = {"jobArn": job_arn}
        return await self._call_operation("CancelJob", params, _JOB_CANCEL)

    async def search_jobs(
        self,
        *,
        filters: Iterable[JobFilterLike],
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchJobsPage:
        """One page of hybrid jobs matching ``filters`` (SearchJobs); ``iter_jobs`` pages
        through them all.

        Args:
            filters: ``JobFilter`` models or wire dicts.
            max_results: Page size (1 to 100).
            next_token: The previous page's ``next_token``.

        Returns:
            The page (``jobs``, ``next_token``).
        """
        return await self._search(SEARCH_JOBS, filters, max_results, next_token)

    # -- devices -----------------------------------------------------------------------------

    async def get_device(self, device_arn: str) -> Device:
        """Get a device (GetDevice): its status, queue sizes and capabilities.

        Args:
            device_arn: The device's ARN.

        Returns:
            The device (``capabilities`` parsed from the wire's JSON string on first use).

        Raises:
            ResourceNotFoundException: No such device.
        """
        params: dict[str, Any] = {"deviceArn": device_arn}
        return await self._call_operation("GetDevice", params, _DEVICE)

    async def search_devices(
        self,
        *,
        filters: Iterable[DeviceFilterLike] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchDevicesPage:
        """One page of devices (SearchDevices); all of them without ``filters``.

        Args:
            filters: ``DeviceFilter`` models or wire dicts.
            max_results: Page size (1 to 100).
            next_token: The previous page's ``next_token``.

        Returns:
            The page (``devices``, ``next_token``).
        """
        return await self._search(SEARCH_DEVICES, filters, max_results, next_token)

    # -- tags --------------------------------------------------------------------------------

    async def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        """The tags of a task, job or spending limit (ListTagsForResource).

        Args:
            resource_arn: The resource's ARN.

        Returns:
            Tag keys to values.
        """
        params: dict[str, Any] = {"resourceArn": resource_arn}
        return await self._call_operation("ListTagsForResource", params, _tag_map)

    async def tag_resource(self, resource_arn: str, *, tags: Mapping[str, str]) -> None:
        """Add (or overwrite) tags on a resource (TagResource).

        Args:
            resource_arn: The resource's ARN.
            tags: Tag keys to values.
        """
        params: dict[str, Any] = {"resourceArn": resource_arn, "tags": _copied(tags)}
        await self._call_operation("TagResource", params, _no_answer)

    async def untag_resource(self, resource_arn: str, *, tag_keys: Sequence[str]) -> None:
        """Remove tags from a resource (UntagResource).

        Args:
            resource_arn: The resource's ARN.
            tag_keys: The keys to remove (a list, not a single string).

        Raises:
            ParameterError: ``tag_keys`` is a string.
        """
        if isinstance(tag_keys, str):
            raise ParameterError("tag_keys", "must be a list of tag keys, not a single string")
        params: dict[str, Any] = {"resourceArn": resource_arn, "tagKeys": _copied(tag_keys)}
        await self._call_operation("UntagResource", params, _no_answer)

    # -- spending limits ---------------------------------------------------------------------

    async def create_spending_limit(
        self,
        *,
        device_arn: str,
        spending_limit: str | int | Decimal,
        time_period: TimePeriod | Mapping[str, Any] | None = None,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Create a spending limit for a device (CreateSpendingLimit).

        Args:
            device_arn: The device the limit applies to.
            spending_limit: The amount in USD (a decimal string, int or ``Decimal``).
            time_period: The period it covers.
            client_token: Idempotency key; botocore generates one when None.
            tags: Tags of the limit.

        Returns:
            The new spending limit's ARN.
        """
        params: dict[str, Any] = {
            "deviceArn": device_arn,
            "spendingLimit": _amount(spending_limit, "spending_limit"),
        }
        if time_period is not None:
            params["timePeriod"] = _wire(time_period)
        if client_token is not None:
            params["clientToken"] = client_token
        _tags(tags, params)
        return await self._call_operation("CreateSpendingLimit", params, _LIMIT_ARN_OF)

    async def update_spending_limit(
        self,
        spending_limit_arn: str,
        *,
        spending_limit: str | int | Decimal | None = None,
        time_period: TimePeriod | Mapping[str, Any] | None = None,
        client_token: str | None = None,
    ) -> None:
        """Change a spending limit's amount and/or period (UpdateSpendingLimit).

        Args:
            spending_limit_arn: The limit's ARN.
            spending_limit: The new amount in USD.
            time_period: The new period.
            client_token: Idempotency key; botocore generates one when None.
        """
        params: dict[str, Any] = {"spendingLimitArn": spending_limit_arn}
        if spending_limit is not None:
            params["spendingLimit"] = _amount(spending_limit, "spending_limit")
        if time_period is not None:
            params["timePeriod"] = _wire(time_period)
        if client_token is not None:
            params["clientToken"] = client_token
        await self._call_operation("UpdateSpendingLimit", params, _no_answer)

    async def delete_spending_limit(self, spending_limit_arn: str) -> None:
        """Delete a spending limit (DeleteSpendingLimit).

        Args:
            spending_limit_arn: The limit's ARN.
        """
        params: dict[str, Any] = {"spendingLimitArn": spending_limit_arn}
        await self._call_operation("DeleteSpendingLimit", params, _no_answer)

    async def search_spending_limits(
        self,
        *,
        filters: Iterable[SpendingLimitFilterLike] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchSpendingLimitsPage:
        """One page of spending limits (SearchSpendingLimits).

        Args:
            filters: ``SpendingLimitFilter`` models or wire dicts.
            max_results: Page size (1 to 100).
            next_token: The previous page's ``next_token``.

        Returns:
            The page (``spending_limits``, ``next_token``).
        """
        return await self._search(SEARCH_SPENDING_LIMITS, filters, max_results, next_token)


def _arn(member: str) -> Callable[[Any], str]:
    def read(data: Any) -> str:
        value = data[member]
        if not isinstance(value, str):
            raise TypeError(f"{member} is {type(value).__name__}, not a string")
        return value

    return read


_TASK_ARN_OF = _arn("quantumTaskArn")
_JOB_ARN_OF = _arn("jobArn")
_LIMIT_ARN_OF = _arn("spendingLimitArn")


def _no_answer(data: Any) -> None:
    """The answer of an operation whose response has nothing to read."""


def _tag_map(data: Any) -> dict[str, str]:
    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        raise TypeError(f"tags is {type(tags).__name__}, not an object")
    return {str(k): str(v) for k, v in tags.items()}
