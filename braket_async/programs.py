"""Programs (the ``action`` of a quantum task) and device parameters.

``create_quantum_task(action=...)`` accepts, and :func:`coerce_action` turns into the wire JSON:

* an :class:`OpenQASMProgram`;
* OpenQASM source text (a ``str`` starting with ``OPENQASM``);
* a JSON string or a ``dict`` of an action document (``braketSchemaHeader`` + body);
* anything with a Braket SDK style ``to_ir()`` (``braket.circuits.Circuit``), asked for
  OpenQASM when the SDK is installed.

``device_parameters`` accepts a ``dict``, a JSON string, an SDK parameters object (anything with
``json()`` / ``model_dump_json()``) or ``None``; :func:`gate_model_parameters` builds the
gate-model simulator document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeAlias

import attrs

from ._json import JsonRejected, dump_json, load_json
from .errors import ParameterError

__all__ = [
    "OPENQASM_HEADER",
    "Action",
    "DeviceParameters",
    "OpenQASMProgram",
    "SupportsJson",
    "SupportsToIR",
    "coerce_action",
    "coerce_device_parameters",
    "gate_model_parameters",
]

OPENQASM_HEADER: Mapping[str, str] = {"name": "braket.ir.openqasm.program", "version": "1"}
"""``braketSchemaHeader`` of an OpenQASM action."""

_SIMULATOR_PARAMETERS_HEADER = {
    "name": "braket.device_schema.simulators.gate_model_simulator_device_parameters",
    "version": "1",
}
_GATE_MODEL_PARAMETERS_HEADER = {
    "name": "braket.device_schema.gate_model_parameters",
    "version": "1",
}


def _inputs(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}


@attrs.frozen
class OpenQASMProgram:
    """An OpenQASM 3 program with optional ``inputs`` (values of its ``input`` variables)."""

    source: str = attrs.field(validator=attrs.validators.instance_of(str))
    inputs: dict[str, Any] = attrs.field(factory=dict, converter=_inputs)

    def to_action(self) -> dict[str, Any]:
        """The action document (``braket.ir.openqasm.program`` v1)."""
        return {
            "braketSchemaHeader": dict(OPENQASM_HEADER),
            "source": self.source,
            "inputs": dict(self.inputs),
        }

    def to_json(self) -> str:
        """The action document as the wire JSON string (:class:`ParameterError` naming
        ``inputs`` when they are cyclic, too deep or not JSON)."""
        return _dump(self.to_action(), "inputs")


class SupportsToIR(Protocol):
    """A program in the Braket SDK's style: ``braket.circuits.Circuit`` and its kin."""

    def to_ir(self, *args: Any, **kwargs: Any) -> Any:
        """The program's intermediate representation (asked for OpenQASM when possible).

        Args:
            *args: The IR type (the SDK's ``IRType.OPENQASM``), when the program takes one.
            **kwargs: The SDK's serialisation options.
        """
        ...


class SupportsJson(Protocol):
    """A pydantic model of the Braket SDK's schemas (device parameters and the like)."""

    def json(self, *args: Any, **kwargs: Any) -> str:
        """The model as a JSON string.

        Args:
            *args: pydantic's positional options.
            **kwargs: pydantic's keyword options.
        """
        ...


Action: TypeAlias = str | OpenQASMProgram | Mapping[str, Any] | SupportsToIR
"""What ``action`` (and each item of ``submit_batch``) accepts: OpenQASM source text, an
:class:`OpenQASMProgram`, an action document as a mapping or a JSON string, or a Braket SDK
program (``to_ir()``)."""
DeviceParameters: TypeAlias = str | Mapping[str, Any] | SupportsJson | None
"""What ``device_parameters`` accepts: a mapping, a JSON object string, an SDK parameters
model (``json()`` / ``model_dump_json()``), or ``None`` to leave them out."""


def gate_model_parameters(qubit_count: int, disable_qubit_rewiring: bool = False) -> dict[str, Any]:
    """Gate-model simulator device parameters for a program on ``qubit_count`` qubits.

    Args:
        qubit_count: Qubits the program uses (>= 0).
        disable_qubit_rewiring: Run on the qubits as numbered (QPUs).

    Returns:
        The ``gate_model_simulator_device_parameters`` document.

    Raises:
        ParameterError: ``qubit_count`` is not an int >= 0.
    """
    if isinstance(qubit_count, bool) or not isinstance(qubit_count, int) or qubit_count < 0:
        raise ParameterError("qubit_count", f"must be an int >= 0, got {qubit_count!r}")
    return {
        "braketSchemaHeader": dict(_SIMULATOR_PARAMETERS_HEADER),
        "paradigmParameters": {
            "braketSchemaHeader": dict(_GATE_MODEL_PARAMETERS_HEADER),
            "qubitCount": qubit_count,
            "disableQubitRewiring": bool(disable_qubit_rewiring),
        },
    }


_ACTION_KINDS = (
    "an OpenQASMProgram, OpenQASM source ('OPENQASM 3; ...'), a JSON object string, a dict, "
    "or an object with to_ir() (e.g. braket.circuits.Circuit)"
)


def coerce_action(action: Action, *, field: str = "action") -> str:
    """The wire JSON string of ``action`` (see the module docstring for what is accepted).

    Args:
        action: The program.
        field: The parameter name errors report.

    Returns:
        The action document as a JSON string.

    Raises:
        ParameterError: ``action`` is none of the accepted kinds, or not valid JSON.
    """
    if isinstance(action, str):
        text = action.lstrip()
        if text.startswith("{"):
            _check_json_object(action, field)
            return action
        if text.startswith("OPENQASM"):
            return _dump(OpenQASMProgram(action).to_action(), field)
        raise ParameterError(
            field,
            "a string must be OpenQASM source starting with 'OPENQASM' or a JSON object; "
            "wrap other source in OpenQASMProgram(source)",
        )
    if isinstance(action, OpenQASMProgram):
        return _dump(action.to_action(), f"{field}.inputs")
    if isinstance(action, Mapping):
        return _dump(action, field)
    to_ir = getattr(action, "to_ir", None)
    if callable(to_ir):
        return _serialise_ir(_call_to_ir(action), field)
    raise ParameterError(field, f"must be {_ACTION_KINDS}, got {type(action).__name__}")


def coerce_device_parameters(
    value: DeviceParameters, *, field: str = "device_parameters"
) -> str | None:
    """The wire JSON string of device parameters, or ``None`` to leave them out.

    Args:
        value: The device parameters.
        field: The parameter name errors report.

    Returns:
        The parameters as a JSON string, or None.

    Raises:
        ParameterError: ``value`` is none of the accepted kinds, or not a JSON object.
    """
    if value is None:
        return None
    if isinstance(value, str):
        _check_json_object(value, field)
        return value
    if isinstance(value, Mapping):
        return _dump(value, field)
    if callable(getattr(value, "model_dump_json", None)) or callable(getattr(value, "json", None)):
        return _serialise_ir(value, field)
    raise ParameterError(
        field,
        "must be a dict, a JSON object string, an object with json()/model_dump_json() "
        f"or None, got {type(value).__name__}",
    )


def _call_to_ir(program: Any) -> Any:
    # Ask the SDK for OpenQASM explicitly: older SDKs default to_ir() to JAQCD.
    try:
        from braket.circuits.serialization import IRType
    except ImportError:
        return program.to_ir()
    try:
        return program.to_ir(IRType.OPENQASM)
    except TypeError:
        return program.to_ir()


def _serialise_ir(ir: Any, field: str) -> str:
    for name in ("model_dump_json", "json"):
        method = getattr(ir, name, None)
        if callable(method):
            text = method()
            if isinstance(text, str):
                return text
    if isinstance(ir, str):
        return coerce_action(ir, field=field)
    if isinstance(ir, Mapping):
        return _dump(ir, field)
    raise ParameterError(field, f"to_ir() returned {type(ir).__name__}, which cannot be serialised")


def _dump(value: Mapping[str, Any], field: str) -> str:
    # Bounded: a cyclic or 10 000-deep dict is a ParameterError here, not a RecursionError.
    try:
        return dump_json(value)
    except JsonRejected as exc:
        raise ParameterError(field, exc.reason) from None


def _check_json_object(text: str, field: str) -> None:
    try:
        value = load_json(text)
    except JsonRejected as exc:
        rule = exc.reason if exc.reason.startswith("nested") else f"is {exc.reason}"
        raise ParameterError(field, rule) from None
    if not isinstance(value, dict):
        raise ParameterError(field, f"must be a JSON object, got {type(value).__name__}")
