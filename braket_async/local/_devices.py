"""The local service's device catalogue: Amazon's simulators plus two unavailable QPUs.

Capability documents live in ``data/*.json``. The simulator documents were derived from what
``amazon-braket-default-simulator`` itself reports (``StateVectorSimulator().properties``,
``DensityMatrixSimulator().properties``) and adjusted to the AWS devices: qubit counts, shot
ranges, cost, documentation and poll interval. They list the OpenQASM and JAQCD actions and no
program sets, as Braket publishes them (``docs/devices.md``). The QPU documents use the IonQ
capability schema (there is no provider-neutral QPU schema and the official SDK picks the
parser from the document's header), with clearly local names.

Devices and the engine that runs them locally:

- SV1 (34 qubits, shots 0..100000): the state-vector engine.
- DM1 (17 qubits, shots 0..100000): the density-matrix engine.
- TN1 (50 qubits, shots 1..1000): the state-vector engine when the circuit fits in it (see
  ``_executor``); larger circuits end FAILED instead of being contracted as a tensor network.
- ``Local/aquila-sim`` (``arn:aws:braket:{region}::device/qpu/local/aquila-sim``): an analog
  Hamiltonian simulation (AHS) QPU modelled on QuEra Aquila's published capabilities (schema
  ``braket.device_schema.quera.quera_device_capabilities``, so the SDK parses it as Aquila's);
  runs ``braket.ir.ahs.program`` on the default simulator's Rydberg-atom engine.
- ``Local/Aurora``: a QPU that is always OFFLINE (``DeviceOfflineException`` on create).
- ``Local/Legacy``: a QPU that is RETIRED (``DeviceRetiredException`` on create).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "AHS_C6_COEFFICIENT",
    "AQUILA_NAME",
    "DEVICE_STATUSES",
    "DEVICE_TYPES",
    "DM1_ARN",
    "SIMULATOR_ENGINES",
    "SV1_ARN",
    "TN1_ARN",
    "LocalDevice",
    "default_devices",
    "load_capabilities",
]

SV1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
TN1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/tn1"

DEVICE_TYPES = frozenset({"SIMULATOR", "QPU"})
DEVICE_STATUSES = frozenset({"ONLINE", "OFFLINE", "RETIRED"})
#: Local engines: ``state_vector`` (StateVectorSimulator), ``density_matrix``
#: (DensityMatrixSimulator), ``analog_hamiltonian`` (RydbergAtomSimulator, AHS programs).
SIMULATOR_ENGINES = frozenset({"state_vector", "density_matrix", "analog_hamiltonian"})
#: Name (last ARN segment) of the local AHS device.
AQUILA_NAME = "aquila-sim"


def _one_of(allowed: frozenset[str]) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            raise ValueError(
                f"LocalDevice.{attribute.name} must be one of {sorted(allowed)}, got {value!r}"
            )

    return check


def _engine(_inst: object, _attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value not in SIMULATOR_ENGINES:
        raise ValueError(
            f"LocalDevice.simulator must be None or one of {sorted(SIMULATOR_ENGINES)}, "
            f"got {value!r}"
        )


def _capabilities(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    # The properties below read these members; fail at construction, not on first read.
    if not isinstance(value, dict):
        raise TypeError("LocalDevice.capabilities must be a dict")
    for path in (("service", "shotsRange"), ("paradigm", "qubitCount"), ("action",)):
        node: Any = value
        for key in path:
            if not isinstance(node, dict) or key not in node:
                raise ValueError(f"LocalDevice.capabilities must contain {'.'.join(path)}")
            node = node[key]


@attrs.frozen
class LocalDevice:
    """One device of the local service, as GetDevice / SearchDevices describe it.

    ``simulator`` names the local engine that runs the device's tasks (``"state_vector"`` or
    ``"density_matrix"``); ``None`` for QPUs, which never run anything locally.
    """

    arn: str
    name: str
    provider_name: str
    device_type: str = attrs.field(validator=_one_of(DEVICE_TYPES))
    status: str = attrs.field(validator=_one_of(DEVICE_STATUSES))
    capabilities: dict[str, Any] = attrs.field(validator=_capabilities, repr=False, eq=False)
    simulator: str | None = attrs.field(default=None, kw_only=True, validator=_engine)

    @property
    def capabilities_json(self) -> str:
        """The ``deviceCapabilities`` string of GetDevice (compact JSON)."""
        return json.dumps(self.capabilities, separators=(",", ":"))

    @property
    def qubit_count(self) -> int:
        """``paradigm.qubitCount``: the most qubits a program may use on this device."""
        return int(self.capabilities["paradigm"]["qubitCount"])

    @property
    def shots_range(self) -> tuple[int, int]:
        """``service.shotsRange`` as ``(min, max)``, both inclusive."""
        low, high = self.capabilities["service"]["shotsRange"]
        return int(low), int(high)

    @property
    def poll_interval_millis(self) -> int:
        """``service.getTaskPollIntervalMillis`` (1000 when the document has none)."""
        value = self.capabilities["service"].get("getTaskPollIntervalMillis")
        return 1000 if value is None else int(value)

    @property
    def supported_action_names(self) -> frozenset[str]:
        """Action schema names the device accepts, e.g. ``braket.ir.openqasm.program``."""
        return frozenset(self.capabilities["action"])


_DATA = Path(__file__).with_name("data")
# Read once at import (a few kB each) so no coroutine ever touches the disk for them.
_DOCUMENTS: dict[str, str] = {
    name: (_DATA / f"{name}.json").read_text(encoding="utf-8")
    for name in ("sv1", "dm1", "tn1", "aquila", "aurora", "legacy")
}
#: The Rydberg interaction coefficient C6 of the AHS device ((rad/s) m^6), from its document.
AHS_C6_COEFFICIENT = float(json.loads(_DOCUMENTS["aquila"])["paradigm"]["rydberg"]["c6Coefficient"])


def load_capabilities(name: str) -> dict[str, Any]:
    """A fresh copy of the bundled capability document ``name``: ``sv1``, ``dm1``, ``tn1``,
    ``aquila``, ``aurora`` or ``legacy``."""
    try:
        text = _DOCUMENTS[name]
    except KeyError:
        raise ValueError(
            f"capability document name must be one of {sorted(_DOCUMENTS)}, got {name!r}"
        ) from None
    doc: dict[str, Any] = json.loads(text)
    return doc


def _simulator(arn: str, name: str, doc: str, engine: str) -> LocalDevice:
    return LocalDevice(
        arn, name, "Amazon Braket", "SIMULATOR", "ONLINE", load_capabilities(doc), simulator=engine
    )


def _qpu(arn: str, name: str, status: str, doc: str, engine: str | None = None) -> LocalDevice:
    return LocalDevice(arn, name, "Local", "QPU", status, load_capabilities(doc), simulator=engine)


def default_devices(region: str = "us-east-1") -> list[LocalDevice]:
    """The local catalogue: SV1, DM1, TN1 and ``Local/aquila-sim`` (ONLINE), ``Local/Aurora``
    (OFFLINE) and ``Local/Legacy`` (RETIRED). QPU ARNs carry ``region``; simulator ARNs are
    region-less as on AWS. Each call returns new objects with their own capability dicts."""
    if not region:
        raise ValueError("region must be a non-empty string")
    qpu = f"arn:aws:braket:{region}::device/qpu/local"
    return [
        _simulator(SV1_ARN, "SV1", "sv1", "state_vector"),
        _simulator(DM1_ARN, "DM1", "dm1", "density_matrix"),
        _simulator(TN1_ARN, "TN1", "tn1", "state_vector"),
        _qpu(f"{qpu}/{AQUILA_NAME}", AQUILA_NAME, "ONLINE", "aquila", "analog_hamiltonian"),
        _qpu(f"{qpu}/Aurora", "Aurora", "OFFLINE", "aurora"),
        _qpu(f"{qpu}/Legacy", "Legacy", "RETIRED", "legacy"),
    ]
