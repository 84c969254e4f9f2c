"""Every Braket operation through the public API, over real loopback HTTP to the local service.

Each test proves the request (what the service stored or counted) and the typed response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from _common import BELL, SV1, session_on

from braket_async import (
    BraketSession,
    DeviceOfflineException,
    DeviceRetiredException,
    InvalidArnError,
    OpenQASMProgram,
    ParameterError,
    QuantumTaskFilter,
    RateLimits,
    ResourceNotFoundException,
    ValidationException,
    gate_model_parameters,
)
from braket_async.local import LocalBraket, NoScriptJobRunner
from braket_async.models import (
    AlgorithmSpecification,
    CancellationStatus,
    Device,
    DeviceConfig,
    DeviceStatus,
    DeviceType,
    InputFileConfig,
    InstanceConfig,
    Job,
    JobCheckpointConfig,
    JobEventType,
    JobFilter,
    JobOutputDataConfig,
    JobStatus,
    JobStoppingCondition,
    QuantumTask,
    QuantumTaskStatus,
    QueueName,
    S3DataSource,
    ScriptModeConfig,
    SpendingLimitFilter,
    TimePeriod,
)
from braket_async.models.jobs import DataSource

OFFLINE_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
# Spending limits go on a QPU no test runs tasks on (the limits are per device).
LIMITED_QPU = OFFLINE_QPU
RETIRED_QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
ROLE = "arn:aws:iam::123456789012:role/braket-local"
MISSING_TASK = (
    "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000000"
)


@pytest.fixture
def local(local_braket: LocalBraket) -> LocalBraket:
    """The session's shared service (tests count calls as ledger deltas)."""
    return local_braket


def open_session(local: LocalBraket) -> BraketSession:
    return session_on(local, rate_limits=RateLimits.off())


@pytest.fixture
async def session(local: LocalBraket) -> AsyncIterator[BraketSession]:
    async with open_session(local) as braket:
        yield braket


class Calls:
    """Calls per operation the service counted since this object was made."""

    def __init__(self, local: LocalBraket) -> None:
        self._local = local
        self._before = dict(local.ledger.snapshot()["calls"])

    def __getitem__(self, operation: str) -> int:
        now = self._local.ledger.snapshot()["calls"].get(operation, 0)
        return int(now - self._before.get(operation, 0))


async def create_bell(session: BraketSession, local: LocalBraket, **kwargs: Any) -> str:
    params: dict[str, Any] = {
        "device_arn": SV1,
        "action": OpenQASMProgram(BELL),
        "shots": 10,
        "output_s3_bucket": local.default_bucket,
        "output_s3_key_prefix": "ops",
    }
    params.update(kwargs)
    return await session.create_quantum_task(**params)


async def until_terminal(session: BraketSession, arn: str) -> QuantumTask:
    for _ in range(400):
        task = await session.get_quantum_task(arn)
        if task.is_terminal:
            return task
        await asyncio.sleep(0.01)
    raise AssertionError(f"{arn} did not finish")


# -- quantum tasks ---------------------------------------------------------------------------


async def test_create_quantum_task_sends_every_member(
    session: BraketSession, local: LocalBraket
) -> None:
    calls = Calls(local)
    arn = await create_bell(
        session,
        local,
        device_parameters=gate_model_parameters(2),
        tags={"team": "q"},
        client_token="tok-create-1",
    )
    assert arn.startswith("arn:aws:braket:us-east-1:123456789012:quantum-task/")
    assert calls["CreateQuantumTask"] == 1
    task = await session.get_quantum_task(arn)
    assert task.tags == {"team": "q"}
    assert task.device_parameters_json["paradigmParameters"]["qubitCount"] == 2
    assert task.output_s3_directory.startswith("ops/")
    # Same client token, same task: the idempotency key went on the wire.
    again = await create_bell(session, local, client_token="tok-create-1",
                              device_parameters=gate_model_parameters(2), tags={"team": "q"})
    assert again == arn


async def test_get_quantum_task_returns_typed_model(
    session: BraketSession, local: LocalBraket
) -> None:
    arn = await create_bell(session, local)
    task = await until_terminal(session, arn)
    assert task.quantum_task_arn == arn
    assert task.status is QuantumTaskStatus.COMPLETED
    assert task.shots == 10
    assert task.num_successful_shots == 10
    assert task.created_at.tzinfo is UTC and task.ended_at is not None
    assert task.ended_at >= task.created_at
    assert task.action_metadata is not None
    assert task.action_metadata.action_type == "braket.ir.openqasm.program"
    with_queue = await session.get_quantum_task(arn, additional_attribute_names=["QueueInfo"])
    assert with_queue.queue_info is not None
    assert with_queue.queue_info.queue is QueueName.QUANTUM_TASKS_QUEUE


async def test_get_quantum_task_unknown_arn_is_resource_not_found(
    session: BraketSession,
) -> None:
    with pytest.raises(ResourceNotFoundException) as info:
        await session.get_quantum_task(MISSING_TASK)
    assert info.value.status_code == 404
    assert info.value.operation == "GetQuantumTask"
    assert info.value.request_id


async def test_cancel_quantum_task(make_local: Any) -> None:
    slow: LocalBraket = await make_local(queue_delay=30.0)
    async with BraketSession(
        endpoint_url=slow.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ) as braket:
        arn = await create_bell(braket, slow)
        cancellation = await braket.cancel_quantum_task(arn)
        assert cancellation.quantum_task_arn == arn
        assert cancellation.cancellation_status in (
            CancellationStatus.CANCELLING, CancellationStatus.CANCELLED
        )
        task = await braket.get_quantum_task(arn)
        assert task.status in (QuantumTaskStatus.CANCELLING, QuantumTaskStatus.CANCELLED)
        assert slow.ledger.snapshot()["calls"]["CancelQuantumTask"] == 1


async def test_search_quantum_tasks(session: BraketSession, local: LocalBraket) -> None:
    arns = [await create_bell(session, local, tags={"n": str(i)}) for i in range(3)]
    page = await session.search_quantum_tasks(
        filters=[QuantumTaskFilter.quantum_task_arns(*arns)], max_results=2
    )
    assert len(page.quantum_tasks) == 2 and page.next_token is not None
    rest = await session.search_quantum_tasks(
        filters=[{"name": "quantumTaskArn", "operator": "EQUAL", "values": arns}],
        next_token=page.next_token,
    )
    found = {t.quantum_task_arn for t in page.quantum_tasks + rest.quantum_tasks}
    assert found == set(arns)
    assert rest.next_token is None
    assert all(t.device_arn == SV1 and t.shots == 10 for t in rest.quantum_tasks)


async def test_create_quantum_task_on_offline_and_retired_devices(
    session: BraketSession, local: LocalBraket
) -> None:
    with pytest.raises(DeviceOfflineException) as offline:
        await create_bell(session, local, device_arn=OFFLINE_QPU)
    assert offline.value.status_code == 424
    with pytest.raises(DeviceRetiredException):
        await create_bell(session, local, device_arn=RETIRED_QPU)


async def test_service_validation_exception_carries_code_and_status(
    session: BraketSession, local: LocalBraket
) -> None:
    with pytest.raises(ValidationException) as info:
        await create_bell(session, local, output_s3_bucket="no-such-bucket-here")
    assert info.value.code == "ValidationException"
    assert info.value.status_code == 400


# -- devices ---------------------------------------------------------------------------------


async def test_get_device(session: BraketSession, local: LocalBraket) -> None:
    calls = Calls(local)
    device = await session.get_device(SV1)
    assert isinstance(device, Device)
    assert device.device_arn == SV1
    assert device.device_type is DeviceType.SIMULATOR
    assert device.device_status is DeviceStatus.ONLINE
    assert json.loads(device.device_capabilities) == device.capabilities
    assert "action" in device.capabilities
    assert {q.queue for q in device.device_queue_info} <= set(QueueName)
    assert calls["GetDevice"] == 1


async def test_search_devices(session: BraketSession) -> None:
    everything = await session.search_devices()
    arns = {d.device_arn for d in everything.devices}
    assert SV1 in arns and OFFLINE_QPU in arns
    one = await session.search_devices(filters=[{"name": "deviceArn", "values": [SV1]}])
    assert [d.device_arn for d in one.devices] == [SV1]


# -- tags ------------------------------------------------------------------------------------


async def test_tag_list_untag(session: BraketSession, local: LocalBraket) -> None:
    calls = Calls(local)
    arn = await create_bell(session, local, tags={"keep": "1"})
    assert await session.list_tags_for_resource(arn) == {"keep": "1"}
    assert await session.tag_resource(arn, tags={"a": "x", "b": "y"}) is None
    assert await session.list_tags_for_resource(arn) == {"keep": "1", "a": "x", "b": "y"}
    assert await session.untag_resource(arn, tag_keys=["a", "keep"]) is None
    assert await session.list_tags_for_resource(arn) == {"b": "y"}
    assert (calls["TagResource"], calls["UntagResource"], calls["ListTagsForResource"]) == (1, 1, 3)


# -- hybrid jobs -----------------------------------------------------------------------------


def job_kwargs(name: str) -> dict[str, Any]:
    return {
        "job_name": name,
        "role_arn": ROLE,
        "algorithm_specification": AlgorithmSpecification(
            script_mode_config=ScriptModeConfig("algo:main", "s3://amazon-braket-local/s/algo.py")
        ),
        "instance_config": InstanceConfig("ml.m5.large", 30),
        "output_data_config": JobOutputDataConfig("s3://amazon-braket-local/jobs/out"),
        "device_config": DeviceConfig(SV1),
    }


async def test_create_get_cancel_job(make_local: Any) -> None:
    # Own service whose jobs stay RUNNING until cancelled, so the cancel is deterministic.
    slow: LocalBraket = await make_local(job_runner=NoScriptJobRunner(step_delay=30.0))
    async with open_session(slow) as session:
        await _create_get_cancel_job(session)


async def _create_get_cancel_job(session: BraketSession) -> None:
    arn = await session.create_job(
        **job_kwargs("ops-job-1"),
        hyper_parameters={"shots": 100, "name": "bell"},
        checkpoint_config=JobCheckpointConfig("s3://amazon-braket-local/jobs/ckpt"),
        stopping_condition=JobStoppingCondition(max_runtime_in_seconds=600),
        input_data_config=[
            InputFileConfig("input", DataSource(S3DataSource("s3://amazon-braket-local/in")))
        ],
        tags={"kind": "test"},
    )
    assert ":job/" in arn
    job = await session.get_job(arn, additional_attribute_names=["QueueInfo"])
    assert isinstance(job, Job)
    assert job.job_name == "ops-job-1"
    assert job.hyper_parameters == {"shots": "100", "name": "bell"}
    assert job.instance_config.volume_size_in_gb == 30
    assert job.stopping_condition == JobStoppingCondition(600)
    assert job.input_data_config[0].data_source.s3_data_source.s3_uri.endswith("/in")
    assert job.tags == {"kind": "test"}
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert all(isinstance(e.event_type, JobEventType) for e in job.events)
    cancellation = await session.cancel_job(arn)
    assert cancellation.job_arn == arn
    assert cancellation.cancellation_status in set(CancellationStatus)
    for _ in range(200):
        job = await session.get_job(arn)
        if job.is_terminal:
            break
        await asyncio.sleep(0.01)
    assert job.status is JobStatus.CANCELLED
    assert job.events[-1].event_type is JobEventType.CANCELLED


async def test_create_job_accepts_wire_dicts(session: BraketSession) -> None:
    arn = await session.create_job(
        job_name="ops-job-dicts",
        role_arn=ROLE,
        algorithm_specification={
            "scriptModeConfig": {"entryPoint": "a:b", "s3Uri": "s3://amazon-braket-local/a.py"}
        },
        instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 10},
        output_data_config={"s3Path": "s3://amazon-braket-local/out"},
        device_config={"device": SV1},
    )
    job = await session.get_job(arn)
    assert job.algorithm_specification.script_mode_config == ScriptModeConfig(
        "a:b", "s3://amazon-braket-local/a.py"
    )


async def test_search_jobs(session: BraketSession) -> None:
    arn = await session.create_job(**job_kwargs("ops-job-search"))
    page = await session.search_jobs(filters=[JobFilter("jobArn", "EQUAL", [arn])])
    assert [j.job_arn for j in page.jobs] == [arn]
    summary = page.jobs[0]
    assert summary.job_name == "ops-job-search" and summary.device == SV1
    assert summary.created_at.tzinfo is UTC


# -- spending limits -------------------------------------------------------------------------


async def test_spending_limit_lifecycle(session: BraketSession, local: LocalBraket) -> None:
    calls = Calls(local)
    start = datetime.now(UTC).replace(microsecond=0)
    period = TimePeriod(start, start + timedelta(days=30))
    arn = await session.create_spending_limit(
        device_arn=LIMITED_QPU, spending_limit=Decimal("12.50"), time_period=period, tags={"t": "1"}
    )
    assert ":spending-limit/" in arn
    only = [SpendingLimitFilter("deviceArn", [LIMITED_QPU])]
    (limit,) = [
        x for x in (await session.search_spending_limits(filters=only)).spending_limits
        if x.spending_limit_arn == arn
    ]
    assert limit.device_arn == LIMITED_QPU
    assert limit.spending_limit_amount == Decimal("12.50")
    assert limit.time_period.start_at == start
    assert limit.tags == {"t": "1"}
    assert await session.update_spending_limit(arn, spending_limit=20) is None
    (limit,) = [
        x for x in (await session.search_spending_limits()).spending_limits
        if x.spending_limit_arn == arn
    ]
    assert limit.spending_limit_amount == Decimal(20)
    assert await session.delete_spending_limit(arn) is None
    remaining = (await session.search_spending_limits()).spending_limits
    assert arn not in {x.spending_limit_arn for x in remaining}
    with pytest.raises(ResourceNotFoundException):
        await session.delete_spending_limit(arn)
    assert calls["CreateSpendingLimit"] == calls["UpdateSpendingLimit"] == 1


# -- parameters are checked before the network ------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field", "error"),
    [
        (lambda s: s.get_quantum_task("not-an-arn"), "quantum_task_arn", InvalidArnError),
        (lambda s: s.get_job("arn:aws:braket:us-east-1:1:job/x"), "job_arn", InvalidArnError),
        (lambda s: s.get_device("sv1"), "device_arn", InvalidArnError),
        (lambda s: s.cancel_quantum_task(""), "quantum_task_arn", InvalidArnError),
        (lambda s: s.search_quantum_tasks(filters=[], max_results=0), "max_results",
         ParameterError),
        (lambda s: s.search_devices(max_results=101), "max_results", ParameterError),
        (lambda s: s.search_quantum_tasks(
            filters=[{"name": "status", "operator": "EQ", "values": ["QUEUED"]}]),
         "filters[0].operator", ParameterError),
        (lambda s: s.create_quantum_task(
            device_arn=SV1, action=BELL, shots=-1, output_s3_bucket="bucket",
            output_s3_key_prefix="p"), "shots", ParameterError),
        (lambda s: s.create_quantum_task(
            device_arn=SV1, action=BELL, shots=1, output_s3_bucket="b",
            output_s3_key_prefix="p"), "output_s3_bucket", ParameterError),
        (lambda s: s.create_quantum_task(
            device_arn=SV1, action=42, shots=1, output_s3_bucket="bucket",
            output_s3_key_prefix="p"), "action", ParameterError),
        (lambda s: s.create_job(**{**job_kwargs("bad name!")}), "job_name", ParameterError),
        (lambda s: s.create_job(**{**job_kwargs("j"), "role_arn": "role"}), "role_arn",
         InvalidArnError),
        (lambda s: s.create_job(**{**job_kwargs("j"),
                                   "instance_config": InstanceConfig("ml.m5.large", 0)}),
         "instance_config.volume_size_in_gb", ParameterError),
        (lambda s: s.tag_resource(MISSING_TASK, tags={"a": 1}), "tags['a']", ParameterError),
        (lambda s: s.untag_resource(MISSING_TASK, tag_keys="a"), "tag_keys", ParameterError),
        (lambda s: s.create_spending_limit(device_arn=SV1, spending_limit="ten"),
         "spending_limit", ParameterError),
        (lambda s: s.delete_spending_limit("arn:aws:braket:us-east-1:123456789012:job/x"),
         "spending_limit_arn", InvalidArnError),
        (lambda s: s.list_tags_for_resource("arn:aws:s3:::bucket"), "resource_arn",
         InvalidArnError),
    ],
)
async def test_parameter_errors_are_raised_before_the_network(
    session: BraketSession, local: LocalBraket, call: Any, field: str, error: type[Exception]
) -> None:
    before = local.ledger.snapshot()["total_calls"]
    with pytest.raises(error) as info:
        await call(session)
    assert isinstance(info.value, ParameterError)
    assert info.value.field == field
    assert info.value.rule
    assert field in str(info.value)
    assert local.ledger.snapshot()["total_calls"] == before


async def test_action_forms_all_reach_the_service_as_openqasm(
    session: BraketSession, local: LocalBraket
) -> None:
    from braket.circuits import Circuit

    forms: list[Any] = [
        BELL,
        OpenQASMProgram(BELL),
        OpenQASMProgram(BELL).to_action(),
        OpenQASMProgram(BELL).to_json(),
        Circuit().h(0).cnot(0, 1),
    ]
    for form in forms:
        task = await until_terminal(session, await create_bell(session, local, action=form))
        assert task.status is QuantumTaskStatus.COMPLETED, task.failure_reason
        assert task.action_metadata is not None
        assert task.action_metadata.action_type == "braket.ir.openqasm.program"
