"""Service quotas of the local Braket service: request-rate token buckets and concurrency.

Defaults are the AWS ones (docs/quotas.md): per-operation rate/burst buckets plus one
account-wide bucket that every call draws from. A call is admitted only when both its
operation's bucket (if it has one) and the account bucket hold a token; a refused call takes
nothing. Refused calls are answered 429 ThrottlingException "Rate exceeded".

Concurrency: at most ``concurrent_tasks`` quantum tasks RUNNING (100 on AWS for SV1/DM1;
the rest wait QUEUED, FIFO) and ``concurrent_jobs`` hybrid jobs RUNNING (3; the rest wait
QUEUED like the service's job queue). ``max_queued_jobs`` bounds that queue: CreateJob beyond
it is refused with 402 ServiceQuotaExceededException (a local choice; None = unbounded).

JSON form of the request-rate settings (``GET/PUT /_local/quotas``)::

    {"off": false, "scale": 0.5, "overrides": {"GetJob": [1, 2], "Account": [100, 200]}}

``scale`` multiplies the AWS defaults, ``overrides`` give an operation (or ``"Account"``) its
own unscaled ``[rate, burst]``, ``off: true`` removes every rate limit. Replacing the rates
this way keeps the concurrency limits in force (:meth:`Quotas.with_rates_from_json`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from ...ratelimit import AWS_ACCOUNT_RATE as _CLIENT_ACCOUNT
from ...ratelimit import AWS_DEFAULT_RATES as _CLIENT_RATES

__all__ = ["AWS_DEFAULT_RATES", "Quotas", "TokenBucket"]

#: (requests per second, burst) per operation, AWS defaults: the client's table
#: (``ratelimit.AWS_DEFAULT_RATES``, the one place it is kept) as plain pairs.
AWS_DEFAULT_RATES: Mapping[str, tuple[float, float]] = {
    op: (rate.per_second, rate.burst) for op, rate in _CLIENT_RATES.items()
}
#: Account-wide (all calls) rate and burst.
AWS_ACCOUNT_RATE: tuple[float, float] = (_CLIENT_ACCOUNT.per_second, _CLIENT_ACCOUNT.burst)


@attrs.define
class TokenBucket:
    """A token bucket: ``rate`` tokens per second up to ``burst``; starts full."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = attrs.field(init=False)
    _stamp: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def available(self) -> bool:
        """Whether one token can be taken now."""
        self._refill()
        return self._tokens >= 1.0

    def take(self) -> None:
        """Take one token (call :meth:`available` first)."""
        self._tokens -= 1.0


class Quotas:
    """Rate buckets and concurrency limits; ``None`` rates mean unlimited.

    Build with :meth:`aws_defaults` or :meth:`off`; ``clock`` is injectable for tests.

    Args:
        rates: ``(rate, burst)`` by operation.
        account: The account-wide ``(rate, burst)``.
        concurrent_tasks: Tasks that may run at once (``None``: no limit).
        concurrent_jobs: Jobs that may run at once (``None``: no limit).
        max_queued_jobs: Jobs that may wait to run (``None``: no limit).
        clock: The monotonic clock of the buckets.

    Raises:
        ValueError: A limit or rate breaks its rule.
    """

    def __init__(
        self,
        rates: Mapping[str, tuple[float, float]] | None = None,
        account: tuple[float, float] | None = None,
        *,
        concurrent_tasks: int | None = 100,
        concurrent_jobs: int | None = 3,
        max_queued_jobs: int | None = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("concurrent_tasks", concurrent_tasks),
            ("concurrent_jobs", concurrent_jobs),
        ):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        self.rates: dict[str, tuple[float, float]] = dict(rates or {})
        for op, (rate, burst) in self.rates.items():
            if rate <= 0 or burst < 1:
                raise ValueError(f"quota for {op} must have rate > 0 and burst >= 1")
        self.account = account
        self.concurrent_tasks = concurrent_tasks
        self.concurrent_jobs = concurrent_jobs
        self.max_queued_jobs = max_queued_jobs
        self._clock = clock
        self._buckets = {op: TokenBucket(r, b, clock) for op, (r, b) in self.rates.items()}
        self._account = TokenBucket(account[0], account[1], clock) if account else None
        #: How the rates were built by :meth:`aws_defaults` (``None``: given by hand or off).
        self.scale: float | None = None
        self.overrides: dict[str, tuple[float, float]] = {}

    @classmethod
    def aws_defaults(
        cls,
        scale: float = 1.0,
        overrides: Mapping[str, tuple[float, float]] | None = None,
        *,
        concurrent_tasks: int | None = 100,
        concurrent_jobs: int | None = 3,
        max_queued_jobs: int | None = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> Quotas:
        """The AWS default quotas, rates and bursts multiplied by ``scale``.

        ``overrides`` maps an operation (or ``"Account"``) to an unscaled ``(rate, burst)``.

        Args:
            scale: The factor applied to every default rate and burst (> 0).
            overrides: Unscaled ``(rate, burst)`` by operation (or ``"Account"``).
            concurrent_tasks: Tasks that may run at once (``None``: no limit).
            concurrent_jobs: Jobs that may run at once (``None``: no limit).
            max_queued_jobs: Jobs that may wait to run (``None``: no limit).
            clock: The monotonic clock of the buckets.

        Returns:
            The quotas.

        Raises:
            ValueError: ``scale`` or an override breaks its rule.
        """
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        rates = {op: (r * scale, max(1.0, b * scale)) for op, (r, b) in AWS_DEFAULT_RATES.items()}
        account = (AWS_ACCOUNT_RATE[0] * scale, max(1.0, AWS_ACCOUNT_RATE[1] * scale))
        for op, value in (overrides or {}).items():
            if op == "Account":
                if value[0] <= 0 or value[1] < 1:
                    raise ValueError("quota for Account must have rate > 0 and burst >= 1")
                account = value
            else:
                rates[op] = value
        quotas = cls(
            rates,
            account,
            concurrent_tasks=concurrent_tasks,
            concurrent_jobs=concurrent_jobs,
            max_queued_jobs=max_queued_jobs,
            clock=clock,
        )
        quotas.scale = scale
        quotas.overrides = dict(overrides or {})
        return quotas

    @classmethod
    def off(cls) -> Quotas:
        """No rate limits and no concurrency limits."""
        return cls(None, None, concurrent_tasks=None, concurrent_jobs=None, max_queued_jobs=None)

    def fresh(self) -> Quotas:
        """The same limits with full buckets (what a service reset goes back to)."""
        quotas = Quotas(
            self.rates,
            self.account,
            concurrent_tasks=self.concurrent_tasks,
            concurrent_jobs=self.concurrent_jobs,
            max_queued_jobs=self.max_queued_jobs,
            clock=self._clock,
        )
        quotas.scale = self.scale
        quotas.overrides = dict(self.overrides)
        return quotas

    @property
    def enabled(self) -> bool:
        """Whether any rate limit applies."""
        return bool(self._buckets) or self._account is not None

    def try_acquire(self, operation: str) -> bool:
        """Admit one call to ``operation`` (taking tokens) or refuse it (taking none).

        Args:
            operation: The operation's name.

        Returns:
            True when the call is admitted.
        """
        bucket = self._buckets.get(operation)
        if bucket is not None and not bucket.available():
            return False
        if self._account is not None:
            if not self._account.available():
                return False
            self._account.take()
        if bucket is not None:
            bucket.take()
        return True

    def with_rates_from_json(
        self, doc: object, *, operations: Collection[str] | None = None
    ) -> Quotas:
        """New quotas with the request rates of ``doc`` (the JSON form in the module
        docstring) and this one's concurrency limits and clock; buckets start full.

        ``operations``, when given, are the names ``overrides`` may use besides "Account".
        ``ValueError`` names the key and the rule it breaks.

        Args:
            doc: The JSON form.
            operations: The operation names ``overrides`` may use besides ``"Account"``.

        Returns:
            The new quotas.

        Raises:
            ValueError: A key or value breaks its rule.
        """
        if not isinstance(doc, Mapping):
            raise ValueError(f"quotas must be a JSON object, got {type(doc).__name__}")
        unknown = set(doc) - {"off", "scale", "overrides"}
        if unknown:
            raise ValueError(
                f"quotas.{sorted(unknown)[0]} is not a field (expected off, scale, overrides)"
            )
        off = doc.get("off", False)
        if not isinstance(off, bool):
            raise ValueError(f"quotas.off must be true or false, got {off!r}")
        limits: dict[str, Any] = {
            "concurrent_tasks": self.concurrent_tasks,
            "concurrent_jobs": self.concurrent_jobs,
            "max_queued_jobs": self.max_queued_jobs,
        }
        if off:
            if doc.get("scale") is not None or doc.get("overrides"):
                raise ValueError("quotas.off is true: scale and overrides must not be given")
            return Quotas(None, None, clock=self._clock, **limits)
        scale = _positive(doc.get("scale", 1.0), "quotas.scale")
        overrides_doc = doc.get("overrides", {})
        if not isinstance(overrides_doc, Mapping):
            raise ValueError("quotas.overrides must be a JSON object of operation -> [rate, burst]")
        overrides: dict[str, tuple[float, float]] = {}
        for op, value in overrides_doc.items():
            where = f"quotas.overrides.{op}"
            if op != "Account" and operations is not None and op not in operations:
                raise ValueError(f"{where} is not a Braket operation name nor 'Account'")
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"{where} must be [rate, burst], got {value!r}")
            rate = _positive(value[0], f"{where}[0] (rate)")
            burst = _positive(value[1], f"{where}[1] (burst)")
            if burst < 1:
                raise ValueError(f"{where}[1] (burst) must be >= 1, got {value[1]!r}")
            overrides[op] = (rate, burst)
        return Quotas.aws_defaults(scale, overrides, clock=self._clock, **limits)

    def describe(self) -> dict[str, object]:
        """A JSON-ready description of the configured limits (and how the rates were built:
        ``off``, ``scale``, ``overrides``)."""
        return {
            "off": not self.enabled,
            "scale": self.scale,
            "overrides": {op: list(v) for op, v in self.overrides.items()},
            "rates": {op: list(v) for op, v in self.rates.items()},
            "account": list(self.account) if self.account else None,
            "concurrent_tasks": self.concurrent_tasks,
            "concurrent_jobs": self.concurrent_jobs,
            "max_queued_jobs": self.max_queued_jobs,
        }


def _positive(value: object, where: str) -> float:
    # bool is an int subclass; true/false is never a rate.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{where} must be > 0, got {value!r}")
    return float(value)
