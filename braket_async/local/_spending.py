"""Spending limits enforced at CreateQuantumTask, as the Braket developer guide describes them.

From "Cost tracking and saving" / "Setting spending limits for Amazon Braket QPUs": Braket
"tracks your cumulative spending and validates every task creation request against your
configured limit. If a task's estimated cost exceeds your remaining spending limit, Amazon
Braket rejects the task immediately with a validation error"; with a time period, "tasks can
only be submitted in that specified period" (those submitted outside it are rejected); limits
apply to QPU tasks only (CreateSpendingLimit: "Simulators do not support spending limits"),
and only to tasks created while the limit exists and inside its period.

How spend is counted here: a task's estimated cost is its device's task fee plus shots times the
shot fee (``_prices.price_of``). Accepted, it counts in ``queuedSpend`` until it ends; COMPLETED
moves it to ``totalSpend``; FAILED or CANCELLED releases it (no charge). The remaining limit is
``spendingLimit - queuedSpend - totalSpend``. The wording of the refusals is ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from ._devices import LocalDevice
from ._errors import Validation
from ._prices import UnknownDevicePrice, price_of
from ._store import SpendingLimitRecord, TaskRecord

__all__ = ["check_spending_limit_device", "reserve_spend", "settle_spend", "task_cost"]

_CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def task_cost(device: LocalDevice, shots: int) -> Decimal | None:
    """The estimated cost of a task of ``shots`` on ``device`` (None: no published price)."""
    try:
        return price_of(device.arn).task_cost(shots)
    except UnknownDevicePrice:
        return None


def check_spending_limit_device(device: LocalDevice) -> None:
    """CreateSpendingLimit takes QPUs only."""
    if not device.is_qpu:
        raise Validation(f"Simulators do not support spending limits: {device.arn}")


def reserve_spend(limits: Iterable[SpendingLimitRecord], task: TaskRecord, now: datetime) -> None:
    """Check ``task`` against the limits of its device and count its cost as queued spend;
    ``Validation`` (nothing counted) when a limit refuses it."""
    mine = [limit for limit in limits if limit.device_arn == task.device_arn]
    if not mine:
        return
    active = [limit for limit in mine if limit.start_at <= now < limit.end_at]
    if not active:
        first = mine[0]
        raise Validation(
            f"The spending limit {first.arn} for device {task.device_arn} allows quantum tasks "
            f"only from {first.start_at.isoformat()} to {first.end_at.isoformat()}."
        )
    cost = task_cost(task.device, task.shots)
    if cost is None:
        return
    for limit in active:
        remaining = (
            Decimal(limit.spending_limit) - Decimal(limit.queued_spend) - Decimal(limit.total_spend)
        )
        if cost > remaining:
            raise Validation(
                f"The estimated cost of this quantum task, ${_money(cost)}, exceeds the remaining "
                f"${_money(max(remaining, Decimal(0)))} of spending limit {limit.arn} for device "
                f"{task.device_arn}."
            )
    for limit in active:
        limit.queued_spend = _money(Decimal(limit.queued_spend) + cost)
    task.spend = [(limit, cost) for limit in active]


def settle_spend(task: TaskRecord) -> None:
    """On a task's end: its queued cost becomes total spend (COMPLETED) or is released."""
    for limit, cost in task.spend:
        limit.queued_spend = _money(max(Decimal(0), Decimal(limit.queued_spend) - cost))
        if task.status == "COMPLETED":
            limit.total_spend = _money(Decimal(limit.total_spend) + cost)
    task.spend = []
