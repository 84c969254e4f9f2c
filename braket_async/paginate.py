"""The one page loop, typed paginators and lazy item iterators over the Search* operations.

:class:`PageLoop` is the package's only loop over pages: ``get_paginator(name).paginate(...)``
(botocore's ``MaxItems``, ``PageSize``, ``StartingToken`` and resume tokens, in botocore's
token format), the ``iter_quantum_tasks`` & co. item iterators and the tracker's sweeps all
read pages through it. What it knows of each operation comes from its row in
:mod:`._searches`. Like google api-core's async pagers, nothing is sent before the first
iteration.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from botocore.paginate import TokenDecoder, TokenEncoder

from ._operations import (
    DeviceFilterLike,
    JobFilterLike,
    Operations,
    QuantumTaskFilterLike,
    SpendingLimitFilterLike,
    search_params,
)
from ._searches import (
    SEARCH_DEVICES,
    SEARCH_JOBS,
    SEARCH_QUANTUM_TASKS,
    SEARCH_SPENDING_LIMITS,
    SEARCHES,
    Search,
    search_named,
)
from .errors import ParameterError, ResponseError
from .models import DeviceSummary, JobSummary, QuantumTaskSummary, SpendingLimit

__all__ = ["ItemIterator", "PageIterator", "PageLoop", "Pages", "Paginator"]


class _Page(Protocol):
    @property
    def next_token(self) -> str | None: ...


T = TypeVar("T")
PageT = TypeVar("PageT", bound=_Page)

#: The key botocore's resume tokens use for the items of a page already returned.
_TRUNCATED = "boto_truncate_amount"
_PAGINATION_KEYS = frozenset({"MaxItems", "PageSize", "StartingToken"})


class PageLoop(Generic[PageT]):
    """Pages of one search, fetched one at a time: an async iterator (iterate it once).

    ``fetch(token)`` answers the page at ``token`` (``None``: the first).
    The loop stops at the last page, after ``max_pages`` pages, or after ``max_items`` items
    (the page that crosses it is cut short). ``starting_token`` is a :attr:`resume_token` (or
    a service token) to start from. A service that answers the token it was given would loop
    forever: that is a :class:`ResponseError`.

    Args:
        search: The search operation.
        fetch: Answers the page at a token (``None``: the first page).
        starting_token: A resume token or service token to start from.
        max_items: The most items to yield.
        max_pages: The most pages to fetch.
    """

    def __init__(
        self,
        search: Search[PageT],
        fetch: Callable[[str | None], Awaitable[PageT]],
        *,
        starting_token: str | None = None,
        max_items: int | None = None,
        max_pages: float = math.inf,
    ) -> None:
        self.search = search
        self._fetch = fetch
        self._start, self._skip = _starting_point(search, starting_token)
        self._max_items = max_items
        self._max_pages = max_pages
        self._pages: AsyncGenerator[PageT, None] | None = None
        #: The service token of the page after the last one fetched (None: no more pages).
        self.next_token: str | None = None
        #: Where a loop stopped by ``max_items`` or ``max_pages`` can resume (botocore's
        #: format; pass it as ``starting_token`` / ``StartingToken``); None when exhausted.
        self.resume_token: str | None = None

    def __aiter__(self) -> PageLoop[PageT]:
        return self

    async def __anext__(self) -> PageT:
        if self._pages is None:
            self._pages = self._run()
        return await self._pages.__anext__()

    async def aclose(self) -> None:
        """Stop early and release the underlying generator."""
        pages, self._pages = self._pages, None
        if pages is not None:
            await pages.aclose()

    async def _run(self) -> AsyncGenerator[PageT, None]:
        search, limit = self.search, self._max_items
        token, skip = self._start, self._skip
        seen = fetched = 0
        while True:
            page = await self._fetch(token)
            fetched += 1
            self.next_token = page.next_token or None  # botocore: "" is no token either
            items = search.items_of(page)
            if skip:  # resuming inside this page: its first items were returned before
                items = items[skip:]
                page = search.with_items(page, items)
            if limit is not None and seen + len(items) > limit:
                kept = limit - seen
                self.resume_token = self._resume(token, skip + kept)
                yield search.with_items(page, items[:kept])
                return
            seen += len(items)
            yield page
            skip = 0
            if self.next_token is None:
                return
            if (limit is not None and seen == limit) or fetched >= self._max_pages:
                self.resume_token = self._resume(self.next_token, 0)
                return
            if self.next_token == token:
                raise ResponseError(
                    f"{search.name}: the service answered the same next token twice "
                    f"({token!r}); stopping rather than looping",
                    operation=search.name,
                )
            token = self.next_token

    def _resume(self, token: str | None, skip: int) -> str:
        state: dict[str, Any] = {self.search.input_token: token}
        if skip:
            state[_TRUNCATED] = skip
        encoded: str = TokenEncoder().encode(state)
        return encoded


def _starting_point(search: Search[Any], token: str | None) -> tuple[str | None, int]:
    """The service token and the items to skip of a resume token; a token that is not one
    of ours is taken as the service's own (as botocore does)."""
    if token is None:
        return None, 0
    if not isinstance(token, str):
        raise ParameterError("StartingToken", f"must be a string, got {token!r}")
    try:
        state = TokenDecoder().decode(token)
    except (ValueError, TypeError, AttributeError):
        return token, 0
    if not isinstance(state, dict) or not set(state) <= {search.input_token, _TRUNCATED}:
        return token, 0
    start, skip = state.get(search.input_token), state.get(_TRUNCATED, 0)
    if (start is not None and not isinstance(start, str)) or (
        isinstance(skip, bool) or not isinstance(skip, int) or skip < 0
    ):
        raise ParameterError("StartingToken", f"is not a resume token of {search.name}")
    return start, skip


class PageIterator(PageLoop[PageT]):
    """Typed pages of one paginated search (``paginator.paginate(...)``).

    ``resume_token`` is set when ``MaxItems`` stopped the iteration: pass it as
    ``PaginationConfig={"StartingToken": ...}`` to continue.
    """

    async def build_full_result(self) -> PageT:
        """Every page merged into one (``next_token`` is the resume token, if any)."""
        items: list[Any] = []
        async for page in self:
            items.extend(self.search.items_of(page))
        return self.search.page_type(
            **{self.search.items: tuple(items), "next_token": self.resume_token}
        )


class Paginator(Generic[PageT]):
    """A paginator for one Search* operation (``session.get_paginator(name)``).

    Args:
        operation: The Search* operation (``"search_jobs"`` or ``"SearchJobs"``).
        operations: The session's operations.
    """

    def __init__(self, operation: str, operations: Operations) -> None:
        self._search: Search[PageT] = search_named(operation)
        self._operations = operations

    @property
    def operation_name(self) -> str:
        """The model name of the paginated operation."""
        return self._search.name

    def paginate(
        self,
        *,
        PaginationConfig: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> PageIterator[PageT]:
        """Iterate typed pages. ``params`` are the operation's snake_case parameters
        (``filters``, ``max_results``); ``PaginationConfig`` takes botocore's ``MaxItems``,
        ``PageSize`` and ``StartingToken``. Parameters are checked now; no request is sent
        before the first iteration.

        Args:
            PaginationConfig: botocore's ``MaxItems``, ``PageSize`` and ``StartingToken``.
            **params: The operation's snake_case parameters (``filters``, ``max_results``).

        Returns:
            The page iterator.

        Raises:
            ParameterError: An unknown parameter or ``PaginationConfig`` key, or a bad value.
        """
        search = self._search
        unknown = set(params) - search.parameters
        if unknown:
            raise ParameterError(
                sorted(unknown)[0], f"is not a parameter of {search.name} pagination "
                f"(expected {', '.join(sorted(search.parameters))}, PaginationConfig)"
            )
        config = dict(PaginationConfig or {})
        bad = set(config) - _PAGINATION_KEYS
        if bad:
            raise ParameterError(
                "PaginationConfig",
                f"unknown keys {sorted(bad)} (expected {', '.join(sorted(_PAGINATION_KEYS))})",
            )
        _positive(config.get("MaxItems"), "PaginationConfig.MaxItems")
        _positive(config.get("PageSize"), "PaginationConfig.PageSize")
        page_size = config.get("PageSize", params.get("max_results"))
        base = search_params(search, params.get("filters"), page_size, None)
        try:
            return PageIterator(
                search,
                _fetcher(self._operations, search, base),
                starting_token=config.get("StartingToken"),
                max_items=config.get("MaxItems"),
            )
        except ParameterError as exc:
            raise ParameterError(f"PaginationConfig.{exc.field}", exc.rule) from None


class ItemIterator(Generic[T]):
    """Items across pages, fetched lazily: nothing is sent before the first ``__anext__``.

    ``next_token`` is the service token of the page after the last one fetched;
    ``num_results`` counts the items yielded so far.

    Args:
        pages: The pages to take the items from.
    """

    def __init__(self, pages: PageLoop[Any]) -> None:
        self._pages = pages
        self._buffer: list[T] = []
        self._index = 0
        self.num_results = 0

    @property
    def next_token(self) -> str | None:
        """The service token of the page after the last one fetched."""
        return self._pages.next_token

    def __aiter__(self) -> ItemIterator[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._buffer):
            page = await self._pages.__anext__()
            self._buffer = list(self._pages.search.items_of(page))
            self._index = 0
        item = self._buffer[self._index]
        self._index += 1
        self.num_results += 1
        return item

    async def collect(self) -> list[T]:
        """Every remaining item as a list."""
        return [item async for item in self]


def _fetcher(
    operations: Operations, search: Search[PageT], base: dict[str, Any]
) -> Callable[[str | None], Awaitable[PageT]]:
    """``fetch(token)`` for a :class:`PageLoop`: the page at ``token`` of the checked ``base``
    parameters."""

    async def fetch(token: str | None) -> PageT:
        params = base if token is None else {**base, search.input_token: token}
        return await operations.search_page(search, params)

    return fetch


def _positive(value: int | None, field: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ParameterError(field, f"must be an int >= 1, got {value!r}")


class Pages:
    """``can_paginate``, ``get_paginator`` and the lazy ``iter_*`` item iterators of a
    session, over its :class:`~._operations.Operations`.

    Args:
        operations: The session's operations.
    """

    def __init__(self, operations: Operations) -> None:
        self._operations = operations

    def can_paginate(self, operation_name: str) -> bool:
        """Whether ``operation_name`` (``"search_jobs"`` or ``"SearchJobs"``) pages.

        Args:
            operation_name: The operation's snake_case or model name.

        Returns:
            Whether it is a Search* operation.
        """
        return operation_name in SEARCHES

    def get_paginator(self, operation_name: str) -> Paginator[Any]:
        """A typed paginator for a Search* operation.

        Args:
            operation_name: The operation's snake_case or model name.

        Returns:
            The paginator.
        """
        return Paginator(operation_name, self._operations)

    def _items(
        self,
        search: Search[Any],
        filters: Iterable[Any] | None,
        page_size: int | None,
        max_items: int | None,
    ) -> ItemIterator[Any]:
        _positive(page_size, "page_size")
        _positive(max_items, "max_items")
        # Check the parameters now, so mistakes surface at the call, not the first loop.
        try:
            base = search_params(search, filters, page_size, None)
        except ParameterError as exc:
            if exc.field != "max_results":
                raise
            raise ParameterError("page_size", exc.rule, operation=search.name) from None
        fetch = _fetcher(self._operations, search, base)
        return ItemIterator(PageLoop(search, fetch, max_items=max_items))

    def iter_quantum_tasks(
        self,
        filters: Iterable[QuantumTaskFilterLike] = (),
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[QuantumTaskSummary]:
        """Quantum tasks matching ``filters``, page after page (``page_size`` <= 100).

        Args:
            filters: The search's filters.
            page_size: Items per request (``max_results``).
            max_items: The most items to yield.

        Returns:
            The lazy item iterator.

        Raises:
            ParameterError: A filter, ``page_size`` or ``max_items`` breaks its rule.
        """
        return self._items(SEARCH_QUANTUM_TASKS, filters, page_size, max_items)

    def iter_jobs(
        self,
        filters: Iterable[JobFilterLike] = (),
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[JobSummary]:
        """Hybrid jobs matching ``filters``, page after page.

        Args:
            filters: The search's filters.
            page_size: Items per request (``max_results``).
            max_items: The most items to yield.

        Returns:
            The lazy item iterator.

        Raises:
            ParameterError: A filter, ``page_size`` or ``max_items`` breaks its rule.
        """
        return self._items(SEARCH_JOBS, filters, page_size, max_items)

    def iter_devices(
        self,
        filters: Iterable[DeviceFilterLike] | None = None,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[DeviceSummary]:
        """Devices (all of them without ``filters``), page after page.

        Args:
            filters: The search's filters (``None``: every device).
            page_size: Items per request (``max_results``).
            max_items: The most items to yield.

        Returns:
            The lazy item iterator.

        Raises:
            ParameterError: A filter, ``page_size`` or ``max_items`` breaks its rule.
        """
        return self._items(SEARCH_DEVICES, filters, page_size, max_items)

    def iter_spending_limits(
        self,
        filters: Iterable[SpendingLimitFilterLike] | None = None,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> ItemIterator[SpendingLimit]:
        """Spending limits matching ``filters``, page after page.

        Args:
            filters: The search's filters.
            page_size: Items per request (``max_results``).
            max_items: The most items to yield.

        Returns:
            The lazy item iterator.

        Raises:
            ParameterError: A filter, ``page_size`` or ``max_items`` breaks its rule.
        """
        return self._items(SEARCH_SPENDING_LIMITS, filters, page_size, max_items)
