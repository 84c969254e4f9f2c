"""A hybrid job whose script fails: the service reports its exception as failureReason."""

from __future__ import annotations

import os


def main() -> None:
    print(f"starting {os.environ['AMZN_BRAKET_JOB_NAME']}")
    angle = os.environ.get("NOT_SET_BY_ANYONE")
    if angle is None:
        raise ValueError("angle hyperparameter missing: cannot build the ansatz")


if __name__ == "__main__":
    main()
