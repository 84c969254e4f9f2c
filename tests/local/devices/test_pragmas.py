"""Pragmas as Braket reads them: every pragma of a line counts."""

from __future__ import annotations

import pytest

from braket_async.local.devices._pragmas import (
    capability_pragma_name,
    pragma_commands,
    split_pragmas,
)

ONE_LINE = (
    "OPENQASM 3; qubit[2] q; h q[0]; "
    "#pragma braket result expectation z(q[0]) #pragma braket result probability q[0], q[1]"
)


def test_pragmas_sharing_a_line_are_split() -> None:
    assert split_pragmas(ONE_LINE).split("\n") == [
        "OPENQASM 3; qubit[2] q; h q[0];",
        "#pragma braket result expectation z(q[0])",
        "#pragma braket result probability q[0], q[1]",
    ]
    assert pragma_commands(ONE_LINE) == [
        "braket result expectation z(q[0])",
        "braket result probability q[0], q[1]",
    ]


def test_commented_pragmas_stay_comments() -> None:
    source = "qubit q; // #pragma braket result state_vector #pragma braket result probability"
    assert split_pragmas(source) == source
    assert pragma_commands(source) == []
    assert split_pragmas("#pragma braket result state_vector") == (
        "#pragma braket result state_vector"
    )


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("braket result expectation z(q[0])", "braket_result_type_expectation"),
        ("braket result adjoint_gradient expectation(z(q[0])) theta", None),
        ("braket result state_vector", "braket_result_type_state_vector"),
        ("braket noise bit_flip(0.1) q[0]", "braket_noise_bit_flip"),
        ("braket unitary([[0, 1.0], [1.0, 0]]) q[0]", "braket_unitary_matrix"),
        ("braket verbatim", "verbatim"),
        ("something else", None),
    ],
)
def test_capability_names(command: str, name: str | None) -> None:
    if "adjoint_gradient" in command:
        name = "braket_result_type_adjoint_gradient"
    assert capability_pragma_name(command) == name
