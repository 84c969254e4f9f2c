"""Spending limit models (Create/Update/Delete/SearchSpendingLimits)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

__all__ = ["SpendingLimit", "TimePeriod"]


@attrs.frozen
class TimePeriod:
    """The period a spending limit applies to."""

    start_at: datetime
    end_at: datetime


@attrs.frozen
class SpendingLimit:
    """One spending limit of a SearchSpendingLimits page (``SpendingLimitSummary``).

    Amounts are the wire's decimal strings; ``*_amount`` properties give ``Decimal``.
    """

    spending_limit_arn: str
    device_arn: str
    time_period: TimePeriod
    spending_limit: str
    queued_spend: str
    total_spend: str
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str] = attrs.field(factory=dict)

    @property
    def spending_limit_amount(self) -> Decimal:
        """``spending_limit`` as a Decimal (USD)."""
        return Decimal(self.spending_limit)

    @property
    def queued_spend_amount(self) -> Decimal:
        """``queued_spend`` as a Decimal (USD)."""
        return Decimal(self.queued_spend)

    @property
    def total_spend_amount(self) -> Decimal:
        """``total_spend`` as a Decimal (USD)."""
        return Decimal(self.total_spend)
