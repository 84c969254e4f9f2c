"""The search operations: one row per paginated Braket operation, read from botocore.

Every fact about a ``Search*`` operation lives in its :class:`Search` row: its names, its
typed page and the page attribute holding the items, and its wire members (filters, page
size, tokens). botocore's ``paginators-1.json`` for Braket gives the token, limit and result
keys, its service model the input members and whether ``filters`` is required; only the page
model is named here. The single-page ``search_*`` methods (``_operations.py``), the
paginators and item iterators (``paginate.py``) and the tracker's sweeps all read this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
import botocore.loaders
from botocore import xform_name

from ._converter import structure_fn
from ._service_model import SERVICE_MODEL
from .errors import ParameterError
from .models import (
    SearchDevicesPage,
    SearchJobsPage,
    SearchQuantumTasksPage,
    SearchSpendingLimitsPage,
)

__all__ = [
    "PAGINATION_CONFIG",
    "SEARCHES",
    "SEARCH_DEVICES",
    "SEARCH_JOBS",
    "SEARCH_QUANTUM_TASKS",
    "SEARCH_SPENDING_LIMITS",
    "Search",
    "search_named",
]

PageT = TypeVar("PageT")

#: botocore's paginator configuration for Braket (operation -> token, limit and result keys).
PAGINATION_CONFIG: Mapping[str, Mapping[str, Any]] = botocore.loaders.create_loader(
).load_service_model("braket", "paginators-1")["pagination"]


@attrs.frozen
class Search(Generic[PageT]):
    """One paginated operation (build rows with :meth:`from_model`)."""

    #: Model name (``"SearchQuantumTasks"``) and method name (``"search_quantum_tasks"``).
    name: str
    method: str
    #: The typed page, the function that builds it from a response, and its items' attribute.
    page_type: type[PageT]
    build: Callable[[Any], PageT]
    items: str
    #: Wire members: the items' list, the request and response tokens, the page size.
    result_key: str
    input_token: str
    output_token: str
    limit_key: str
    #: snake_case input parameters besides the token (``filters``, ``max_results``).
    parameters: frozenset[str]
    #: Whether the model requires ``filters`` (sent as ``[]`` when the caller gives none).
    filters_required: bool

    @classmethod
    def from_model(cls, name: str, page_type: type[PageT]) -> Search[PageT]:
        config = PAGINATION_CONFIG[name]
        input_shape = SERVICE_MODEL.operation_model(name).input_shape
        assert input_shape is not None
        return cls(
            name=name,
            method=xform_name(name),
            page_type=page_type,
            build=structure_fn(page_type),
            items=xform_name(config["result_key"]),
            result_key=config["result_key"],
            input_token=config["input_token"],
            output_token=config["output_token"],
            limit_key=config["limit_key"],
            parameters=frozenset(
                xform_name(member)
                for member in input_shape.members
                if member != config["input_token"]
            ),
            filters_required="filters" in input_shape.required_members,
        )

    def items_of(self, page: PageT) -> Sequence[Any]:
        """The items of one page."""
        items: Sequence[Any] = getattr(page, self.items)
        return items

    def with_items(self, page: PageT, items: Sequence[Any]) -> PageT:
        """``page`` holding only ``items`` (a page cut short by ``MaxItems``)."""
        return attrs.evolve(page, **{self.items: tuple(items)})  # type: ignore[misc]


SEARCH_QUANTUM_TASKS = Search.from_model("SearchQuantumTasks", SearchQuantumTasksPage)
SEARCH_JOBS = Search.from_model("SearchJobs", SearchJobsPage)
SEARCH_DEVICES = Search.from_model("SearchDevices", SearchDevicesPage)
SEARCH_SPENDING_LIMITS = Search.from_model("SearchSpendingLimits", SearchSpendingLimitsPage)

#: Model name and method name -> row, for every paginated operation.
SEARCHES: Mapping[str, Search[Any]] = {
    key: search
    for search in (SEARCH_QUANTUM_TASKS, SEARCH_JOBS, SEARCH_DEVICES, SEARCH_SPENDING_LIMITS)
    for key in (search.name, search.method)
}


def search_named(name: str) -> Search[Any]:
    """The row of ``name`` (``"search_jobs"`` or ``"SearchJobs"``)."""
    try:
        return SEARCHES[name]
    except (KeyError, TypeError):
        raise ParameterError(
            "operation_name",
            f"must be a pageable operation ({sorted(SEARCHES)}), got {name!r}",
        ) from None
