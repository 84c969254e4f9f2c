"""The Braket SDK's device discovery against the local service (its tasks, batches, jobs,
``@hybrid_job`` and cost tracking are in ``tests/local/conformance/test_sdk*.py``)."""

from __future__ import annotations

from local.conformance.test_sdk_fidelity import SV1, sdk_call

from braket_async.local import LocalBraket


async def test_get_devices_and_their_properties(
    local_braket: LocalBraket, local_env: dict[str, str]
) -> None:
    def run() -> tuple[dict[str, str], set[str], int]:
        from braket.aws import AwsDevice
        from braket.device_schema import DeviceActionType

        found = {d.arn: d.name for d in AwsDevice.get_devices(types=["SIMULATOR"])}
        sv1 = AwsDevice(SV1)
        actions = {
            str(a.value if isinstance(a, DeviceActionType) else a) for a in sv1.properties.action
        }
        return found, actions, sv1.properties.paradigm.qubitCount

    found, actions, qubits = await sdk_call(run)
    assert found[SV1] == "SV1"
    assert {"DM1", "TN1"} <= set(found.values())
    assert actions == {"braket.ir.openqasm.program", "braket.ir.jaqcd.program"}
    assert qubits == 34
