"""Typed paginators (on aiobotocore's) and lazy item iterators over the Search* operations.

``get_paginator("search_quantum_tasks").paginate(filters=[...], PaginationConfig={...})``
yields typed pages (``SearchQuantumTasksPage``); it is aiobotocore's paginator (MaxItems,
PageSize, StartingToken, resume tokens) with each request sent through the session, so rate
limiting and error mapping apply. ``iter_quantum_tasks`` & co. yield items and, like google
api-core's async pagers, send no request before the first iteration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import botocore.loaders
from aiobotocore.paginate import AioPaginator
from botocore import xform_name
from botocore.exceptions import PaginationError

from ._base import SessionCore
from ._operations import (
    _PAGES,
    DeviceFilterLike,
    JobFilterLike,
    QuantumTaskFilterLike,
    SpendingLimitFilterLike,
    search_params,
    structure_response,
)
from ._validate import SERVICE_MODEL
from .errors import ParameterError, ResponseError
from .models import (
    DeviceSummary,
    JobSummary,
    QuantumTaskSummary,
    SearchDevicesPage,
    SearchJobsPage,
    SearchQuantumTasksPage,
    SearchSpendingLimitsPage,
    SpendingLimit,
)

__all__ = ["ItemIterator", "PageIterator", "PaginationMixin", "Paginator"]

T = TypeVar("T")
PageT = TypeVar("PageT")

_PAGINATION: Mapping[str, Mapping[str, Any]] = botocore.loaders.create_loader().load_service_model(
    "braket", "paginators-1"
)["pagination"]
#: Pascal and snake spellings -> operation name.
_NAMES: dict[str, str] = {
    **{op: op for op in _PAGINATION},
    **{xform_name(op): op for op in _PAGINATION},
}
#: Operation -> the page attribute holding its items.
_ITEMS: dict[str, str] = {
    "SearchQuantumTasks": "quantum_tasks",
    "SearchJobs": "jobs",
    "SearchDevices": "devices",
    "SearchSpendingLimits": "spending_limits",
}
_PAGE_CLASSES: dict[str, type[Any]] = {
    "SearchQuantumTasks": SearchQuantumTasksPage,
    "SearchJobs": SearchJobsPage,
    "SearchDevices": SearchDevicesPage,
    "SearchSpendingLimits": SearchSpendingLimitsPage,
}
_PAGE_KWARGS = frozenset({"filters", "max_results"})


def _operation(name: str) -> str:
    try:
        return _NAMES[name]
    except KeyError:
        raise ParameterError(
            "operation_name", f"must be a pageable operation ({sorted(_NAMES)}), got {name!r}"
        ) from None


class PageIterator(Generic[PageT]):
    """Typed pages of one paginated search (an async iterator; iterate it once).

    ``resume_token`` is set when ``MaxItems`` stopped the iteration: pass it as
    ``PaginationConfig={"StartingToken": ...}`` to continue.
    """

    def __init__(self, operation: str, pages: Any) -> None:
        self._operation = operation
        self._pages = pages  # aiobotocore's AioPageIterator
        self._iterator: AsyncIterator[dict[str, Any]] | None = None
        self._build = _PAGES[operation]

    def __aiter__(self) -> PageIterator[PageT]:
        return self

    async def __anext__(self) -> PageT:
        if self._iterator is None:
            self._iterator = self._pages.__aiter__()
        try:
            page = await self._iterator.__anext__()
        except PaginationError as exc:
            raise ResponseError(f"{self._operation}: {exc}", operation=self._operation) from exc
        return structure_response(self._operation, self._build, page)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop early and release the underlying generator."""
        iterator, self._iterator = self._iterator, None
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()

    @property
    def resume_token(self) -> str | None:
        """Token to resume from after ``MaxItems`` (``None`` if the results were exhausted)."""
        token = self._pages.resume_token
        return None if token is None else str(token)

    async def build_full_result(self) -> PageT:
        """Every page merged into one (``next_token`` is the resume token, if any)."""
        items: list[Any] = []
        attribute = _ITEMS[self._operation]
        page_type = _PAGE_CLASSES[self._operation]
        async for page in self:
            items.extend(getattr(page, attribute))
        return page_type(**{attribute: tuple(items), "next_token": self.resume_token})  # type: ignore[no-any-return]


class Paginator(Generic[PageT]):
    """A paginator for one Search* operation (``session.get_paginator(name)``)."""

    def __init__(self, session: SessionCore, operation: str) -> None:
        self._session = session
        self._operation = operation

        async def method(**params: Any) -> dict[str, Any]:
            return await session._invoke(operation, params)

        self._paginator = AioPaginator(
            method, _PAGINATION[operation], SERVICE_MODEL.operation_model(operation)
        )

    @property
    def operation_name(self) -> str:
        """The model name of the paginated operation."""
        return self._operation

    def paginate(
        self,
        *,
        PaginationConfig: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> PageIterator[PageT]:
        """Iterate typed pages. ``params`` are the operation's snake_case parameters
        (``filters``, ``max_results``); ``PaginationConfig`` takes botocore's ``MaxItems``,
        ``PageSize`` and ``StartingToken``. Parameters are checked now; no request is sent
        before the first iteration."""
        unknown = set(params) - _PAGE_KWARGS
        if unknown:
            raise ParameterError(
                sorted(unknown)[0],
                f"is not a parameter of {self._operation} pagination "
                f"(expected filters, max_results, PaginationConfig)",
            )
        config = dict(PaginationConfig or {})
        bad = set(config) - {"MaxItems", "PageSize", "StartingToken"}
        if bad:
            raise ParameterError(
                "PaginationConfig",
                f"unknown keys {sorted(bad)} (expected MaxItems, PageSize, StartingToken)",
            )
        _positive(config.get("MaxItems"), "PaginationConfig.MaxItems")
        _positive(config.get("PageSize"), "PaginationConfig.PageSize")
        wire = search_params(
            self._operation, params.get("filters"), params.get("max_results"), None
        )
        pages = self._paginator.paginate(**wire, PaginationConfig=config)
        return PageIterator(self._operation, pages)


class ItemIterator(Generic[T]):
    """Items across pages, fetched lazily: nothing is sent before the first ``__anext__``.

    ``next_token`` is the service token of the page after the last one fetched;
    ``num_results`` counts the items yielded so far.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[tuple[Sequence[T], str | None]]],
        *,
        max_items: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._max_items = max_items
        self._buffer: list[T] = []
        self._index = 0
        self._started = False
        self.next_token: str | None = None
        self.num_results = 0

    def __aiter__(self) -> ItemIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._max_items is not None and self.num_results >= self._max_items:
            raise StopAsyncIteration
        while self._index >= len(self._buffer):
            if self._started and self.next_token is None:
                raise StopAsyncIteration
            self._started = True
            items, self.next_token = await self._fetch(self.next_token)
            self._buffer = list(items)
            self._index = 0
        item = self._buffer[self._index]
        self._index += 1
        self.num_results += 1
        return item

    async def collect(self) -> list[T]:
        """Every remaining item as a list."""
        return [item async for item in self]


def _positive(value: int | None, field: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ParameterError(field, f"must be an int >= 1, got {value!r}")


class PaginationMixin(SessionCore):
    """``can_paginate``, ``get_paginator`` and the lazy ``iter_*`` item iterators."""

    def can_paginate(self, operation_name: str) -> bool:
        """Whether ``operation_name`` (``"search_jobs"`` or ``"SearchJobs"``) pages."""
        return operation_name in _NAMES

    def get_paginator(self, operation_name: str) -> Paginator[Any]:
        """A typed paginator for a Search* operation."""
        return Paginator(self, _operation(operation_name))

    def _items(
        self,
        operation: str,
        filters: Iterable[Any] | None,
        page_size: int | None,
        max_items: int | None,
    ) -> ItemIterator[Any]:
        _positive(page_size, "page_size")
        _positive(max_items, "max_items")
        # Check the parameters now, so mistakes surface at the call, not the first loop.
        try:
            base = search_params(operation, filters, page_size, None)
        except ParameterError as exc:
            if exc.field != "max_results":
                raise
            raise ParameterError("page_size", exc.rule, operation=operation) from None
        build = _PAGES[operation]
        attribute = _ITEMS[operation]

        async def fetch(token: str | None) -> tuple[Sequence[Any], str | None]:
            params = dict(base)
            if token is not None:
                params["nextToken"] = token
            response = await self._invoke(operation, params)
            page = structure_response(operation, build, response)
            return getattr(page, attribute), page.next_token

        return ItemIterator(fetch, max_items=max_items)

    def iter_quantum_tasks(
        self,
        filters: Iterable[QuantumTaskFilterLike] = (),
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[QuantumTaskSummary]:
        """Quantum tasks matching ``filters``, page after page (``page_size`` <= 100)."""
        return self._items("SearchQuantumTasks", filters, page_size, max_items)

    def iter_jobs(
        self,
        filters: Iterable[JobFilterLike] = (),
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[JobSummary]:
        """Hybrid jobs matching ``filters``, page after page."""
        return self._items("SearchJobs", filters, page_size, max_items)

    def iter_devices(
        self,
        filters: Iterable[DeviceFilterLike] | None = None,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[DeviceSummary]:
        """Devices (all of them without ``filters``), page after page."""
        return self._items("SearchDevices", filters, page_size, max_items)

    def iter_spending_limits(
        self,
        filters: Iterable[SpendingLimitFilterLike] | None = None,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[SpendingLimit]:
        """Spending limits matching ``filters``, page after page."""
        return self._items("SearchSpendingLimits", filters, page_size, max_items)
