"""``braket-async task status|wait|result|cancel`` and ``tasks search``."""

from __future__ import annotations

from typing import Any

import pytest

from braket_async import BraketSession, QuantumTaskFailed, QuantumTaskStatus
from braket_async.cli._circuits import ghz
from braket_async.local import LocalBraket

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BAD_PROGRAM = "OPENQASM 3; qubit[2] q; not_a_gate q[0];"


async def create(braket: BraketSession, local: LocalBraket, source: str, shots: int = 100) -> str:
    return await braket.create_quantum_task(
        device_arn=SV1,
        action=source,
        shots=shots,
        output_s3_bucket=local.default_bucket,
        output_s3_key_prefix="cli-tests",
    )


@pytest.fixture
async def done_tasks(braket: BraketSession, local_braket: LocalBraket) -> list[str]:
    arns = [await create(braket, local_braket, ghz(3)) for _ in range(3)]
    for arn in arns:
        await braket.wait_for_quantum_task(arn)
    return arns


async def test_status_shows_each_task_as_the_service_does(
    cli: Any, braket: BraketSession, done_tasks: list[str]
) -> None:
    run = await cli("task", "status", *done_tasks, "--json")
    assert run.code == 0, run.err
    shown = run.json()
    assert [t["task_arn"] for t in shown] == done_tasks
    for row in shown:
        task = await braket.get_quantum_task(row["task_arn"])
        assert row["status"] == task.status == "COMPLETED"
        assert row["shots"] == task.shots and row["device_arn"] == task.device_arn


async def test_status_table_for_people(cli: Any, done_tasks: list[str]) -> None:
    run = await cli("task", "status", done_tasks[0])
    assert run.code == 0, run.err
    assert done_tasks[0] in run.out and "COMPLETED" in run.out


async def test_result_prints_the_ghz_histogram(
    cli: Any, braket: BraketSession, done_tasks: list[str]
) -> None:
    expected = dict((await braket.get_quantum_task_result(done_tasks[0])).counts)
    run = await cli("task", "result", done_tasks[0], "--json")
    assert run.code == 0, run.err
    body = run.json()
    assert body["counts"] == expected and body["shots"] == 100
    assert set(body["counts"]) <= {"000", "111"}

    table = await cli("task", "result", done_tasks[0])
    assert table.code == 0, table.err
    for outcome, count in expected.items():
        assert outcome in table.out and str(count) in table.out
    assert "█" in table.out


async def test_wait_follows_tasks_to_the_end(
    cli: Any, braket: BraketSession, local_braket: LocalBraket
) -> None:
    arns = [await create(braket, local_braket, ghz(2)) for _ in range(4)]
    run = await cli("task", "wait", *arns, "--json")
    assert run.code == 0, run.err
    assert sorted(t["task_arn"] for t in run.json()) == sorted(arns)
    assert {t["status"] for t in run.json()} == {"COMPLETED"}


async def test_wait_exits_3_when_a_task_fails_and_says_why(
    cli: Any, braket: BraketSession, local_braket: LocalBraket
) -> None:
    good = await create(braket, local_braket, ghz(2))
    bad = await create(braket, local_braket, BAD_PROGRAM)
    run = await cli("task", "wait", good, bad)
    assert run.code == 3
    failed = await braket.get_quantum_task(bad)
    assert failed.status == QuantumTaskStatus.FAILED
    assert f"{bad} ended FAILED" in run.err
    assert failed.failure_reason and failed.failure_reason in run.err


async def test_wait_exits_4_on_timeout(
    cli: Any, make_local: Any, local_env: dict[str, str]
) -> None:
    slow = await make_local(queue_delay=30.0)
    session = BraketSession(
        endpoint_url=slow.endpoint_url,
        s3_endpoint_url=slow.s3_endpoint_url,
        region_name="us-east-1",
    )
    async with session as braket:
        arn = await create(braket, slow, ghz(2))
    run = await cli("task", "wait", arn, "--timeout", "0.5", local=slow)
    assert run.code == 4
    assert "timed out" in run.err


async def test_result_of_a_failed_task_exits_3(
    cli: Any, braket: BraketSession, local_braket: LocalBraket
) -> None:
    bad = await create(braket, local_braket, BAD_PROGRAM)
    with pytest.raises(QuantumTaskFailed):
        await braket.wait_for_quantum_task(bad)
    run = await cli("task", "result", bad)
    assert run.code == 3
    assert bad in run.err and "Gate not_a_gate is not defined" in run.err


async def test_cancel_asks_the_service(
    cli: Any, make_local: Any, local_env: dict[str, str]
) -> None:
    slow = await make_local(queue_delay=30.0)
    async with BraketSession(
        endpoint_url=slow.endpoint_url, s3_endpoint_url=slow.s3_endpoint_url
    ) as braket:
        arn = await create(braket, slow, ghz(2))
        run = await cli("task", "cancel", arn, "--json", local=slow)
        assert run.code == 0, run.err
        assert run.json()[0]["task_arn"] == arn
        assert (await braket.get_quantum_task(arn)).status in ("CANCELLING", "CANCELLED")


async def test_search_filters_by_status_and_device(
    cli: Any, braket: BraketSession, local_braket: LocalBraket, done_tasks: list[str]
) -> None:
    run = await cli(
        "tasks", "search", "--status", "completed", "--device", SV1, "--since", "600", "--json"
    )
    assert run.code == 0, run.err
    found = run.json()
    assert set(done_tasks) <= {t["task_arn"] for t in found}
    assert {t["status"] for t in found} == {"COMPLETED"}
    assert {t["device_arn"] for t in found} == {SV1}


async def test_search_limit_caps_the_rows(cli: Any, done_tasks: list[str]) -> None:
    run = await cli("tasks", "search", "--limit", "2", "--json")
    assert run.code == 0, run.err
    assert len(run.json()) == 2


async def test_search_rejects_an_unknown_status_before_the_network(cli: Any) -> None:
    run = await cli("tasks", "search", "--status", "DONE")
    assert run.code == 2
    assert "--status must be one of" in run.err and "DONE" in run.err
