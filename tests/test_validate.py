"""Property tests of parameter validation, driven by botocore's Braket model: every invalid
value is refused before the network with an error naming its field, and no valid value is
refused. Values are drawn from the model's own shapes (types, lengths, ranges, enums,
patterns), for every operation through ``validate`` and for the plain-parameter operations
through the session's public methods, against a server that records any request that gets
out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import botocore.config
import botocore.model
import pytest
from _wire import WireServer, session_on_wire, wire_server
from aiohttp import web
from botocore import xform_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from braket_async import BraketSession, errors
from braket_async._validate import _EXTRA_ARN_PATTERNS, SERVICE_MODEL, validate

#: (value, snake_case path suffix) of one invalid value; the path is where the error points.
Invalid = tuple[Any, str]

SETTINGS = settings(
    max_examples=25,
    database=None,  # no example database written into the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
)
#: Operations whose session method takes exactly the wire members, snake_case, unconverted.
PLAIN_OPERATIONS = (
    "GetQuantumTask", "CancelQuantumTask", "GetDevice", "GetJob", "CancelJob",
    "ListTagsForResource", "TagResource", "UntagResource", "DeleteSpendingLimit",
    "SearchQuantumTasks", "SearchJobs", "SearchDevices", "SearchSpendingLimits",
)
_MAX_ITEMS = 3
_MAX_TEXT = 40


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _pattern_of(shape: botocore.model.Shape, member: str) -> str | None:
    pattern = shape.metadata.get("pattern")
    if pattern is None and member in _EXTRA_ARN_PATTERNS:
        pattern = _EXTRA_ARN_PATTERNS[member][0]
    return pattern


def _bounds(shape: botocore.model.Shape) -> tuple[int, int | None]:
    return shape.metadata.get("min", 0), shape.metadata.get("max")


# -- valid values -------------------------------------------------------------------------------


def valid(shape: botocore.model.Shape, member: str = "") -> st.SearchStrategy[Any]:
    """Any value the model allows for ``shape`` (member name: ARN patterns the model lacks)."""
    kind = shape.type_name
    if kind == "string":
        lo, hi = _bounds(shape)
        if shape.enum:
            return st.sampled_from(list(shape.enum))
        pattern = _pattern_of(shape, member)
        cap = hi if hi is not None else max(lo, _MAX_TEXT)
        if pattern is not None:
            return st.from_regex(re.compile(pattern), fullmatch=True).filter(
                lambda s: lo <= len(s) <= cap
            )
        return st.text(min_size=lo, max_size=min(cap, max(lo, _MAX_TEXT)))
    if kind in ("integer", "long"):
        lo_i, hi_i = shape.metadata.get("min"), shape.metadata.get("max")
        return st.integers(min_value=lo_i, max_value=hi_i)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(timezones=st.just(UTC))
    if kind == "list":
        assert isinstance(shape, botocore.model.ListShape)
        lo, hi = _bounds(shape)
        return st.lists(valid(shape.member, member), min_size=lo,
                        max_size=max(lo, min(hi or _MAX_ITEMS, _MAX_ITEMS)))
    if kind == "map":
        assert isinstance(shape, botocore.model.MapShape)
        lo, hi = _bounds(shape)
        return st.dictionaries(valid(shape.key), valid(shape.value), min_size=lo,
                               max_size=max(lo, min(hi or _MAX_ITEMS, _MAX_ITEMS)))
    if kind == "structure":
        assert isinstance(shape, botocore.model.StructureShape)
        required = set(shape.required_members)
        return st.fixed_dictionaries(
            {name: valid(s, name) for name, s in shape.members.items() if name in required},
            optional={name: valid(s, name) for name, s in shape.members.items()
                      if name not in required},
        )
    return st.none()  # documents: anything goes


# -- invalid values -----------------------------------------------------------------------------


def invalid(shape: botocore.model.Shape, member: str = "") -> st.SearchStrategy[Invalid]:
    """A value that breaks one rule of ``shape``, and the path (below the member) the error
    must name."""
    kind = shape.type_name
    options: list[st.SearchStrategy[Invalid]] = []

    def here(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Invalid]:
        return values.map(lambda v: (v, ""))

    if kind == "string":
        lo, hi = _bounds(shape)
        # (None is not among them: a session method takes None as "not given")
        options.append(here(st.integers() | st.lists(st.text(), max_size=1)))
        if lo > 0:
            options.append(here(st.text(max_size=lo - 1)))
        if hi is not None:  # (built, not drawn char by char: some limits are 300k long)
            options.append(here(st.tuples(st.characters(), st.integers(1, 3)).map(
                lambda ck, hi=hi: ck[0] * (hi + ck[1]))))
        if shape.enum:
            allowed = set(shape.enum)
            options.append(here(st.text(min_size=max(lo, 1), max_size=20).filter(
                lambda s: s not in allowed)))
        pattern = _pattern_of(shape, member)
        if pattern is not None and pattern != ".*":
            regex = re.compile(pattern)
            upper = max(lo, 1, min(hi if hi is not None else _MAX_TEXT, _MAX_TEXT))
            options.append(here(st.text(min_size=max(lo, 1), max_size=upper).filter(
                lambda s: regex.fullmatch(s) is None)))
    elif kind in ("integer", "long"):
        lo_i, hi_i = shape.metadata.get("min"), shape.metadata.get("max")
        options.append(here(st.text(max_size=3) | st.floats() | st.booleans()))
        if lo_i is not None:
            options.append(here(st.integers(max_value=lo_i - 1)))
        if hi_i is not None:
            options.append(here(st.integers(min_value=hi_i + 1)))
    elif kind == "boolean":
        options.append(here(st.integers() | st.text(max_size=3)))
    elif kind == "timestamp":
        options.append(here(st.lists(st.integers(), max_size=2) | st.booleans()))
    elif kind == "list":
        assert isinstance(shape, botocore.model.ListShape)
        lo, hi = _bounds(shape)
        options.append(here(st.integers() | st.dictionaries(st.text(), st.text(), max_size=1)))
        if hi is not None and hi < 20:
            options.append(here(st.lists(valid(shape.member, member), min_size=hi + 1,
                                         max_size=hi + 1)))
        if lo > 0:
            options.append(here(st.just([])))
        item_shape = shape.member

        @st.composite
        def bad_item(draw: st.DrawFn) -> Invalid:
            before = draw(st.lists(valid(item_shape, member), max_size=1))
            value, path = draw(invalid(item_shape, member))
            index = len(before)
            return [*before, value], f"[{index}]{path}"

        options.append(bad_item())
    elif kind == "map":
        assert isinstance(shape, botocore.model.MapShape)
        lo, hi = _bounds(shape)
        options.append(here(st.integers() | st.lists(st.text(), max_size=1)))
        if hi is not None and hi < 20:
            options.append(here(st.dictionaries(valid(shape.key), valid(shape.value),
                                                min_size=hi + 1, max_size=hi + 1)))
        key_shape, value_shape = shape.key, shape.value

        @st.composite
        def bad_value(draw: st.DrawFn) -> Invalid:
            key = draw(valid(key_shape))
            value, _ = draw(invalid(value_shape))
            return {key: value}, f"[{key!r}]"

        options.append(bad_value())
    elif kind == "structure":
        assert isinstance(shape, botocore.model.StructureShape)
        options.append(here(st.integers() | st.text(max_size=3)))
        options.append(bad_member(shape))
        required = [
            name for name in shape.required_members
            if not shape.members[name].metadata.get("idempotencyToken")
        ]
        if required:
            options.append(missing_member(shape, required))
    if not options:
        return st.nothing()
    return st.one_of(options)


def bad_member(shape: botocore.model.StructureShape) -> st.SearchStrategy[Invalid]:
    """A valid structure but for one member, broken."""

    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        value = dict(draw(valid(shape)))
        candidates = [n for n, s in shape.members.items() if s.type_name != "document"]
        name = draw(st.sampled_from(candidates))
        bad, path = draw(invalid(shape.members[name], name))
        value[name] = bad
        return value, f".{xform_name(name)}{path}"

    return build()


def missing_member(
    shape: botocore.model.StructureShape, required: list[str]
) -> st.SearchStrategy[Invalid]:
    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        value = dict(draw(valid(shape)))
        name = draw(st.sampled_from(required))
        del value[name]
        return value, f".{xform_name(name)}"

    return build()


def input_shape(operation: str) -> botocore.model.StructureShape:
    shape = SERVICE_MODEL.operation_model(operation).input_shape
    assert isinstance(shape, botocore.model.StructureShape)
    return shape


OPERATIONS = sorted(
    op for op in SERVICE_MODEL.operation_names
    if SERVICE_MODEL.operation_model(op).input_shape is not None
)


def assert_names_field(error: errors.ParameterError, path: str, operation: str) -> None:
    expected = path.removeprefix(".")
    assert error.field == expected, (error.field, expected, str(error))
    assert error.operation == operation
    assert expected.split("[")[0].split(".")[0] in str(error)


# -- every operation, through validate ------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
@SETTINGS
@given(data=st.data())
def test_no_valid_request_is_refused(operation: str, data: st.DataObject) -> None:
    params = data.draw(valid(input_shape(operation)))
    validate(operation, params)


@pytest.mark.parametrize("operation", OPERATIONS)
@SETTINGS
@given(data=st.data())
def test_every_invalid_request_is_refused_naming_its_field(
    operation: str, data: st.DataObject
) -> None:
    shape = input_shape(operation)
    params, path = data.draw(st.one_of(bad_member(shape), *(
        [missing_member(shape, req)] if (req := [
            n for n in shape.required_members
            if not shape.members[n].metadata.get("idempotencyToken")
        ]) else []
    )))
    with pytest.raises(errors.ParameterError) as info:
        validate(operation, params)
    assert_names_field(info.value, path, operation)


# -- the session's methods, against a server that records anything that gets out -------------------


@pytest.fixture(scope="module")
async def wire() -> AsyncIterator[WireServer]:
    async with wire_server() as server:

        async def refuse(request: web.Request) -> web.StreamResponse:
            # Any request reaching here is recorded by the server; answer something unusable.
            return web.Response(status=418, text="a request got out")

        server.handler = refuse
        yield server


@pytest.fixture(scope="module")
async def braket(wire: WireServer) -> AsyncIterator[BraketSession]:
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    async with session_on_wire(wire, config=config) as session:
        yield session


async def call(braket: BraketSession, operation: str, params: dict[str, Any]) -> None:
    method = getattr(braket, xform_name(operation))
    await method(**{xform_name(name): value for name, value in params.items()})


@pytest.mark.parametrize("operation", PLAIN_OPERATIONS)
@SETTINGS
@given(data=st.data())
async def test_public_methods_refuse_invalid_values_before_the_network(
    wire: WireServer, braket: BraketSession, operation: str, data: st.DataObject
) -> None:
    shape = input_shape(operation)
    params, path = data.draw(bad_member(shape))
    sent = len(wire.requests)
    with pytest.raises(errors.ParameterError) as info:
        await call(braket, operation, params)
    assert len(wire.requests) == sent, "an invalid request got out"
    assert_names_field(info.value, path, operation)


@pytest.mark.parametrize("operation", PLAIN_OPERATIONS)
@SETTINGS
@given(data=st.data())
async def test_public_methods_send_every_valid_value(
    wire: WireServer, braket: BraketSession, operation: str, data: st.DataObject
) -> None:
    params = data.draw(valid(input_shape(operation)))
    sent = len(wire.requests)
    with pytest.raises(errors.BraketError) as info:  # the server answers 418
        await call(braket, operation, params)
    assert not isinstance(info.value, errors.ParameterError), info.value
    assert len(wire.requests) == sent + 1
