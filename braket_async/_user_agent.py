"""The User-Agent header, built once per set of features instead of twice per call.

botocore rebuilds the whole header for every request, twice (for the request context and
again in a ``request-created`` handler): about 30 string components, each sanitised
character by character, which is a tenth of a GetDevice call's CPU. The header depends only
on the client's configuration (fixed), the client's features and the features the call's
context adds (a handful of short codes), so each of the session's clients (Braket, and the
S3, SQS, Logs and EventBridge clients it creates on first need) remembers the string per set
of features. The header sent is exactly the one botocore builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from botocore.context import get_context

__all__ = ["cache_user_agent"]

#: Distinct feature sets remembered per client (a few in practice: retries, waiters, ...).
_MAX_ENTRIES: Final = 64


def cache_user_agent(client: Any) -> bool:
    """Make ``client``'s User-Agent builder remember its strings; False (and nothing
    changed) when this botocore builds it in a way this module does not know."""
    creator = getattr(client, "_user_agent_creator", None)
    build: Callable[[], str] | None = getattr(creator, "to_string", None)
    if creator is None or build is None or not hasattr(creator, "_client_features"):
        return False
    cache: dict[tuple[frozenset[str], frozenset[str]], str] = {}

    def to_string() -> str:
        context = get_context()
        key = (
            frozenset(creator._client_features or ()),
            frozenset(context.features) if context is not None else frozenset(),
        )
        header = cache.get(key)
        if header is None:
            header = build()
            if len(cache) < _MAX_ENTRIES:
                cache[key] = header
        return header

    creator.to_string = to_string  # the instance's, so botocore's own handler uses it too
    return True
