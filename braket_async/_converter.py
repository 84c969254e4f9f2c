"""The one cattrs converter: wire dicts (camelCase) <-> models (snake_case attributes).

Configured in :func:`make_converter` and never the global converter. Unknown wire members
are ignored so a field the service adds never breaks a caller. Structure functions for every
model are generated at import, so a call only pays for running them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models
from .models.enums import OpenStrEnum

__all__ = [
    "CONVERTER",
    "camel",
    "make_converter",
    "parse_timestamp",
    "structure_fn",
    "to_utc",
    "unstructure",
]

T = TypeVar("T")
_UTC = UTC


def camel(name: str) -> str:
    """``output_s3_bucket`` -> ``outputS3Bucket`` (the wire spelling of an attribute)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_utc(value: Any) -> datetime:
    """An aware UTC datetime from a datetime (naive means UTC), ISO string or epoch seconds."""
    if isinstance(value, datetime):
        tz = value.tzinfo
        if tz is _UTC:
            return value
        return value.replace(tzinfo=_UTC) if tz is None else value.astimezone(_UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, _UTC)
    if isinstance(value, str):
        return to_utc(datetime.fromisoformat(value))
    raise TypeError(f"expected a datetime, ISO 8601 string or epoch seconds, got {value!r}")


def _optional(attribute: attrs.Attribute[Any]) -> bool:
    default = attribute.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return True
    return default is None or default == ()


def parse_timestamp(value: Any) -> datetime:
    """botocore timestamp parser that yields aware UTC datetimes directly.

    Installed on the session's response parser: ``datetime.fromisoformat`` is much cheaper than
    botocore's dateutil-based default, and no later conversion to UTC is needed. Anything it
    cannot read (RFC 822 dates) goes to botocore's parser.
    """
    if isinstance(value, str):
        try:
            return to_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, _UTC)
    return to_utc(botocore_parse_timestamp(value))


def make_converter() -> cattrs.Converter:
    """Build the converter (camelCase renames, aware datetimes, lenient on extra keys)."""
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)

    conv.register_structure_hook(datetime, lambda value, _: to_utc(value))
    # botocore serialises datetimes itself; hand them over untouched.
    conv.register_unstructure_hook(datetime, lambda value: value)

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        renames: dict[str, Any] = {
            a.name: override(rename=camel(a.name)) for a in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=False, **renames)

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        # Leave out unset optional members (default None or empty), but always send a
        # member with a real default, such as a filter's EQUAL operator.
        renames: dict[str, Any] = {
            a.name: override(rename=camel(a.name), omit_if_default=_optional(a))
            for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **renames)

    # Plain strings on the wire (members are str subclasses, but JSON users expect str).
    conv.register_unstructure_hook(OpenStrEnum, lambda value: str(value))
    # Known values by a dict lookup: Enum's own call costs a microsecond per value, and
    # every response carries several (statuses, types, queue names).
    # (by class: cattrs dispatches str subclasses by class before any predicate)
    conv.register_structure_hook(OpenStrEnum, _structure_open_enum)
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


def _structure_open_enum(value: Any, cls: type[OpenStrEnum]) -> OpenStrEnum:
    member = cls._value2member_map_.get(value) if isinstance(value, str) else None
    return member if member is not None else cls(value)  # type: ignore[return-value]


CONVERTER = make_converter()


def structure_fn(cls: type[T]) -> Callable[[Any], T]:
    """A one-argument function that builds ``cls`` from a wire dict (generated once)."""
    hook = CONVERTER.get_structure_hook(cls)

    def structure(data: Any) -> T:
        return hook(data, cls)  # type: ignore[no-any-return]

    return structure


def unstructure(value: Any) -> Any:
    """A model (or nested models) as wire data: camelCase keys, defaults omitted, lists."""
    data = CONVERTER.unstructure(value)
    return _lists(data)


def _lists(data: Any) -> Any:
    # botocore accepts tuples too, but JSON-ish lists are what users expect to see.
    if isinstance(data, dict):
        return {k: _lists(v) for k, v in data.items()}
    if isinstance(data, tuple | list):
        return [_lists(v) for v in data]
    return data


# Generate every model's structure function now rather than on the first call.
for _name in models.__all__:
    _obj = getattr(models, _name)
    if isinstance(_obj, type) and attrs.has(_obj):
        CONVERTER.get_structure_hook(_obj)
