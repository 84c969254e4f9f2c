"""The failing half of the Braket SDK's integration-test job script: it prints, then opens a
file that does not exist."""

from __future__ import annotations


def start_here() -> None:
    print("Test job started!!!!!")
    open("fake_file")  # noqa: SIM115 - raises FileNotFoundError, as intended
