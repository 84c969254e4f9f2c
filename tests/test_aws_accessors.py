"""``_aws_accessors``: the typed SQS and EventBridge doors, against the embedded moto server
(the local service's AWS endpoint), a scripted wire server for the answers moto does not give,
and a closed port; ``_aws_errors.is_missing_queue`` for both of SQS's protocols."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _common import raw_client
from _wire import Reply, wire_server
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from braket_async import BraketSession, errors
from braket_async._aws_accessors import EventBridge, SqsQueues
from braket_async._aws_errors import MISSING_QUEUE_CODES, is_missing_queue
from braket_async.local import LocalBraket

_ONE_ATTEMPT = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2)
#: SQS's JSON answer for a missing queue, with the header by which botocore reports the
#: query protocol's code instead (what real SQS sends: the model is awsQueryCompatible).
_QUERY_MISSING = Reply(
    400,
    json.dumps({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no such queue"}),
    {
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
    },
)


@pytest.fixture
async def sqs_client(local_braket: LocalBraket) -> AsyncIterator[Any]:
    async with raw_client("sqs", local_braket.s3_endpoint_url) as client:
        yield client


@pytest.fixture
async def queue(sqs_client: Any) -> AsyncIterator[str]:
    """A fresh queue on moto (deleted after the test)."""
    name = f"accessors-{uuid.uuid4().hex[:10]}"
    url = await SqsQueues.of(sqs_client).create_queue(name)
    yield url
    await sqs_client.delete_queue(QueueUrl=url)


async def test_sqs_queues_find_receive_release_and_delete(sqs_client: Any, queue: str) -> None:
    sqs = SqsQueues.of(sqs_client)
    name = queue.rsplit("/", 1)[1]
    assert await sqs.queue_url(name) == queue
    assert await sqs.create_queue(name) == queue  # an existing queue: its URL again
    await sqs.set_attributes(queue, {"VisibilityTimeout": "300"})
    attributes = await sqs.attributes(queue, ["QueueArn", "VisibilityTimeout", "Policy"])
    assert attributes["QueueArn"].endswith(f":{name}")
    assert attributes["VisibilityTimeout"] == "300"
    assert "Policy" not in attributes  # unset: absent, not empty

    await sqs_client.send_message(QueueUrl=queue, MessageBody="one")
    first = await sqs.receive(queue, max_messages=10, wait_time_seconds=1)
    assert [m["Body"] for m in first] == ["one"]
    # hidden for 300 s, unless handed back
    assert await sqs.receive(queue, max_messages=10, wait_time_seconds=0) == []
    released = await sqs.release_batch(queue, [first[0]["ReceiptHandle"]])
    assert released.succeeded == 1 and released.failures == ()
    again = await sqs.receive(queue, max_messages=10, wait_time_seconds=1, visibility_timeout=60)
    assert [m["Body"] for m in again] == ["one"]
    deleted = await sqs.delete_batch(queue, [again[0]["ReceiptHandle"]])
    assert deleted.succeeded == 1 and deleted.failures == ()
    await sqs.release_batch(queue, [again[0]["ReceiptHandle"]])
    assert await sqs.receive(queue, max_messages=10, wait_time_seconds=0) == []


async def test_a_missing_queue_is_one_helper_for_every_call(local_braket: LocalBraket) -> None:
    sqs = BraketSession(
        endpoint_url=local_braket.endpoint_url,
        sqs_endpoint_url=local_braket.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    async with sqs as braket:
        missing_url = f"{local_braket.s3_endpoint_url}/123456789012/no-such-{uuid.uuid4().hex}"
        with pytest.raises(errors.ServiceError) as by_name:
            await braket.sqs.queue_url(f"no-such-{uuid.uuid4().hex}")
        with pytest.raises(errors.ServiceError) as by_url:
            await braket.sqs.receive(missing_url, max_messages=1, wait_time_seconds=0)
    for caught in (by_name.value, by_url.value):
        assert caught.code in MISSING_QUEUE_CODES, caught.code
        assert is_missing_queue(caught)
    assert by_url.value.operation == "ReceiveMessage"
    assert by_url.value.message.startswith(missing_url)


async def test_the_query_protocol_code_is_a_missing_queue_too() -> None:
    async with wire_server() as wire, raw_client("sqs", wire.url, config=_ONE_ATTEMPT) as client:
        wire.reply = _QUERY_MISSING
        with pytest.raises(errors.ServiceError) as mapped:
            await SqsQueues.of(client).queue_url("gone")
        with pytest.raises(ClientError) as raw:
            await client.get_queue_url(QueueName="gone")
        wire.reply = Reply(
            403,
            json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException"}),
            {"Content-Type": "application/x-amz-json-1.0"},
        )
        with pytest.raises(errors.ServiceError) as denied:
            await SqsQueues.of(client).queue_url("secret")
    assert mapped.value.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert is_missing_queue(mapped.value) and is_missing_queue(raw.value)
    assert isinstance(denied.value, errors.AccessDeniedException)
    assert not is_missing_queue(denied.value)
    assert not is_missing_queue(errors.ConnectionFailed("no route"))
    assert not is_missing_queue(ValueError("QueueDoesNotExist"))


async def test_no_answer_is_connection_failed() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/123456789012/q"
    async with raw_client("sqs", f"http://127.0.0.1:{port}", config=_ONE_ATTEMPT) as client:
        with pytest.raises(errors.ConnectionFailed) as caught:
            await SqsQueues.of(client).receive(url, max_messages=1, wait_time_seconds=0)
    assert caught.value.operation == "ReceiveMessage"
    assert url in str(caught.value)


async def test_batches_of_more_than_ten_are_refused_before_the_network() -> None:
    async def no_client() -> Any:
        raise AssertionError("the network was reached")

    sqs = SqsQueues(no_client)
    for call in (sqs.delete_batch, sqs.release_batch):
        with pytest.raises(errors.ParameterError, match=r"entries.*1-10"):
            await call("https://sqs.example/1/q", [str(i) for i in range(11)])
        with pytest.raises(errors.ParameterError, match="entries"):
            await call("https://sqs.example/1/q", [])
    with pytest.raises(errors.ParameterError, match="entries"):
        await EventBridge(no_client).put_events([{}] * 11)


async def test_eventbridge_rule_target_and_events_reach_the_queue(
    local_braket: LocalBraket, sqs_client: Any, queue: str
) -> None:
    sqs = SqsQueues.of(sqs_client)
    name = f"accessors-{uuid.uuid4().hex[:10]}"
    async with raw_client("events", local_braket.s3_endpoint_url) as client:
        bridge = EventBridge.of(client)
        rule_arn = await bridge.put_rule(name, {"source": ["accessors.test"]}, "accessor test")
        try:
            assert rule_arn.endswith(f"rule/{name}")
            queue_arn = (await sqs.attributes(queue, ["QueueArn"]))["QueueArn"]
            await bridge.put_target(name, "t1", queue_arn)
            codes = await bridge.put_events(
                [
                    {"Source": "accessors.test", "DetailType": "t", "Detail": '{"n": 1}'},
                    {"Source": "accessors.other", "DetailType": "t", "Detail": '{"n": 2}'},
                ]
            )
            assert codes == [None, None]
            messages = await sqs.receive(queue, max_messages=10, wait_time_seconds=5)
            # only the event the rule matches reaches the queue
            assert [json.loads(m["Body"])["detail"] for m in messages] == [{"n": 1}]
        finally:
            await client.remove_targets(Rule=name, Ids=["t1"])
            await client.delete_rule(Name=name)


async def test_refused_entries_and_targets_are_reported() -> None:
    async with wire_server() as wire, raw_client("events", wire.url, config=_ONE_ATTEMPT) as client:
        bridge = EventBridge.of(client)
        wire.reply = Reply(
            200,
            json.dumps(
                {
                    "FailedEntryCount": 1,
                    "Entries": [{"EventId": "e1"}, {"ErrorCode": "InternalFailure"}],
                }
            ),
            {"Content-Type": "application/x-amz-json-1.1"},
        )
        codes = await bridge.put_events([{"Source": "a", "DetailType": "t", "Detail": "{}"}] * 2)
        wire.reply = Reply(
            200,
            json.dumps(
                {
                    "FailedEntryCount": 1,
                    "FailedEntries": [{"TargetId": "t1", "ErrorMessage": "bad target arn"}],
                }
            ),
            {"Content-Type": "application/x-amz-json-1.1"},
        )
        with pytest.raises(errors.ConfigurationError, match="PutTargets failed for rule r"):
            await bridge.put_target("r", "t1", "arn:aws:sqs:us-east-1:1:q")
    assert codes == [None, "InternalFailure"]
