"""The device catalogue: capability documents valid for the Braket schemas and the official SDK."""

from __future__ import annotations

import enum
import json
import warnings
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from braket.aws import AwsDevice, AwsDeviceType, AwsSession
from braket.circuits import Circuit
from braket.device_schema import DeviceActionType
from braket.device_schema.aqt import AqtDeviceCapabilities
from braket.device_schema.ionq import IonqDeviceCapabilities
from braket.device_schema.iqm import IqmDeviceCapabilities
from braket.device_schema.quera import QueraDeviceCapabilities
from braket.device_schema.rigetti import RigettiDeviceCapabilitiesV2
from braket.device_schema.simulators import GateModelSimulatorDeviceCapabilities
from braket.devices import Devices
from braket.schema_common import BraketSchemaBase

from braket_async.local._devices import (
    DM1_ARN,
    SV1_ARN,
    TN1_ARN,
    LocalDevice,
    default_devices,
    load_capabilities,
    with_status,
)
from braket_async.local._regions import BRAKET_REGIONS

DEVICES = {d.name: d for d in default_devices()}
_IONQ = "arn:aws:braket:us-east-1::device/qpu/ionq"
EXPECTED = {
    # name: (arn, type, status, engine, qubits, shots range)
    "SV1": (SV1_ARN, "SIMULATOR", "ONLINE", "state_vector", 34, (0, 100_000)),
    "DM1": (DM1_ARN, "SIMULATOR", "ONLINE", "density_matrix", 17, (0, 100_000)),
    "TN1": (TN1_ARN, "SIMULATOR", "ONLINE", "state_vector", 50, (1, 1000)),
    "Forte 1": (f"{_IONQ}/Forte-1", "QPU", "ONLINE", "density_matrix", 36, (1, 5000)),
    "Forte Enterprise 1": (
        f"{_IONQ}/Forte-Enterprise-1", "QPU", "OFFLINE", "density_matrix", 36, (1, 5000)
    ),
    "Aria 1": (f"{_IONQ}/Aria-1", "QPU", "RETIRED", "density_matrix", 25, (1, 5000)),
    "Aquila": (
        "arn:aws:braket:us-east-1::device/qpu/quera/Aquila", "QPU", "ONLINE",
        "analog_hamiltonian", 256, (1, 1000),
    ),
    "Garnet": (
        "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet", "QPU", "ONLINE", "density_matrix", 20,
        (1, 20000),
    ),
    "Emerald": (
        "arn:aws:braket:eu-north-1::device/qpu/iqm/Emerald", "QPU", "ONLINE", "density_matrix", 54,
        (1, 20000),
    ),
    "IBEX Q1": (
        "arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1", "QPU", "ONLINE", "density_matrix", 12,
        (1, 2000),
    ),
    "Ankaa-3": (
        "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3", "QPU", "RETIRED", "density_matrix",
        84, (10, 50000),
    ),
    "Cepheus-1-108Q": (
        "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q", "QPU", "ONLINE",
        "density_matrix", 108, (10, 50000),
    ),
}  # fmt: skip
SCHEMAS = {
    "Aquila": QueraDeviceCapabilities,
    "Forte 1": IonqDeviceCapabilities,
    "Forte Enterprise 1": IonqDeviceCapabilities,
    "Aria 1": IonqDeviceCapabilities,
    "Garnet": IqmDeviceCapabilities,
    "Emerald": IqmDeviceCapabilities,
    "IBEX Q1": AqtDeviceCapabilities,
    "Ankaa-3": RigettiDeviceCapabilitiesV2,
    "Cepheus-1-108Q": RigettiDeviceCapabilitiesV2,
}


def test_every_device_is_one_the_sdk_devices_enum_names() -> None:
    named = {
        str(member)
        for group in vars(Devices).values()
        if isinstance(group, type) and issubclass(group, enum.Enum)
        for member in group
    }
    assert {d.arn for d in default_devices()} <= named
    assert set(DEVICES) == set(EXPECTED)


def test_qpus_live_in_their_regions_and_simulators_where_braket_offers_them() -> None:
    for device in DEVICES.values():
        if device.device_type == "QPU":
            assert device.regions == {device.arn.split(":")[3]}, device.name
    assert DEVICES["SV1"].regions == set(BRAKET_REGIONS) == DEVICES["DM1"].regions
    assert DEVICES["TN1"].regions == {"us-east-1", "us-west-2", "eu-west-2"}


def test_sdk_local_emulator_builds_a_noise_model_from_each_gate_qpu_document() -> None:
    from braket.emulation.local_emulator import LocalEmulator

    for name, schema in SCHEMAS.items():
        if schema is QueraDeviceCapabilities:
            continue
        parsed = BraketSchemaBase.parse_raw_schema(DEVICES[name].capabilities_json)
        emulator = LocalEmulator.from_device_properties(parsed)
        assert emulator.noise_model.instructions, name


def test_with_status_changes_only_the_named_devices() -> None:
    arn = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
    devices = {d.arn: d for d in with_status(default_devices(), {arn: "ONLINE"})}
    assert devices[arn].status == "ONLINE"
    assert devices[SV1_ARN].status == "ONLINE"
    with pytest.raises(ValueError, match="no device"):
        with_status(default_devices(), {"arn:aws:braket:::device/qpu/x/y": "ONLINE"})


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
    if parsed.service.getTaskPollIntervalMillis is not None:
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
    # AwsDevice switches to the region of a QPU's ARN: give it a session there.
    region = device.arn.split(":")[3] or "us-east-1"
    boto_session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
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
