"""The device catalogue: capability documents valid for the Braket schemas and the official SDK."""

from __future__ import annotations

import json
import warnings
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from braket.aws import AwsDevice, AwsDeviceType, AwsSession
from braket.circuits import Circuit
from braket.device_schema import DeviceActionType
from braket.device_schema.ionq import IonqDeviceCapabilities
from braket.device_schema.quera import QueraDeviceCapabilities
from braket.device_schema.simulators import GateModelSimulatorDeviceCapabilities
from braket.schema_common import BraketSchemaBase

from braket_async.local._devices import (
    DM1_ARN,
    SV1_ARN,
    TN1_ARN,
    LocalDevice,
    default_devices,
    load_capabilities,
)

DEVICES = {d.name: d for d in default_devices()}
EXPECTED = {
    # name: (arn, type, status, engine, qubits, shots range)
    "SV1": (SV1_ARN, "SIMULATOR", "ONLINE", "state_vector", 34, (0, 100_000)),
    "DM1": (DM1_ARN, "SIMULATOR", "ONLINE", "density_matrix", 17, (0, 100_000)),
    "TN1": (TN1_ARN, "SIMULATOR", "ONLINE", "state_vector", 50, (1, 1000)),
    "Aurora": (
        "arn:aws:braket:us-east-1::device/qpu/local/Aurora", "QPU", "OFFLINE", None, 25, (1, 10000)
    ),
    "Legacy": (
        "arn:aws:braket:us-east-1::device/qpu/local/Legacy", "QPU", "RETIRED", None, 11, (1, 10000)
    ),
    "aquila-sim": (
        "arn:aws:braket:us-east-1::device/qpu/local/aquila-sim", "QPU", "ONLINE",
        "analog_hamiltonian", 256, (1, 1000),
    ),
}  # fmt: skip
SCHEMAS = {"aquila-sim": QueraDeviceCapabilities, "Aurora": IonqDeviceCapabilities,
           "Legacy": IonqDeviceCapabilities}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_catalogue_entry(name: str) -> None:
    arn, device_type, status, engine, qubits, shots = EXPECTED[name]
    device = DEVICES[name]
    assert (device.arn, device.device_type, device.status, device.simulator) == (
        arn,
        device_type,
        status,
        engine,
    )
    assert device.qubit_count == qubits
    assert device.shots_range == shots
    assert device.poll_interval_millis > 0
    program = (
        "braket.ir.ahs.program" if engine == "analog_hamiltonian" else "braket.ir.openqasm.program"
    )
    assert program in device.supported_action_names
    assert json.loads(device.capabilities_json) == device.capabilities


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capabilities_parse_with_braket_schemas(name: str) -> None:
    device = DEVICES[name]
    parsed = BraketSchemaBase.parse_raw_schema(device.capabilities_json)
    expected_class = SCHEMAS.get(name, GateModelSimulatorDeviceCapabilities)
    assert type(parsed) is expected_class
    assert expected_class.parse_raw(device.capabilities_json) == parsed
    assert parsed.paradigm.qubitCount == device.qubit_count
    assert tuple(parsed.service.shotsRange) == device.shots_range
    assert parsed.service.getTaskPollIntervalMillis == device.poll_interval_millis
    assert {getattr(a, "value", a) for a in parsed.action} == device.supported_action_names
    # Every result type the device lists fits inside its own shot range.
    low, high = device.shots_range
    for action in parsed.action.values():
        for result_type in getattr(action, "supportedResultTypes", None) or ():
            assert low <= result_type.minShots <= result_type.maxShots <= high


def test_simulators_support_what_the_local_engines_run() -> None:
    from braket.default_simulator import DensityMatrixSimulator, StateVectorSimulator

    engines = {"state_vector": StateVectorSimulator(), "density_matrix": DensityMatrixSimulator()}
    for device in DEVICES.values():
        if device.simulator not in engines:
            continue
        engine_ops = set(
            engines[device.simulator]
            .properties.action[DeviceActionType.OPENQASM]
            .supportedOperations
        )
        ours = device.capabilities["action"]["braket.ir.openqasm.program"]["supportedOperations"]
        # Never advertise a gate the engine that runs the device cannot simulate.
        assert set(ours) <= engine_ops, device.name
        assert {"h", "cnot", "rx"} <= set(ours)
    # The on-demand simulators list exactly the actions Braket publishes for them: OpenQASM
    # and JAQCD, no program sets (docs/devices.md).
    for name in ("SV1", "DM1", "TN1"):
        assert DEVICES[name].supported_action_names == {
            "braket.ir.openqasm.program",
            "braket.ir.jaqcd.program",
        }, name
    dm1_pragmas = DEVICES["DM1"].capabilities["action"]["braket.ir.openqasm.program"]
    assert "braket_noise_depolarizing" in dm1_pragmas["supportedPragmas"]
    sv1_pragmas = DEVICES["SV1"].capabilities["action"]["braket.ir.openqasm.program"]
    assert "braket_noise_depolarizing" in sv1_pragmas["forbiddenPragmas"]


def _sdk_device(device: LocalDevice) -> AwsDevice:
    """The official SDK's AwsDevice, fed our GetDevice answer through botocore's Stubber (which
    checks the response against Braket's service model)."""
    boto_session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    client = boto_session.client("braket")
    stubber = Stubber(client)
    stubber.add_response(
        "get_device",
        {
            "deviceArn": device.arn,
            "deviceName": device.name,
            "providerName": device.provider_name,
            "deviceType": device.device_type,
            "deviceStatus": device.status,
            "deviceCapabilities": device.capabilities_json,
        },
        {"deviceArn": device.arn},
    )
    with stubber:
        sdk_device = AwsDevice(
            device.arn, aws_session=AwsSession(boto_session=boto_session, braket_client=client)
        )
    stubber.assert_no_pending_responses()
    return sdk_device


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_sdk_accepts_the_device(name: str) -> None:
    device = DEVICES[name]
    with warnings.catch_warnings():
        # The SDK only warns ("Unable to determine device capabilities") on a bad document.
        warnings.simplefilter("error", UserWarning)
        sdk_device = _sdk_device(device)
    assert sdk_device.name == device.name
    assert sdk_device.status == device.status
    assert sdk_device.type == AwsDeviceType(device.device_type)
    assert sdk_device.provider_name == device.provider_name
    assert sdk_device.properties.paradigm.qubitCount == device.qubit_count
    # The SDK polls at the device's advertised interval.
    assert sdk_device._poll_interval_seconds == device.poll_interval_millis / 1000


def test_sdk_serializes_a_bell_circuit_for_sv1() -> None:
    sdk_device = _sdk_device(DEVICES["SV1"])
    program = Circuit().h(0).cnot(0, 1).to_ir(ir_type="OPENQASM")
    action = sdk_device.properties.action[DeviceActionType.OPENQASM]
    assert {"h", "cnot"} <= set(action.supportedOperations)
    assert "cnot" in program.source


def test_default_devices_use_the_region_for_qpus_only() -> None:
    devices = {d.name: d for d in default_devices("eu-west-2")}
    assert devices["Aurora"].arn == "arn:aws:braket:eu-west-2::device/qpu/local/Aurora"
    assert devices["SV1"].arn == SV1_ARN
    with pytest.raises(ValueError, match="region"):
        default_devices("")


def test_each_call_returns_independent_documents() -> None:
    first, second = default_devices(), default_devices()
    first[0].capabilities["paradigm"]["qubitCount"] = 1
    assert second[0].qubit_count == 34
    assert load_capabilities("sv1")["paradigm"]["qubitCount"] == 34


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device_type": "ANNEALER"}, "device_type"),
        ({"status": "BROKEN"}, "status"),
        ({"simulator": "tensor_network"}, "simulator"),
        ({"capabilities": {"service": {}}}, "shotsRange"),
        ({"capabilities": {"service": {"shotsRange": [0, 1]}, "paradigm": {}}}, "qubitCount"),
    ],
)
def test_local_device_rejects_bad_fields(changes: dict[str, Any], message: str) -> None:
    sv1 = DEVICES["SV1"]
    fields: dict[str, Any] = {
        "arn": sv1.arn,
        "name": sv1.name,
        "provider_name": sv1.provider_name,
        "device_type": sv1.device_type,
        "status": sv1.status,
        "capabilities": sv1.capabilities,
        "simulator": sv1.simulator,
    }
    fields.update(changes)
    with pytest.raises(ValueError, match=message):
        LocalDevice(**fields)


def test_load_capabilities_names_the_choices() -> None:
    with pytest.raises(ValueError, match="sv1"):
        load_capabilities("qpu")
