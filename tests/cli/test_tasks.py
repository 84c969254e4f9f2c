"""``braket-async task status|wait|result|cancel`` and ``tasks search``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _common import PROGRAM_SET_DEVICE, SV1, create_task, session_on

from braket_async import BraketSession, QuantumTaskFailed, QuantumTaskStatus
from braket_async.cli._circuits import ghz
from braket_async.local import LocalBraket

BAD_PROGRAM = "OPENQASM 3; qubit[2] q; not_a_gate q[0];"


async def create(braket: BraketSession, local: LocalBraket, source: str, shots: int = 100) -> str:
    return await create_task(braket, local, source, shots=shots, prefix="cli-tests")


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


async def test_wait_shows_how_many_tasks_are_queued_and_running(cli: Any, make_local: Any) -> None:
    slow = await make_local(queue_delay=3.0)
    async with session_on(slow) as braket:
        arns = [await create(braket, slow, ghz(2)) for _ in range(2)]
    run = await cli("task", "wait", *arns, local=slow)
    assert run.code == 0, run.err
    # Plain progress lines off a terminal: the first one, before any task finished, says
    # both are still queued; the last one that none is left.
    lines = [line for line in run.err.splitlines() if line.startswith("finished ")]
    assert lines[0] == "finished 0/2 (queued 2, running 0)"
    assert lines[-1] == "finished 2/2 (queued 0, running 0)"


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
    async with session_on(slow) as braket:
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


@pytest.fixture
def programs(tmp_path: Any) -> tuple[str, str]:
    bell = tmp_path / "bell.qasm"
    bell.write_text(
        "OPENQASM 3;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;\n"
    )
    three = tmp_path / "ghz.qasm"
    three.write_text(ghz(3))
    return str(bell), str(three)


async def test_submit_creates_count_copies_of_each_file_and_prints_their_arns(
    cli: Any, braket: BraketSession, local_braket: LocalBraket, programs: tuple[str, str]
) -> None:
    before = local_braket.ledger.snapshot()["tasks_created"]
    run = await cli(
        "task", "submit", *programs, "--count", "3", "--shots", "7",
        "--bucket", local_braket.default_bucket, "--prefix", "cli-submit",
    )  # fmt: skip
    assert run.code == 0, run.err
    arns = run.out.split()
    assert len(arns) == 6 == len(set(arns))
    assert local_braket.ledger.snapshot()["tasks_created"] - before == 6
    tasks = [await braket.get_quantum_task(arn) for arn in arns]
    assert {t.shots for t in tasks} == {7}
    assert {t.output_s3_directory.split("/")[0] for t in tasks} == {"cli-submit"}


async def test_submit_wait_follows_every_task_and_reports_them(
    cli: Any, local_braket: LocalBraket, programs: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAKET_ASYNC_BUCKET", local_braket.default_bucket)
    run = await cli("task", "submit", *programs, "--count", "2", "--wait", "--json")
    assert run.code == 0, run.err
    rows = run.json()
    assert [r["file"] for r in rows] == [programs[0]] * 2 + [programs[1]] * 2
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert len({r["task_arn"] for r in rows}) == 4


async def test_submit_wait_exits_3_for_a_failing_program(
    cli: Any, local_braket: LocalBraket, tmp_path: Any
) -> None:
    bad = tmp_path / "bad.qasm"
    bad.write_text(BAD_PROGRAM)
    run = await cli("task", "submit", str(bad), "--wait", "--bucket", local_braket.default_bucket)
    assert run.code == 3
    assert "ended FAILED" in run.err and "not_a_gate" in run.err


async def test_submit_refuses_unreadable_or_non_qasm_files_before_the_network(
    cli: Any, local_braket: LocalBraket, tmp_path: Any
) -> None:
    before = local_braket.ledger.snapshot()["total_calls"]
    missing = await cli("task", "submit", str(tmp_path / "nope.qasm"), "--bucket", "b")
    assert missing.code == 2 and "cannot read" in missing.err
    text = tmp_path / "notes.qasm"
    text.write_text("hello")
    wrong = await cli("task", "submit", str(text), "--bucket", "b")
    assert wrong.code == 1 and "items[0]" in wrong.err
    assert local_braket.ledger.snapshot()["total_calls"] == before


async def test_submit_needs_a_bucket(
    cli: Any, programs: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAKET_ASYNC_BUCKET", raising=False)
    run = await cli("task", "submit", programs[0])
    assert run.code == 2 and "--bucket is required" in run.err


async def test_result_of_a_shots_0_task_lists_its_result_types(
    cli: Any, braket: BraketSession, local_braket: LocalBraket
) -> None:
    program = "OPENQASM 3; qubit[2] q; h q[0]; cnot q[0], q[1]; #pragma braket result probability"
    arn = await create(braket, local_braket, program, shots=0)
    await braket.wait_for_quantum_task(arn)
    run = await cli("task", "result", arn)
    assert run.code == 0, run.err
    assert "no measurements (shots=0)" in run.out
    expected = (await braket.get_quantum_task_result(arn)).result_type_value("probability")
    assert f"probability: {expected}" in run.out
    assert [round(p, 6) for p in expected] == [0.5, 0.0, 0.0, 0.5]


async def test_result_of_ahs_and_program_set_tasks(
    cli: Any, braket: BraketSession, local_braket: LocalBraket, program_sets_local: LocalBraket
) -> None:
    series = {"values": ["0", "15700000", "0"], "times": ["0", "0.0000005", "0.000001"]}
    flat = {"values": ["0", "0"], "times": ["0", "0.000001"]}
    drive = {
        name: {"time_series": value, "pattern": "uniform"}
        for name, value in (("amplitude", series), ("phase", flat), ("detuning", flat))
    }
    ahs_action = {
        "braketSchemaHeader": {"name": "braket.ir.ahs.program", "version": "1"},
        "setup": {"ahs_register": {"sites": [["0", "0"]], "filling": [1]}},
        "hamiltonian": {"drivingFields": [drive], "localDetuning": []},
    }
    program_set = {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program_set", "version": "1"},
        "programs": [{"source": ghz(2), "inputs": {}}],
    }
    ahs = await braket.create_quantum_task(
        device_arn="arn:aws:braket:us-east-1::device/qpu/quera/Aquila",
        action=json.dumps(ahs_action),
        shots=20,
        output_s3_bucket=local_braket.default_bucket,
        output_s3_key_prefix="cli-tests",
    )
    async with session_on(program_sets_local) as on_sets:
        sets = await on_sets.create_quantum_task(
            device_arn=PROGRAM_SET_DEVICE,
            action=json.dumps(program_set),
            shots=10,
            output_s3_bucket=local_braket.default_bucket,
            output_s3_key_prefix="cli-tests",
        )
        await on_sets.wait_for_quantum_task(sets)
    await braket.wait_for_quantum_task(ahs)
    run = await cli("task", "result", ahs, "--json")
    assert run.code == 0, run.err
    assert sum(run.json()["state_counts"].values()) == 20
    assert set("".join(run.json()["state_counts"])) <= {"g", "r"}
    run = await cli("task", "result", sets, "--json", local=program_sets_local)
    assert run.code == 0, run.err
    ((counts,),) = run.json()["programs"]
    assert sum(counts.values()) == 10 and set(counts) <= {"00", "11"}
    table = await cli("task", "result", sets, local=program_sets_local)
    assert table.code == 0 and "program 0 executable 0" in table.out
