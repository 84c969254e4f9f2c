"""The local service's state-change events, through the real PutEvents -> rule -> SQS path
on the embedded moto server, compared field by field with Braket's documented example
(docs/events.md)."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from _common import raw_client
from _event_queue import event_queue
from _wire import wire_server

from braket_async.local import LocalBraket, NoScriptJobRunner
from braket_async.local.state._faults import EventFaultSpec, FaultConfig

from .._helpers import (
    SV1,
    RawClients,
    control_headers,
    job_request,
    task_request,
    wait_task,
    wait_until,
)

#: The detail members of Braket's documented example, in its order (endedAt last, terminal
#: only).
TASK_DETAIL_KEYS = [
    "quantumTaskArn",
    "status",
    "deviceArn",
    "shots",
    "outputS3Bucket",
    "outputS3Directory",
    "createdAt",
    "eventName",
]
#: ``2021-10-28T01:17:42.898Z``: the example's detail timestamps.
MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
#: ``2021-10-28T01:17:45Z``: the example's envelope time.
SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
async def fast_publisher(
    make_local: Any, local_braket: LocalBraket, clients: RawClients
) -> tuple[LocalBraket, Any]:
    """A quick local service publishing its events to ``local_braket``'s moto, and a raw
    client on it."""
    local: LocalBraket = await make_local(
        queue_delay=0.01, run_delay=0.01, events_endpoint_url=local_braket.s3_endpoint_url
    )
    return local, await clients.braket(local)


def _millis(when: datetime) -> str:
    """``when`` as the example's detail timestamps show it (milliseconds, ``Z``)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _for(arn: str, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["resources"] == [arn]]


def _statuses(arn: str) -> Any:
    return lambda got: any(
        e["detail"]["status"] in ("COMPLETED", "FAILED", "CANCELLED") for e in _for(arn, got)
    )


async def test_a_task_lifecycle_publishes_events_in_the_documented_shape(
    local_braket: LocalBraket, clients: RawClients
) -> None:
    raw = await clients.braket(local_braket)
    assert local_braket.events_endpoint_url == local_braket.s3_endpoint_url
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        arn = (await raw.create_quantum_task(**task_request(local_braket, shots=100)))[
            "quantumTaskArn"
        ]
        task = await wait_task(raw, arn)
        envelopes = _for(arn, await queue.receive_all(until=_statuses(arn)))

    assert [e["detail"]["status"] for e in envelopes] == [
        "CREATED",
        "QUEUED",
        "RUNNING",
        "COMPLETED",
    ]
    for envelope in envelopes:
        assert envelope["version"] == "0"
        assert envelope["source"] == "aws.braket"
        assert envelope["detail-type"] == "Braket Task State Change"
        assert envelope["region"] == "us-east-1"
        assert envelope["resources"] == [arn]
        assert SECONDS.fullmatch(envelope["time"])
        uuid.UUID(envelope["id"])
        detail = envelope["detail"]
        terminal = detail["status"] == "COMPLETED"
        assert list(detail) == TASK_DETAIL_KEYS + (["endedAt"] if terminal else [])
        assert detail["quantumTaskArn"] == arn
        assert detail["deviceArn"] == SV1
        assert detail["shots"] == "100"  # a string, as in the example
        assert detail["outputS3Bucket"] == local_braket.default_bucket
        assert detail["outputS3Directory"] == task["outputS3Directory"]
        assert MILLIS.fullmatch(detail["createdAt"])
        assert detail["createdAt"] == _millis(task["createdAt"])
        assert detail["eventName"] == ("INSERT" if detail["status"] == "CREATED" else "MODIFY")
        if terminal:
            assert MILLIS.fullmatch(detail["endedAt"])
            ended = _millis(task["endedAt"])
            assert detail["endedAt"] == ended
    assert len({e["id"] for e in envelopes}) == 4
    assert local_braket.ledger.snapshot()["events"]["published"] >= 4


async def test_a_cancelled_task_publishes_cancelling_and_cancelled(
    make_local: Any, local_braket: LocalBraket, clients: RawClients
) -> None:
    local = await make_local(queue_delay=30.0, events_endpoint_url=local_braket.s3_endpoint_url)
    raw = await clients.braket(local)
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        arn = (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        await wait_until(
            lambda: raw.get_quantum_task(quantumTaskArn=arn), lambda r: r["status"] == "QUEUED"
        )
        await raw.cancel_quantum_task(quantumTaskArn=arn, clientToken=str(uuid.uuid4()))
        envelopes = _for(arn, await queue.receive_all(until=_statuses(arn)))
    statuses = [e["detail"]["status"] for e in envelopes]
    assert statuses == ["CREATED", "QUEUED", "CANCELLING", "CANCELLED"]
    assert "endedAt" in envelopes[-1]["detail"] and "endedAt" not in envelopes[-2]["detail"]


async def test_a_job_lifecycle_publishes_job_state_changes(
    make_local: Any, local_braket: LocalBraket, clients: RawClients
) -> None:
    local = await make_local(
        job_runner=NoScriptJobRunner(step_delay=0.01),
        events_endpoint_url=local_braket.s3_endpoint_url,
    )
    raw = await clients.braket(local)
    name = f"events-{uuid.uuid4().hex[:8]}"
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        arn = (await raw.create_job(**job_request(name), clientToken=str(uuid.uuid4())))["jobArn"]
        envelopes = _for(arn, await queue.receive_all(until=_statuses(arn)))
        job = await raw.get_job(jobArn=arn)
    assert [e["detail"]["status"] for e in envelopes] == ["QUEUED", "RUNNING", "COMPLETED"]
    for envelope in envelopes:
        assert envelope["detail-type"] == "Braket Job State Change"
        assert envelope["source"] == "aws.braket"
        detail = envelope["detail"]
        assert detail["jobArn"] == arn and detail["jobName"] == name
        assert MILLIS.fullmatch(detail["createdAt"])
    first, running, done = (e["detail"] for e in envelopes)
    assert first["eventName"] == "INSERT" and "startedAt" not in first
    assert running["eventName"] == "MODIFY" and MILLIS.fullmatch(running["startedAt"])
    assert done["endedAt"] == _millis(job["endedAt"])


async def test_events_faults_drop_duplicate_and_reorder(
    local_braket: LocalBraket, fast_publisher: tuple[LocalBraket, Any]
) -> None:
    local, raw = fast_publisher
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        local.faults = FaultConfig(events=EventFaultSpec(duplicate=1.0), seed=1)
        arn = (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        await wait_task(raw, arn)
        dup = _for(arn, await queue.receive_all(until=lambda got: len(_for(arn, got)) >= 8))
        assert sorted(e["detail"]["status"] for e in dup) == sorted(
            ["CREATED", "QUEUED", "RUNNING", "COMPLETED"] * 2
        )
        assert len({e["id"] for e in dup}) == 8  # republished: EventBridge gives new ids

        local.faults = FaultConfig(events=EventFaultSpec(drop=1.0))
        dropped = (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        await wait_task(raw, dropped)

        # Every event held back until the next one: the last one is released on its own.
        local.faults = FaultConfig(events=EventFaultSpec(reorder=0.5), seed=3)
        arns = [
            (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
            for _ in range(3)
        ]
        for each in arns:
            await wait_task(raw, each)
        got = await queue.receive_all(until=lambda got: all(_statuses(a)(got) for a in arns))
        got += await queue.receive_all(until=lambda got: True)
    assert _for(dropped, got) == []
    assert local.ledger.snapshot()["events"]["dropped"] == 4
    for each in arns:
        assert len(_for(each, got)) == 4
    orders = [[e["detail"]["status"] for e in _for(each, got)] for each in arns]
    assert any(o != ["CREATED", "QUEUED", "RUNNING", "COMPLETED"] for o in orders), orders
    assert local.ledger.snapshot()["events"]["reordered"] > 0


async def test_a_delayed_event_arrives_later(
    local_braket: LocalBraket, fast_publisher: tuple[LocalBraket, Any]
) -> None:
    local, raw = fast_publisher
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        local.faults = FaultConfig(events=EventFaultSpec(delay=3.0, delay_probability=1.0))
        arn = (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
        await wait_task(raw, arn)
        # Settled already, but none of its events is out yet.
        assert _for(arn, await queue.receive_all(until=lambda got: True)) == []
        got = await queue.receive_all(until=lambda got: len(_for(arn, got)) == 4)
    assert {e["detail"]["status"] for e in _for(arn, got)} == {
        "CREATED",
        "QUEUED",
        "RUNNING",
        "COMPLETED",
    }
    assert local.ledger.snapshot()["events"]["delayed"] == 4


async def test_events_false_publishes_nothing(make_local: Any, local_braket: LocalBraket) -> None:
    local = await make_local(events=False, events_endpoint_url=local_braket.s3_endpoint_url)
    assert local.events_endpoint_url is None
    assert local.store.observer is None


def test_event_fault_spec_validation() -> None:
    with pytest.raises(ValueError, match="drop \\+ duplicate must be at most 1"):
        EventFaultSpec(drop=0.6, duplicate=0.6)
    with pytest.raises(ValueError, match=r"faults\.events\.lose is not an event fault field"):
        FaultConfig.from_json({"events": {"lose": 1}})
    with pytest.raises(ValueError, match=r"faults\.events\.delay must be a number"):
        FaultConfig.from_json({"events": {"delay": "1s"}})
    config = FaultConfig.from_json({"events": {"duplicate": 0.5, "delay": 1.0}, "seed": 4})
    assert FaultConfig.from_json(config.to_json()).to_json() == config.to_json()
    assert config.events == EventFaultSpec(duplicate=0.5, delay=1.0)


async def test_event_faults_are_set_over_the_control_route(
    make_local: Any, local_braket: LocalBraket
) -> None:
    import aiohttp

    local = await make_local(events_endpoint_url=local_braket.s3_endpoint_url)
    doc = {"events": {"duplicate": 0.25, "delay": 0.5}, "seed": 2}
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{local.endpoint_url}/_local/faults", json=doc, headers=control_headers(local)
        ) as resp,
    ):
        assert resp.status == 200
        answer = await resp.json()
    assert answer["events"]["duplicate"] == 0.25 and answer["events"]["delay"] == 0.5
    assert local.faults is not None
    assert local.faults.events == EventFaultSpec(duplicate=0.25, delay=0.5)


async def test_moto_jsonpath_parses_are_cached(local_braket: LocalBraket) -> None:
    import jsonpath_ng.ext

    parse = jsonpath_ng.ext.parse
    assert hasattr(parse, "cache_info")
    assert parse("$.detail") is parse("$.detail")


async def test_moto_queue_counts_keep_their_meaning_in_one_pass(local_braket: LocalBraket) -> None:
    # The local service counts moto's queue messages in one pass (sends no longer cost a walk
    # of the queue per message); GetQueueAttributes must still say what moto's own counts say.

    async with raw_client("sqs", local_braket.s3_endpoint_url) as sqs:
        url = (await sqs.create_queue(QueueName=f"counts-{uuid.uuid4().hex[:8]}"))["QueueUrl"]
        try:
            for body in ("a", "b"):
                await sqs.send_message(QueueUrl=url, MessageBody=body)
            await sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
            received = await sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60
            )
            assert len(received["Messages"]) == 1
            attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))[
                "Attributes"
            ]
        finally:
            await sqs.delete_queue(QueueUrl=url)
    assert attributes["ApproximateNumberOfMessages"] == "1"  # visible, not delayed
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # the one received
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


class _EventBridgeOnWire:
    """An EventBridge on a scripted wire server: answers each PutEvents (HTTP 200) with the
    entries ``refuse(status)`` picks refused (``InternalFailure``), and records every
    attempt's entries by their detail status."""

    def __init__(self, refuse: Any) -> None:
        self.refuse = refuse
        self.attempts: list[list[str]] = []

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        entries = json.loads(await request.read())["Entries"]
        statuses = [json.loads(entry["Detail"])["status"] for entry in entries]
        self.attempts.append(statuses)
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "scripted"}
            if self.refuse(status)
            else {"EventId": str(uuid.uuid4())}
            for status in statuses
        ]
        refused = sum("ErrorCode" in r for r in results)
        return web.json_response(
            {"FailedEntryCount": refused, "Entries": results},
            content_type="application/x-amz-json-1.1",
        )


async def _publish_one_task(
    make_local: Any, clients: RawClients, wire_url: str
) -> tuple[LocalBraket, list[float]]:
    """A local service publishing to ``wire_url`` with a recording sleep; one task run to
    its end; the sleeps of the publisher's retries (the service's own delays are 0)."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        if seconds:
            sleeps.append(seconds)
        await asyncio.sleep(0)

    local: LocalBraket = await make_local(events_endpoint_url=wire_url, sleep=sleep)
    raw = await clients.braket(local)
    arn = (await raw.create_quantum_task(**task_request(local)))["quantumTaskArn"]
    await wait_task(raw, arn)
    return local, sleeps


def _ledger(local: LocalBraket, count: str) -> Any:
    async def probe() -> int:
        return local.ledger.events[count]

    return probe


async def test_refused_events_are_retried_through_retry_target_then_given_up(
    make_local: Any, clients: RawClients
) -> None:
    bridge = _EventBridgeOnWire(refuse=lambda status: True)
    async with wire_server() as wire:
        wire.handler = bridge.handle
        local, sleeps = await _publish_one_task(make_local, clients, wire.url)
        await wait_until(_ledger(local, "send_failed"), lambda n: n == 4)
        await local.close()  # before the wire server goes away
    assert local.ledger.events["published"] == 0
    # every event was attempted five times, backing off 50 ms doubling (no sleep after the last)
    sent = collections.Counter(s for attempt in bridge.attempts for s in attempt)
    assert sent == {"CREATED": 5, "QUEUED": 5, "RUNNING": 5, "COMPLETED": 5}
    batches = len(bridge.attempts) // 5
    assert sorted(sleeps) == sorted([0.05, 0.1, 0.2, 0.4] * batches)


async def test_only_the_refused_entries_of_a_batch_are_sent_again(
    make_local: Any, clients: RawClients
) -> None:
    refused_once: set[str] = set()

    def refuse(status: str) -> bool:  # each event refused once, accepted the second time
        if status in refused_once:
            return False
        refused_once.add(status)
        return True

    bridge = _EventBridgeOnWire(refuse)
    async with wire_server() as wire:
        wire.handler = bridge.handle
        local, sleeps = await _publish_one_task(make_local, clients, wire.url)
        await wait_until(_ledger(local, "published"), lambda n: n == 4)
        await local.close()
    assert local.ledger.events["send_failed"] == 0
    sent = collections.Counter(s for attempt in bridge.attempts for s in attempt)
    assert sent == {"CREATED": 2, "QUEUED": 2, "RUNNING": 2, "COMPLETED": 2}
    assert set(sleeps) == {0.05}  # one retry per batch, after the first delay
