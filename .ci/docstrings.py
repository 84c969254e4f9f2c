"""The docstring check of the documentation build (a mkdocs hook; also ``python
.ci/docstrings.py``): in the modules listed in ``CHECKED``, every public object has a
docstring, and every public function or method with parameters documents them in a Google
style ``Args:`` section (a class may document its ``__init__`` arguments in its own docstring).
A name a package re-exports is checked where it is defined (griffe resolves the alias), once.

Each problem is logged as a warning, so ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).resolve().parent.parent
#: The modules held to the check (their public objects, and the public classes they define).
#: Every module with a reference page (docs/reference/), plus what those pages pull in.
CHECKED = (
    "braket_async",
    "braket_async._operations.Operations",
    "braket_async._session",
    "braket_async._credentials",
    "braket_async.models",
    "braket_async.models.search",
    "braket_async.models._kinds",
    "braket_async.programs",
    "braket_async.polling",
    "braket_async.ratelimit",
    "braket_async.ratelimit_redis",
    "braket_async.errors",
    "braket_async.contrib.fastapi",
    "braket_async.paginate",
    "braket_async.waiters",
    "braket_async.telemetry",
    "braket_async_pytest.plugin",
    "braket_async.jobs",
    "braket_async.results",
    "braket_async.batch",
    "braket_async.batch_redis",
    "braket_async.events",
    "braket_async.events_redis",
    "braket_async.tracking",
    "braket_async.local",
)
_log = logging.getLogger("mkdocs.plugins.braket_async.docstrings")


def _params(function: Any) -> list[str]:
    return [
        p.name
        for p in function.parameters
        if p.name not in ("self", "cls") and not p.name.startswith("_")
    ]


def _documented(docstring: Any) -> set[str]:
    names: set[str] = set()
    if docstring is None:
        return names
    for section in docstring.parse("google"):
        if section.kind.value in ("parameters", "other parameters"):
            names.update(p.name.lstrip("*") for p in section.value)
    return names


def _public(obj: Any) -> bool:
    return not obj.name.startswith("_") and not obj.is_alias


def _target(member: Any) -> Any:
    """The object an alias (a re-export) points to, or None when it lies outside the project
    (a name re-exported from a dependency is documented there)."""
    if not member.is_alias:
        return member
    try:
        target = member.final_target
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return target if target.package.name in _PACKAGES else None


_PACKAGES = ("braket_async", "braket_async_pytest")


def problems(modules: tuple[str, ...] = CHECKED) -> Iterator[str]:
    """Every missing docstring or parameter section in ``modules``."""
    loader = griffe.GriffeLoader(search_paths=[str(ROOT)], docstring_parser="google")
    for name in modules:
        loader.load(name.rsplit(".", 1)[0] if _is_object(name) else name)
    loader.resolve_aliases(external=False, implicit=False)
    seen: set[str] = set()
    for name in modules:
        if _is_object(name):
            parent, _, attr = name.rpartition(".")
            yield from _check(loader.modules_collection[parent][attr], seen)
            continue
        module = loader.modules_collection[name]
        exported = set(module.exports or ()) if module.exports is not None else None
        for member in module.members.values():
            if member.name.startswith("_"):
                continue
            if exported is not None and member.name not in exported:
                continue
            if exported is None and member.is_alias:
                continue  # an import, not a re-export: not part of this module's surface
            target = _target(member)
            if target is not None and not target.is_module:
                yield from _check(target, seen)


def _is_object(path: str) -> bool:
    return path.rsplit(".", 1)[-1][:1].isupper()


def _check(obj: Any, seen: set[str]) -> Iterator[str]:
    if obj.path in seen:
        return
    seen.add(obj.path)
    where = f"{obj.relative_filepath}:{obj.lineno} {obj.path}"
    if obj.docstring is None:
        yield f"{where}: no docstring"
    if obj.is_function:
        missing = [p for p in _params(obj) if p not in _documented(obj.docstring)]
        if missing:
            yield f"{where}: parameters without an Args entry: {', '.join(missing)}"
    if obj.is_class:
        init = obj.members.get("__init__")
        if init is not None and not init.is_alias and init.is_function:
            documented = _documented(obj.docstring) | _documented(init.docstring)
            missing = [p for p in _params(init) if p not in documented]
            if missing:
                yield f"{where}: __init__ parameters without an Args entry: {', '.join(missing)}"
        for member in obj.members.values():
            if _public(member) and (member.is_function or member.is_class):
                yield from _check(member, seen)


def on_pre_build(config: Any) -> None:
    """mkdocs hook: log every problem as a warning (``--strict`` turns them into a failure)."""
    for problem in problems():
        _log.warning("docstring: %s", problem)


if __name__ == "__main__":
    found = list(problems())
    print("\n".join(found) or f"docstrings complete in {len(CHECKED)} modules")
    sys.exit(1 if found else 0)
