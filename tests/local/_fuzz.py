"""Fuzzed, correctly signed requests for all 17 Braket operations of the local service.

Each case is one operation's valid request (:func:`valid_params`), serialized by botocore's
own rest-json serializer, then mutated where a hostile caller would: a body member replaced by
any JSON value (wrong types, huge numbers, NaN, long or odd strings, deep nesting) or removed,
a string member given odd text (quotes, braces, spaces, newlines, any Unicode), unknown
members added, the JSON documents inside ``action`` / ``deviceParameters`` replaced, a path
label or the query string rewritten, or the whole body swapped for other JSON or bytes.
The result is SigV4-signed like botocore signs, so it passes authentication and reaches
validation and the handlers. Shared by ``tests/local/test_fuzz.py`` (a few hundred cases) and
``benchmarks/fuzz_local.py`` (thousands).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import attrs
from botocore import serialize
from hypothesis import strategies as st

from braket_async.local._model import service_model

from ._helpers import SV1, SignedHttp, job_request, openqasm

__all__ = ["Case", "FuzzTargets", "cases", "prepare_targets", "send_case"]

#: Members whose string value is itself a JSON document the service parses.
EMBEDDED_JSON = ("action", "deviceParameters")
_RAW = "\u0000raw{}\u0000"


@attrs.frozen
class FuzzTargets:
    """Resources the valid requests point at (made once per service by prepare_targets)."""

    bucket: str
    task_arn: str
    job_arn: str
    spending_limit_arn: str


def valid_params(operation: str, t: FuzzTargets, token: str) -> dict[str, Any]:
    """A request of ``operation`` the service accepts (botocore parameter names)."""
    period = {"startAt": 1_900_000_000, "endAt": 1_990_000_000}
    table: dict[str, Callable[[], dict[str, Any]]] = {
        "CreateQuantumTask": lambda: {
            "deviceArn": SV1,
            "action": openqasm(),
            "deviceParameters": json.dumps({"braketSchemaHeader": {"name": "x", "version": "1"}}),
            "shots": 10,
            "outputS3Bucket": t.bucket,
            "outputS3KeyPrefix": "fuzz",
            "clientToken": token,
            "tags": {"fuzz": "1"},
        },
        "GetQuantumTask": lambda: {
            "quantumTaskArn": t.task_arn,
            "additionalAttributeNames": ["QueueInfo"],
        },
        "CancelQuantumTask": lambda: {"quantumTaskArn": t.task_arn, "clientToken": token},
        "SearchQuantumTasks": lambda: {
            "filters": [{"name": "status", "values": ["COMPLETED"], "operator": "EQUAL"}],
            "maxResults": 5,
        },
        "CreateJob": lambda: {**job_request(f"fuzz-{token[:8]}"), "clientToken": token},
        "GetJob": lambda: {"jobArn": t.job_arn, "additionalAttributeNames": ["QueueInfo"]},
        "CancelJob": lambda: {"jobArn": t.job_arn},
        "SearchJobs": lambda: {
            "filters": [{"name": "jobArn", "values": [t.job_arn], "operator": "EQUAL"}],
            "maxResults": 5,
        },
        "GetDevice": lambda: {"deviceArn": SV1},
        "SearchDevices": lambda: {"filters": [{"name": "deviceArn", "values": [SV1]}]},
        "ListTagsForResource": lambda: {"resourceArn": t.task_arn},
        "TagResource": lambda: {"resourceArn": t.task_arn, "tags": {"k": "v"}},
        "UntagResource": lambda: {"resourceArn": t.task_arn, "tagKeys": ["k"]},
        "CreateSpendingLimit": lambda: {
            "clientToken": token,
            "deviceArn": SV1,
            "spendingLimit": "100.00",
            "timePeriod": period,
        },
        "UpdateSpendingLimit": lambda: {
            "spendingLimitArn": t.spending_limit_arn,
            "clientToken": token,
            "spendingLimit": "50",
            "timePeriod": period,
        },
        "DeleteSpendingLimit": lambda: {"spendingLimitArn": t.spending_limit_arn},
        "SearchSpendingLimits": lambda: {
            "filters": [{"name": "deviceArn", "values": [SV1], "operator": "EQUAL"}],
        },
    }
    return table[operation]()


OPERATIONS: tuple[str, ...] = tuple(sorted(service_model().operation_names))

_SERIALIZER = serialize.create_serializer("rest-json", include_validation=False)


@attrs.frozen
class Case:
    """One request as sent: method, path and query as on the wire, body bytes."""

    operation: str
    method: str
    path: str
    query: str
    body: bytes
    mutation: str

    def url(self, endpoint: str) -> str:
        return endpoint + self.path + (f"?{self.query}" if self.query else "")


def _dump(doc: Any, raws: list[str]) -> str:
    # Deep documents are spliced in as text: json.dumps of a 100 000-deep list would recurse.
    text = json.dumps(doc)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(_RAW.format(i)), raw)
    return text


# Values ------------------------------------------------------------------------------------

_odd_text = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from('"{}[] \n\t\\/%:'),
    max_size=40,
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities included: json.dumps writes them, Python reads them
    | _odd_text
    | st.integers(min_value=0, max_value=70_000).map(lambda n: "a" * n)
    | st.sampled_from(["", "0", "-1", "arn:aws:braket:::device/x", SV1, "QueueInfo", "EQUAL"])
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_odd_text, inner, max_size=4),
    max_leaves=8,
)


@st.composite
def _deep_text(draw: st.DrawFn) -> str:
    depth = draw(st.sampled_from([63, 64, 65, 200, 1_500, 100_000]))
    kind = draw(st.sampled_from(["list", "object"]))
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def _value(draw: st.DrawFn, raws: list[str]) -> Any:
    if draw(st.integers(0, 9)) == 0:
        raws.append(draw(_deep_text()))
        return _RAW.format(len(raws) - 1)
    return draw(json_values)


@st.composite
def _embedded(draw: st.DrawFn, member: str) -> str:
    """A new value for an embedded-JSON member: a mutated document or any text."""
    raws: list[str] = []
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(_odd_text)
    if choice == 1:
        return draw(_deep_text())
    base: dict[str, Any] = (
        json.loads(openqasm()) if member == "action" else {"braketSchemaHeader": {}}
    )
    key = draw(st.sampled_from([*base, "inputs", "paradigmParameters", "x"]))
    base[key] = draw(_value(raws))
    return _dump(base, raws)


# Cases -------------------------------------------------------------------------------------


def _serialize(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = _SERIALIZER.serialize_to_request(
        params, service_model().operation_model(operation)
    )
    return request


def _query(query: dict[str, Any]) -> str:
    return urlencode(query, doseq=True, quote_via=quote)


@st.composite
def _case(draw: st.DrawFn, operation: str, targets: FuzzTargets) -> Case:
    token = str(draw(st.uuids()))
    params = valid_params(operation, targets, token)
    shape = service_model().operation_model(operation).input_shape
    labels = [n for n, s in shape.members.items() if s.serialization.get("location") == "uri"]
    mutation = draw(
        st.sampled_from(
            ["member", "string", "drop", "unknown", "embedded", "label", "query", "body"]
        )
    )
    embedded = [name for name in EMBEDDED_JSON if name in params]
    if mutation == "embedded" and not embedded:
        mutation = "member"
    if mutation == "label" and labels:
        params[draw(st.sampled_from(labels))] = draw(_odd_text.filter(bool))
    if mutation == "embedded":
        member = draw(st.sampled_from(embedded))
        params[member] = draw(_embedded(member))
    request = _serialize(operation, params)
    body_text = request["body"].decode() if request["body"] else ""
    query = _query(request["query_string"])
    raws: list[str] = []
    doc: Any = json.loads(body_text) if body_text else {}
    if mutation == "member" and isinstance(doc, dict) and doc:
        doc[draw(st.sampled_from(sorted(doc)))] = draw(_value(raws))
    elif mutation == "string" and isinstance(doc, dict):
        # A string member keeps its type and gets odd text: past the model's type check, into
        # what the handlers do with it (an output bucket S3 refuses, an odd ARN).
        names = sorted(k for k, v in doc.items() if isinstance(v, str))
        if names:
            doc[draw(st.sampled_from(names))] = draw(_odd_text.filter(lambda t: len(t) >= 3))
    elif mutation == "drop" and isinstance(doc, dict) and doc:
        del doc[draw(st.sampled_from(sorted(doc)))]
    elif mutation == "unknown":
        doc[draw(_odd_text)] = draw(_value(raws))
    elif mutation == "query":
        extra = draw(st.dictionaries(_odd_text, _odd_text, min_size=1, max_size=3))
        query = "&".join(filter(None, [query, _query(extra)]))
    elif mutation == "body":
        doc = draw(_scalars | _value(raws))  # a scalar document as often as any other
    body = _dump(doc, raws).encode() if doc != {} or body_text else b""
    if mutation == "body" and draw(st.booleans()):
        body = draw(st.binary(min_size=1, max_size=64))
    return Case(operation, request["method"], request["url_path"], query, body, mutation)


#: The creates do the most with what they are given (embedded JSON, S3, jobs): drawn more.
_WEIGHTED = OPERATIONS + ("CreateQuantumTask",) * 5 + ("CreateJob",) * 2


def cases(targets: FuzzTargets) -> st.SearchStrategy[Case]:
    """Any operation (the creates more often), any mutation."""
    return st.sampled_from(_WEIGHTED).flatmap(lambda op: _case(op, targets))


async def send_case(http: SignedHttp, endpoint: str, case: Case) -> tuple[int, str]:
    """Send ``case`` signed; (HTTP status, error code or "")."""
    url = case.url(endpoint)
    async with http.request(case.method, url, data=case.body) as resp:
        await resp.read()
        return resp.status, resp.headers.get("x-amzn-ErrorType", "")


async def _create(http: SignedHttp, endpoint: str, operation: str, params: Any) -> Any:
    request = _serialize(operation, params)
    url = endpoint + request["url_path"]
    async with http.request(request["method"], url, data=request["body"]) as resp:
        answer = await resp.json()
        if resp.status >= 300:
            raise AssertionError(f"{operation} failed: {resp.status} {answer}")
        return answer


async def prepare_targets(
    session: aiohttp.ClientSession, endpoint: str, bucket: str
) -> FuzzTargets:
    """Create the task, job and spending limit the valid requests name."""
    http = SignedHttp(session)
    blank = FuzzTargets(bucket, "", "", "")
    token = str(uuid.uuid4())
    task = await _create(
        http, endpoint, "CreateQuantumTask", valid_params("CreateQuantumTask", blank, token)
    )
    job = await _create(http, endpoint, "CreateJob", valid_params("CreateJob", blank, token))
    limit = await _create(
        http, endpoint, "CreateSpendingLimit", valid_params("CreateSpendingLimit", blank, token)
    )
    return FuzzTargets(bucket, task["quantumTaskArn"], job["jobArn"], limit["spendingLimitArn"])
