"""CreateQuantumTask's capability checks, on the bundled documents."""

from __future__ import annotations

import re
from typing import Any

import pytest

from braket_async.local._capabilities import PARTIAL_MEASUREMENT, check_associations, check_task
from braket_async.local._devices import default_devices
from braket_async.local._errors import Validation

DEVICES = {d.name: d for d in default_devices()}
OPENQASM = "braket.ir.openqasm.program"


def qasm(source: str) -> dict[str, Any]:
    return {"braketSchemaHeader": {"name": OPENQASM, "version": "1"}, "source": source}


@pytest.mark.parametrize(
    "source",
    [
        "qubit[3] q; bit[2] b; b[0] = measure q[0]; b[1] = measure q[1];",
        "qubit[3] q; bit[2] b; b = measure q[0:1];",
        "qubit[2] q; qubit r; bit[2] b; b = measure q;",
        "qreg q[2]; creg c[1]; measure q[0] -> c[0];",
    ],
)
def test_partial_measurement_is_refused_on_sv1_and_dm1(source: str) -> None:
    for name in ("SV1", "DM1"):
        with pytest.raises(Validation, match="all qubits in the program to be measured") as e:
            check_task(DEVICES[name], OPENQASM, qasm(source), 10)
        assert str(e.value) == PARTIAL_MEASUREMENT


@pytest.mark.parametrize(
    "source",
    [
        "qubit[2] q; h q[0];",  # no measurement at all
        "qubit[2] q; bit[2] b; b = measure q;",
        "qubit[3] q; bit[3] b; b = measure q[0:2];",
        "qubit[3] q; bit[3] b; b[0] = measure q[0]; b[1:2] = measure q[1, 2];",
        "bit[2] b; b[0] = measure $0; b[1] = measure $1; h $0; cnot $0, $1;",
        "qubit[2] q; bit[2] b; for int i in [0:1] { b[i] = measure q[i]; }",  # left to the engine
    ],
)
def test_full_or_unresolvable_measurement_is_accepted(source: str) -> None:
    assert check_task(DEVICES["SV1"], OPENQASM, qasm(source), 10)["programCount"] == 1


def test_tn1_does_not_require_every_qubit_measured() -> None:
    source = "qubit[3] q; bit[1] b; b[0] = measure q[0];"
    assert check_task(DEVICES["TN1"], OPENQASM, qasm(source), 10)


@pytest.mark.parametrize(
    ("device", "pragma", "shots", "match"),
    [
        ("SV1", "braket noise depolarizing(0.1) q[0]", 10, "braket_noise_depolarizing"),
        ("SV1", "braket result state_vector", 10, "StateVector requires shots between 0 and 0"),
        ("SV1", "braket result sample z(q[0])", 0, "Sample requires shots between 1"),
        ("SV1", "braket result adjoint_gradient expectation(z(q[0])) all", 5, "AdjointGradient"),
        ("DM1", "braket result adjoint_gradient expectation(z(q[0])) all", 0, "adjoint_gradient"),
        ("DM1", "braket result state_vector", 0, "StateVector is not supported"),
    ],
)
def test_pragmas_and_result_types_follow_the_capabilities(
    device: str, pragma: str, shots: int, match: str
) -> None:
    source = f"qubit[1] q; h q[0];\n#pragma {pragma}"
    with pytest.raises(Validation, match=match):
        check_task(DEVICES[device], OPENQASM, qasm(source), shots)


def test_allowed_pragmas_pass() -> None:
    source = (
        "input float theta; qubit[1] q; rx(theta) q[0];\n"
        "#pragma braket result adjoint_gradient expectation(z(q[0])) theta"
    )
    assert check_task(DEVICES["SV1"], OPENQASM, qasm(source), 0)
    noisy = "qubit[1] q; x q[0];\n#pragma braket noise bit_flip(0.1) q[0]"
    assert check_task(DEVICES["DM1"], OPENQASM, qasm(noisy), 10)


def test_reservations() -> None:
    reservation = [{"type": "RESERVATION_TIME_WINDOW_ARN", "arn": "arn:x:reservation/1"}]
    with pytest.raises(Validation, match=r"^Braket Direct is not supported for arn:aws:braket"):
        check_associations(DEVICES["SV1"], reservation)
    with pytest.raises(Validation, match="Reservation arn is invalid"):
        check_associations(DEVICES["Aquila"], reservation)
    check_associations(DEVICES["SV1"], [])


@pytest.mark.parametrize(
    "source",
    [
        "qubit[3] q; bit[3] b; b = measure q[0:999999999];",  # clamped to the register
        "qubit[3] q; bit[1] b; b = measure q[0:0:2];",  # unusual range: left to the engine
        "/* measure q[0]; */ qubit[2] q; bit[2] b; b = measure q;",
        "measure q" + " " * 10_000 + "x;",  # malformed: left to the engine
    ],
)
def test_unusual_text_is_bounded_and_left_to_the_engine(source: str) -> None:
    assert check_task(DEVICES["SV1"], OPENQASM, qasm(source), 10)


def test_huge_programs_skip_the_text_checks() -> None:
    from braket_async.local._capabilities import MAX_CHECKED_SOURCE

    partial = "qubit[3] q; bit[1] b; b[0] = measure q[0];"
    padded = partial + "\n//" + "x" * MAX_CHECKED_SOURCE
    with pytest.raises(Validation):
        check_task(DEVICES["SV1"], OPENQASM, qasm(partial), 10)
    assert check_task(DEVICES["SV1"], OPENQASM, qasm(padded), 10)


@pytest.mark.parametrize(("device", "shots"), [("TN1", 0), ("SV1", 100_001), ("Aquila", 1001)])
def test_shots_outside_the_range_are_refused(device: str, shots: int) -> None:
    action = qasm("qubit[1] q; h q[0];")
    action_type = OPENQASM
    if device == "Aquila":
        action_type = "braket.ir.ahs.program"
    low, high = DEVICES[device].shots_range
    expected = f"Shot count should be between {low} and {high} on {DEVICES[device].arn}, "
    with pytest.raises(Validation, match=re.escape(expected + f"but found {shots}.")):
        check_task(DEVICES[device], action_type, action, shots)
