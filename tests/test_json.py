"""Deep or cyclic input is a ParameterError naming the field, before the network (issue 20,
item 2): through ``create_quantum_task``, ``create_job`` and ``submit_batch``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _common import BELL, SV1, session_on

from braket_async import OpenQASMProgram, TaskRequest, errors
from braket_async._json import MAX_JSON_DEPTH, JsonRejected, dump_json, load_json
from braket_async.local import LocalBraket

DEEP = 100_000


def deep_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth - 1):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def cyclic() -> dict[str, Any]:
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = loop
    return loop


def _action(inputs: Any) -> dict[str, Any]:
    return {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
        "source": BELL,
        "inputs": inputs,
    }


DEEP_TEXT = "[" * DEEP + "]" * DEEP

#: (what create_quantum_task gets, the field the error must name, words of its rule)
CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"action": '{"a":' * DEEP + "1" + "}" * DEEP}, "action", "nested too deeply"),
    ({"action": '{"inputs": ' + DEEP_TEXT + "}"}, "action", "nested too deeply"),
    ({"action": _action({"x": deep_list(DEEP)})}, "action", "nested too deeply"),
    ({"action": _action({"x": deep_list(MAX_JSON_DEPTH + 1)})}, "action", "nested too deeply"),
    ({"action": _action(cyclic())}, "action", "reference cycle"),
    ({"action": OpenQASMProgram(BELL, {"x": deep_list(DEEP)})}, "action.inputs", "deeply"),
    ({"action": OpenQASMProgram(BELL, cyclic())}, "action.inputs", "reference cycle"),
    ({"device_parameters": {"p": deep_list(DEEP)}}, "device_parameters", "nested too deeply"),
    ({"device_parameters": cyclic()}, "device_parameters", "reference cycle"),
    ({"device_parameters": '{"p": ' + DEEP_TEXT + "}"}, "device_parameters", "deeply"),
    ({"tags": {"k": cyclic()}}, "tags", "string"),
    ({"associations": deep_list(DEEP)}, "associations", "must be a mapping"),
]


def _ids() -> list[str]:
    return [f"{i}-{field}" for i, (_, field, _) in enumerate(CASES)]


@pytest.mark.parametrize(("given", "field", "rule"), CASES, ids=_ids())
async def test_create_quantum_task_refuses_deep_or_cyclic_input(
    local_braket: LocalBraket, given: dict[str, Any], field: str, rule: str
) -> None:
    calls = local_braket.ledger.snapshot()["total_calls"]
    request: dict[str, Any] = {
        "device_arn": SV1,
        "action": BELL,
        "shots": 10,
        "output_s3_bucket": local_braket.default_bucket,
        "output_s3_key_prefix": "deep",
        **given,
    }
    async with session_on(local_braket) as braket:
        with pytest.raises(errors.ParameterError) as info:
            await braket.create_quantum_task(**request)
    assert info.value.field.startswith(field), info.value
    assert rule in info.value.rule
    assert local_braket.ledger.snapshot()["total_calls"] == calls  # nothing was sent


async def test_create_job_refuses_deep_hyperparameters(local_braket: LocalBraket) -> None:
    calls = local_braket.ledger.snapshot()["total_calls"]
    async with session_on(local_braket) as braket:
        with pytest.raises(errors.ParameterError) as info:
            await braket.create_job(
                algorithm_specification={
                    "scriptModeConfig": {"entryPoint": "a:b", "s3Uri": "s3://b/a.py"}
                },
                instance_config={"instanceType": "ml.m5.large", "volumeSizeInGb": 30},
                job_name="deep",
                output_data_config={"s3Path": "s3://b/out"},
                role_arn="arn:aws:iam::123456789012:role/r",
                device_config={"device": SV1},
                hyper_parameters={"h": {"deep": deep_list(DEEP)}, "c": cyclic()},
            )
    assert info.value.field.startswith("hyper_parameters")
    assert local_braket.ledger.snapshot()["total_calls"] == calls


#: Batch items with deep or cyclic input, and the field each one's error must name.
BATCH_ITEMS: list[tuple[Any, str]] = [
    (_action({"x": deep_list(DEEP)}), "action"),
    (_action(cyclic()), "action"),
    ("  " + '{"a": ' + DEEP_TEXT + "}", "action"),
    (OpenQASMProgram(BELL, {"x": deep_list(DEEP)}), "action.inputs"),
    (TaskRequest(action=BELL, device_parameters=cyclic()), "device_parameters"),
    (TaskRequest(action=BELL, tags={"k": cyclic()}), "tags"),
    ({"action": BELL, "tags": {"k": deep_list(DEEP)}}, "tags"),
]


async def test_submit_batch_items_with_deep_or_cyclic_input_fail_alone(
    make_local: Callable[..., Any],
) -> None:
    local: LocalBraket = await make_local()
    async with session_on(local) as braket:
        batch = braket.submit_batch(
            [item for item, _ in BATCH_ITEMS] + [BELL],
            device_arn=SV1,
            shots=10,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="deep",
            track=False,
        )
        outcomes = await batch.wait()
    *bad, good = outcomes
    for index, (outcome, (_, field)) in enumerate(zip(bad, BATCH_ITEMS, strict=True)):
        assert isinstance(outcome.error, errors.ParameterError), (index, outcome.error)
        assert outcome.error.field == f"items[{index}].{field}"
        assert outcome.attempts == 0
    assert good.ok and good.task_arn is not None
    assert local.ledger.snapshot()["calls"]["CreateQuantumTask"] == 1


def test_dump_json_bounds() -> None:
    assert dump_json({"a": deep_list(MAX_JSON_DEPTH - 1)}) == (
        '{"a": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    )
    for value, words in [
        (deep_list(MAX_JSON_DEPTH + 1), "nested too deeply"),
        (deep_list(DEEP), "nested too deeply"),
        (cyclic(), "reference cycle"),
        ({"x": object()}, "JSON-serialisable"),
        ({"x": float("nan")}, None),
    ]:
        if words is None:
            dump_json(value)  # NaN is what json writes; the service reads it and validates
            continue
        with pytest.raises(JsonRejected, match=words):
            dump_json(value)


def test_load_json_bounds() -> None:
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for text, words in [
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "nested too deeply"),
        (DEEP_TEXT, "nested too deeply"),
        ("{", "not valid JSON"),
        (b"\xff", "not valid JSON"),
    ]:
        with pytest.raises(JsonRejected, match=words):
            load_json(text)
