"""JSON that a caller gives, read or written with a depth bound (a leaf: no package imports).

Braket's actions and device parameters are JSON documents inside request strings. A document
nested thousands deep, or a ``dict`` that contains itself, makes ``json`` raise RecursionError
or a bare ValueError deep in a call; both sides of the wire bound it here instead: the client
(``programs``) refuses it as a ParameterError before the network, the local service
(``local._body``) answers 400. Braket's deepest documents nest a few levels; 64 leaves room.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JsonRejected", "depth_exceeds", "dump_json", "load_json"]

#: Deepest nesting of JSON objects and arrays accepted, on both sides of the wire.
MAX_JSON_DEPTH = 64


class JsonRejected(ValueError):
    """JSON that is not JSON, not serialisable, cyclic or too deep (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests objects/arrays deeper than ``limit`` (a cycle always does)."""
    # Iterative: a recursive walk is exactly what a deep document would break.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue  # a scalar has no children
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return False


def _too_deep(max_depth: int) -> JsonRejected:
    return JsonRejected(f"nested too deeply: at most {max_depth} levels of JSON objects and arrays")


def load_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``text`` as JSON, nested at most ``max_depth`` levels; :class:`JsonRejected` otherwise.

    A document too deep for the parser's recursion (RecursionError) is rejected like one that
    parses and is then found too deep, so no such document reaches a recursive walk later.
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise JsonRejected(f"not valid JSON: {exc}") from None
    if depth_exceeds(doc, max_depth):
        raise _too_deep(max_depth)
    return doc


def dump_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str:
    """``value`` as a JSON string; :class:`JsonRejected` when it contains itself, nests deeper
    than ``max_depth`` or holds something JSON cannot represent."""
    try:
        text = json.dumps(value)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:
        if "ircular reference" in str(exc):
            raise JsonRejected("must not contain itself (a reference cycle)") from None
        raise JsonRejected(f"must be JSON-serialisable: {exc}") from None
    except TypeError as exc:
        raise JsonRejected(f"must be JSON-serialisable: {exc}") from None
    if depth_exceeds(value, max_depth):
        raise _too_deep(max_depth)
    return text
