"""The local service's device catalogue: Amazon's simulators and Braket's QPUs, by region.

Every device is a real Braket device under its real ARN, one the Braket SDK's
``braket.devices.Devices`` enum names. Capability documents live in ``data/*.json`` (sources,
dates and how faithful each is: ``docs/devices.md``); each parses with its provider's schema
class of ``amazon-braket-schemas``. A QPU is served in the region its ARN names; SV1 and DM1 in
every Braket region, TN1 where Braket offers it (``_regions``).
The simulator documents list the OpenQASM and JAQCD actions and no program sets, as Braket
publishes them (``docs/devices.md``); the QPUs that Braket lists with program sets (IQM,
Rigetti) list the action.

Devices and the engine that runs them locally:

- SV1 (34 qubits, shots 0..100000): the state-vector engine.
- DM1 (17 qubits, shots 0..100000): the density-matrix engine.
- TN1 (50 qubits, shots 1..1000): the state-vector engine when the circuit fits in it (see
  ``_executor``); larger circuits end FAILED instead of being contracted as a tensor network.
- Gate-model QPUs (IonQ Forte-1, IQM Garnet and Emerald, Rigetti Cepheus-1-108Q, AQT IBEX-Q1):
  the density-matrix engine under the device's noise model (``_noise``), after the device's
  rules (``_qpu_rules``).
- QuEra Aquila: ``braket.ir.ahs.program`` on the default simulator's Rydberg-atom engine.
- IonQ Forte-Enterprise-1 is listed OFFLINE (``DeviceOfflineException`` on create); IonQ
  Aria-1 and Rigetti Ankaa-3 are RETIRED (``DeviceRetiredException``), as Braket lists them.
  ``with_status`` gives a catalogue with other statuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from ...models.devices import SV1_ARN
from ...models.enums import DeviceStatus, DeviceType
from ._regions import SIMULATOR_REGIONS, TN1_REGIONS, arn_region

__all__ = [
    "AHS_C6_COEFFICIENT",
    "AQUILA_ARN",
    "DEVICE_STATUSES",
    "DEVICE_TYPES",
    "DM1_ARN",
    "FORTE_1_ARN",
    "OFFLINE_QPU_ARN",
    "RETIRED_QPU_ARN",
    "SIMULATOR_ENGINES",
    "SV1_ARN",
    "TN1_ARN",
    "LocalDevice",
    "default_devices",
    "load_capabilities",
    "with_status",
]

DM1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
TN1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/tn1"

DEVICE_TYPES = frozenset(map(str, DeviceType))
DEVICE_STATUSES = frozenset(map(str, DeviceStatus))
#: Local engines: ``state_vector`` (StateVectorSimulator), ``density_matrix``
#: (DensityMatrixSimulator), ``analog_hamiltonian`` (RydbergAtomSimulator, AHS programs).
SIMULATOR_ENGINES = frozenset({"state_vector", "density_matrix", "analog_hamiltonian"})
_IONQ = "arn:aws:braket:us-east-1::device/qpu/ionq"
FORTE_1_ARN = f"{_IONQ}/Forte-1"
#: QuEra Aquila, the analog (AHS) device.
AQUILA_ARN = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"
#: The device listed OFFLINE by default (IonQ Forte-Enterprise-1).
OFFLINE_QPU_ARN = f"{_IONQ}/Forte-Enterprise-1"
#: A RETIRED device in us-east-1 (IonQ Aria-1, retired by Braket in March 2026).
RETIRED_QPU_ARN = f"{_IONQ}/Aria-1"


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

    ``simulator`` names the local engine that runs the device's tasks (``"state_vector"``,
    ``"density_matrix"`` or ``"analog_hamiltonian"``); ``None`` for a device that runs nothing.
    ``regions``: where the device is offered (default: the region its ARN names).
    """

    arn: str
    name: str
    provider_name: str
    device_type: str = attrs.field(validator=_one_of(DEVICE_TYPES))
    status: str = attrs.field(validator=_one_of(DEVICE_STATUSES))
    capabilities: dict[str, Any] = attrs.field(validator=_capabilities, repr=False, eq=False)
    simulator: str | None = attrs.field(default=None, kw_only=True, validator=_engine)
    regions: frozenset[str] = attrs.field(kw_only=True)

    @regions.default
    def _arn_region(self) -> frozenset[str]:
        region = arn_region(self.arn)
        return frozenset({region}) if region else SIMULATOR_REGIONS

    @property
    def is_qpu(self) -> bool:
        """Whether this is a QPU (rules, compilation, noise, queue and windows apply)."""
        return self.device_type == "QPU"

    @property
    def native_gates(self) -> tuple[str, ...]:
        """``paradigm.nativeGateSet`` (lower case); empty for simulators."""
        return tuple(g.lower() for g in self.capabilities["paradigm"].get("nativeGateSet") or ())

    @property
    def execution_windows(self) -> list[dict[str, str]]:
        """``service.executionWindows``."""
        return list(self.capabilities["service"].get("executionWindows") or ())

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
_NAMES = (
    "sv1", "dm1", "tn1", "quera_aquila", "ionq_forte_1", "ionq_forte_enterprise_1", "ionq_aria_1",
    "iqm_garnet", "iqm_emerald", "rigetti_ankaa_3", "rigetti_cepheus_1_108q", "aqt_ibex_q1",
)  # fmt: skip
# Read once at import (a few kB to 100 kB each) so no coroutine ever touches the disk for them.
_DOCUMENTS: dict[str, str] = {
    name: (_DATA / f"{name}.json").read_text(encoding="utf-8") for name in _NAMES
}
#: The Rydberg interaction coefficient C6 of the AHS device ((rad/s) m^6), from its document.
AHS_C6_COEFFICIENT = float(
    json.loads(_DOCUMENTS["quera_aquila"])["paradigm"]["rydberg"]["c6Coefficient"]
)


def load_capabilities(name: str) -> dict[str, Any]:
    """A fresh copy of the bundled capability document ``name`` (``sv1``, ``iqm_garnet``, ...;
    the file names of ``data/``)."""
    try:
        text = _DOCUMENTS[name]
    except KeyError:
        raise ValueError(
            f"capability document name must be one of {sorted(_DOCUMENTS)}, got {name!r}"
        ) from None
    doc: dict[str, Any] = json.loads(text)
    return doc


def _simulator(arn: str, name: str, doc: str, engine: str, regions: frozenset[str]) -> LocalDevice:
    return LocalDevice(
        arn,
        name,
        "Amazon Braket",
        "SIMULATOR",
        "ONLINE",
        load_capabilities(doc),
        simulator=engine,
        regions=regions,
    )


def _qpu(arn: str, name: str, provider: str, status: str, doc: str, engine: str) -> LocalDevice:
    return LocalDevice(arn, name, provider, "QPU", status, load_capabilities(doc), simulator=engine)


def default_devices() -> list[LocalDevice]:
    """The catalogue: SV1, DM1, TN1 and Braket's QPUs under their ARNs, with the statuses
    Braket lists (IonQ Forte-Enterprise-1 OFFLINE here; IonQ Aria-1 and Rigetti Ankaa-3
    RETIRED). Each call returns new objects with their own capability dicts."""
    dm = "density_matrix"
    return [
        _simulator(SV1_ARN, "SV1", "sv1", "state_vector", SIMULATOR_REGIONS),
        _simulator(DM1_ARN, "DM1", "dm1", dm, SIMULATOR_REGIONS),
        _simulator(TN1_ARN, "TN1", "tn1", "state_vector", TN1_REGIONS),
        _qpu(FORTE_1_ARN, "Forte 1", "IonQ", "ONLINE", "ionq_forte_1", dm),
        _qpu(OFFLINE_QPU_ARN, "Forte Enterprise 1", "IonQ", "OFFLINE",
             "ionq_forte_enterprise_1", dm),
        _qpu(RETIRED_QPU_ARN, "Aria 1", "IonQ", "RETIRED", "ionq_aria_1", dm),
        _qpu(AQUILA_ARN, "Aquila", "QuEra", "ONLINE", "quera_aquila", "analog_hamiltonian"),
        _qpu(f"{_IQM}/Garnet", "Garnet", "IQM", "ONLINE", "iqm_garnet", dm),
        _qpu(f"{_IQM}/Emerald", "Emerald", "IQM", "ONLINE", "iqm_emerald", dm),
        _qpu(f"{_AQT}/Ibex-Q1", "IBEX Q1", "AQT", "ONLINE", "aqt_ibex_q1", dm),
        _qpu(f"{_RIGETTI}/Ankaa-3", "Ankaa-3", "Rigetti", "RETIRED", "rigetti_ankaa_3", dm),
        _qpu(f"{_RIGETTI}/Cepheus-1-108Q", "Cepheus-1-108Q", "Rigetti", "ONLINE",
             "rigetti_cepheus_1_108q", dm),
    ]  # fmt: skip


_IQM = "arn:aws:braket:eu-north-1::device/qpu/iqm"
_AQT = "arn:aws:braket:eu-north-1::device/qpu/aqt"
_RIGETTI = "arn:aws:braket:us-west-1::device/qpu/rigetti"


def with_status(devices: list[LocalDevice], statuses: dict[str, str]) -> list[LocalDevice]:
    """``devices`` with the status of each ARN in ``statuses`` replaced (e.g. bring
    Forte-Enterprise-1 ONLINE: ``with_status(default_devices(), {OFFLINE_QPU_ARN: "ONLINE"})``)."""
    unknown = set(statuses) - {d.arn for d in devices}
    if unknown:
        raise ValueError(f"with_status: no device {sorted(unknown)[0]!r} in the catalogue")
    return [attrs.evolve(d, status=statuses[d.arn]) if d.arn in statuses else d for d in devices]
