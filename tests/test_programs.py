"""Action and device-parameter coercion (programs.py), including the real Braket SDK Circuit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _common import BELL

from braket_async import OpenQASMProgram, ParameterError, gate_model_parameters
from braket_async.programs import OPENQASM_HEADER, coerce_action, coerce_device_parameters


def test_openqasm_program_document() -> None:
    program = OpenQASMProgram(BELL, inputs={"theta": 0.5})
    action = program.to_action()
    assert action == {"braketSchemaHeader": dict(OPENQASM_HEADER), "source": BELL,
                      "inputs": {"theta": 0.5}}
    assert json.loads(program.to_json()) == action
    assert OpenQASMProgram(BELL).inputs == {}
    with pytest.raises(AttributeError):
        program.source = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        OpenQASMProgram(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "form",
    [
        BELL,
        "  \n" + BELL,
        OpenQASMProgram(BELL),
        OpenQASMProgram(BELL).to_action(),
        OpenQASMProgram(BELL).to_json(),
    ],
)
def test_action_forms_give_the_same_document(form: Any) -> None:
    document = json.loads(coerce_action(form))
    assert document["braketSchemaHeader"] == dict(OPENQASM_HEADER)
    assert document["source"].strip() == BELL


def test_json_string_passes_through_unchanged() -> None:
    raw = OpenQASMProgram(BELL).to_json()
    assert coerce_action(raw) is raw


def test_sdk_circuit_becomes_openqasm() -> None:
    from braket.circuits import Circuit

    document = json.loads(coerce_action(Circuit().h(0).cnot(0, 1)))
    assert document["braketSchemaHeader"]["name"] == "braket.ir.openqasm.program"
    assert "cnot q[0], q[1];" in document["source"]


def test_any_object_with_to_ir() -> None:
    class Program:
        def to_ir(self) -> dict[str, Any]:
            return OpenQASMProgram(BELL).to_action()

    assert json.loads(coerce_action(Program()))["source"] == BELL


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        (42, "got int"),
        ("h q[0];", "OPENQASM"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"x": object()}, "JSON-serialisable"),
    ],
)
def test_bad_actions_name_the_field_and_rule(bad: Any, rule: str) -> None:
    with pytest.raises(ParameterError) as info:
        coerce_action(bad)
    assert info.value.field == "action"
    assert rule in info.value.rule


def test_gate_model_parameters() -> None:
    parameters = gate_model_parameters(3, disable_qubit_rewiring=True)
    assert parameters["braketSchemaHeader"]["name"] == (
        "braket.device_schema.simulators.gate_model_simulator_device_parameters"
    )
    assert parameters["paradigmParameters"]["qubitCount"] == 3
    assert parameters["paradigmParameters"]["disableQubitRewiring"] is True
    for bad in (-1, 1.5, True):
        with pytest.raises(ParameterError) as info:
            gate_model_parameters(bad)  # type: ignore[arg-type]
        assert info.value.field == "qubit_count"


def test_gate_model_parameters_match_the_sdk_schema() -> None:
    from braket.device_schema.simulators import GateModelSimulatorDeviceParameters

    parsed = GateModelSimulatorDeviceParameters.parse_raw(
        coerce_device_parameters(gate_model_parameters(2)) or ""
    )
    assert parsed.paradigmParameters.qubitCount == 2


def test_device_parameter_forms() -> None:
    from braket.device_schema import GateModelParameters
    from braket.device_schema.simulators import GateModelSimulatorDeviceParameters

    assert coerce_device_parameters(None) is None
    as_dict = gate_model_parameters(2)
    assert json.loads(coerce_device_parameters(as_dict) or "") == as_dict
    raw = json.dumps(as_dict)
    assert coerce_device_parameters(raw) is raw
    sdk = GateModelSimulatorDeviceParameters(
        paradigmParameters=GateModelParameters(qubitCount=2)
    )
    assert json.loads(coerce_device_parameters(sdk) or "")["paradigmParameters"][
        "qubitCount"
    ] == 2
    for bad in (5, "nope", "[]"):
        with pytest.raises(ParameterError) as info:
            coerce_device_parameters(bad)
        assert info.value.field == "device_parameters"
