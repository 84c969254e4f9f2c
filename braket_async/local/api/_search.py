"""Search* operations: filters and opaque, stable pagination.

Order: newest first (descending creation), like the Braket console; devices in catalogue
order. ``nextToken`` is opaque (base64url JSON) and holds the creation sequence number of
the last item returned and a digest of the filters; the next page continues strictly
below that sequence number, so items created between pages never shift or repeat a page.
A token reused with other filters or for another operation is a ValidationException.

Filters (all of a request's filters must match; a filter matches when any value does):

- SearchQuantumTasks: ``quantumTaskArn``, ``deviceArn``, ``jobArn``, ``status``,
  ``createdAt`` with LT LTE EQUAL GT GTE BETWEEN.
- SearchJobs: ``jobArn``, ``createdAt`` with the same operators plus CONTAINS.
- SearchDevices: ``deviceArn`` (no operator).
- SearchSpendingLimits: ``deviceArn`` with EQUAL.

EQUAL takes 1-10 values (any may match), LT/LTE/GT/GTE exactly one, BETWEEN exactly two
(inclusive). ``createdAt`` values are ISO 8601 strings or epoch seconds (numbers above
1e11 are read as epoch milliseconds); other names compare as strings.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._errors import Validation
from ..devices._devices import LocalDevice
from ..state._store import JobRecord, SpendingLimitRecord, TaskRecord

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "RecordSearch",
    "search_devices",
    "search_jobs",
    "search_quantum_tasks",
    "search_spending_limits",
]

DEFAULT_MAX_RESULTS = 100


class _Sequenced(Protocol):
    @property
    def seq(self) -> int: ...


R = TypeVar("R", bound=_Sequenced)
Predicate = Callable[[Any], bool]


def parse_time(value: str) -> datetime:
    """An ISO 8601 string or epoch seconds (or millis above 1e11) as an aware datetime."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number > 1e11:
            number /= 1000.0
        return datetime.fromtimestamp(number, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Validation(
            f"Invalid createdAt filter value '{value}': expected ISO 8601 or epoch seconds"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _compare(operator: str, values: Sequence[Any], name: str) -> Callable[[Any], bool]:
    def need(count: int) -> None:
        if len(values) != count:
            raise Validation(
                f"Filter '{name}' with operator {operator} takes exactly {count} "
                f"value{'s' if count > 1 else ''}, got {len(values)}"
            )

    if operator == "EQUAL":
        wanted = set(values)
        return lambda v: v in wanted
    if operator == "CONTAINS":
        return lambda v: any(str(x) in str(v) for x in values)
    if operator == "BETWEEN":
        need(2)
        low, high = values
        return lambda v: low <= v <= high
    need(1)
    (ref,) = values
    ops: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < ref,
        "LTE": lambda v: v <= ref,
        "GT": lambda v: v > ref,
        "GTE": lambda v: v >= ref,
    }
    try:
        return ops[operator]
    except KeyError:
        raise Validation(f"Filter '{name}' does not support operator {operator}") from None


def _predicates(
    filters: Sequence[Mapping[str, Any]],
    fields: Mapping[str, Callable[[Any], Any]],
    operators: frozenset[str],
    kind: str,
) -> list[Predicate]:
    preds: list[Predicate] = []
    for f in filters:
        name = f["name"]
        getter = fields.get(name)
        if getter is None:
            raise Validation(
                f"Invalid filter name '{name}' for {kind}: expected one of {sorted(fields)}"
            )
        operator = f.get("operator", "EQUAL")
        if operator not in operators:
            raise Validation(
                f"Invalid operator '{operator}' for {kind} filter '{name}': "
                f"expected one of {sorted(operators)}"
            )
        raw = list(f["values"])
        values: list[Any] = [parse_time(v) for v in raw] if name == "createdAt" else raw
        preds.append(_matcher(getter, _compare(operator, values, name)))
    return preds


def _matcher(getter: Callable[[Any], Any], test: Callable[[Any], bool]) -> Predicate:
    def match(record: Any) -> bool:
        value = getter(record)
        return value is not None and test(value)

    return match


def _digest(kind: str, filters: Any) -> str:
    return hashlib.sha256(json.dumps([kind, filters], sort_keys=True).encode()).hexdigest()[:16]


def _encode_token(kind: str, filters: Any, position: int) -> str:
    doc = {"v": 1, "k": kind, "p": position, "f": _digest(kind, filters)}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _decode_token(kind: str, filters: Any, token: str) -> int:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = doc["p"]
        ok = doc["k"] == kind and doc["f"] == _digest(kind, filters) and isinstance(position, int)
    except (ValueError, KeyError, TypeError, binascii.Error):
        ok = False
    if not ok:
        raise Validation(f"Invalid nextToken for {kind}: it does not come from this search")
    return int(position)


def _page(
    records: Sequence[R],
    preds: list[Predicate],
    kind: str,
    filters: Any,
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[R], str | None]:
    """Newest-first page of ``records`` (sorted by ascending ``seq``) matching ``preds``."""
    limit = DEFAULT_MAX_RESULTS if max_results is None else max_results
    if next_token is None:
        start = len(records)
    else:
        below = _decode_token(kind, filters, next_token)
        start = bisect.bisect_left(records, below, key=lambda r: r.seq)

    def candidates() -> Iterator[R]:
        for i in range(start - 1, -1, -1):
            record = records[i]
            if all(p(record) for p in preds):
                yield record

    page: list[R] = []
    for record in candidates():
        if len(page) == limit:
            return page, _encode_token(kind, filters, page[-1].seq)
        page.append(record)
    return page, None


_COMPARISONS = frozenset({"LT", "LTE", "EQUAL", "GT", "GTE", "BETWEEN"})


@attrs.frozen
class RecordSearch(Generic[R]):
    """One Search* operation over store records: its filterable ``fields`` (wire name ->
    getter) and the ``operators`` its filters accept (see the module docstring)."""

    operation: str
    fields: Mapping[str, Callable[[R], Any]]
    operators: frozenset[str]

    def __call__(
        self,
        records: Sequence[R],
        filters: Sequence[Mapping[str, Any]],
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[R], str | None]:
        """One page of ``records`` matching ``filters``, newest first, and the next token."""
        preds = _predicates(filters, self.fields, self.operators, self.operation)
        return _page(records, preds, self.operation, filters, max_results, next_token)


search_quantum_tasks: RecordSearch[TaskRecord] = RecordSearch(
    "SearchQuantumTasks",
    {
        "quantumTaskArn": lambda t: t.arn,
        "deviceArn": lambda t: t.device_arn,
        "jobArn": lambda t: t.job_arn,
        "status": lambda t: t.status,
        "createdAt": lambda t: t.created_at,
    },
    _COMPARISONS,
)
search_jobs: RecordSearch[JobRecord] = RecordSearch(
    "SearchJobs",
    {"jobArn": lambda j: j.job_arn, "createdAt": lambda j: j.created_at},
    _COMPARISONS | {"CONTAINS"},
)
search_spending_limits: RecordSearch[SpendingLimitRecord] = RecordSearch(
    "SearchSpendingLimits", {"deviceArn": lambda s: s.device_arn}, frozenset({"EQUAL"})
)


def search_devices(
    devices: Sequence[LocalDevice],
    filters: Sequence[Mapping[str, Any]],
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[LocalDevice], str | None]:
    """One page of devices (catalogue order) matching ``deviceArn`` filters, and the token."""
    wanted: list[set[str]] = []
    for f in filters:
        if f["name"] != "deviceArn":
            raise Validation(
                f"Invalid filter name '{f['name']}' for SearchDevices: expected ['deviceArn']"
            )
        wanted.append(set(f["values"]))
    matching = [d for d in devices if all(d.arn in w for w in wanted)]
    limit = DEFAULT_MAX_RESULTS if max_results is None else max_results
    start = 0 if next_token is None else _decode_token("SearchDevices", filters, next_token)
    page = matching[start : start + limit]
    end = start + len(page)
    token = _encode_token("SearchDevices", filters, end) if end < len(matching) else None
    return page, token
