"""ensure_event_queue against moto: the rule, the queue, its policy and the target; idempotent."""

from __future__ import annotations

import json
import uuid
from contextlib import AsyncExitStack

import pytest
from _event_queue import clients

from braket_async import errors
from braket_async.events import ensure_event_queue
from braket_async.events._setup import EVENT_PATTERN, queue_policy
from braket_async.local import LocalBraket


async def test_setup_creates_everything_and_running_it_again_changes_nothing(
    local_braket: LocalBraket,
) -> None:
    name = f"setup-{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        sqs_cm, events_cm = clients(local_braket.s3_endpoint_url)
        sqs = await stack.enter_async_context(sqs_cm)
        eventbridge = await stack.enter_async_context(events_cm)
        try:
            first = await ensure_event_queue(sqs, eventbridge, queue_name=name, rule_name=name)
            # Another tool's statement in the policy is kept.
            answer = await sqs.get_queue_attributes(
                QueueUrl=first.queue_url, AttributeNames=["Policy"]
            )
            policy = json.loads(answer["Attributes"]["Policy"])
            policy["Statement"].append({"Sid": "Other", "Effect": "Allow", "Principal": "*"})
            await sqs.set_queue_attributes(
                QueueUrl=first.queue_url, Attributes={"Policy": json.dumps(policy)}
            )
            second = await ensure_event_queue(sqs, eventbridge, queue_name=name, rule_name=name)

            assert first.created_queue and not second.created_queue
            assert (first.queue_url, first.queue_arn, first.rule_arn) == (
                second.queue_url,
                second.queue_arn,
                second.rule_arn,
            )
            rule = await eventbridge.describe_rule(Name=name)
            assert json.loads(rule["EventPattern"]) == EVENT_PATTERN
            assert rule["State"] == "ENABLED"
            targets = (await eventbridge.list_targets_by_rule(Rule=name))["Targets"]
            assert [t["Arn"] for t in targets] == [first.queue_arn]
            attributes = (
                await sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["Policy"])
            )["Attributes"]
            statements = json.loads(attributes["Policy"])["Statement"]
            ours = [s for s in statements if s["Sid"] != "Other"]
            assert len(statements) == 2 and len(ours) == 1
            assert ours[0]["Principal"] == {"Service": "events.amazonaws.com"}
            assert ours[0]["Action"] == "sqs:SendMessage"
            assert ours[0]["Resource"] == first.queue_arn
            assert ours[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": first.rule_arn}}
        finally:
            await eventbridge.remove_targets(Rule=name, Ids=["braket-async-sqs"])
            await eventbridge.delete_rule(Name=name)
            url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
            await sqs.delete_queue(QueueUrl=url)


async def test_bad_names_are_refused_before_the_network() -> None:
    with pytest.raises(errors.ParameterError, match="queue_name"):
        await ensure_event_queue(object(), object(), queue_name="events.fifo")
    with pytest.raises(errors.ParameterError, match="rule_name"):
        await ensure_event_queue(object(), object(), rule_name="a rule")


def test_a_broken_existing_policy_is_replaced_by_a_valid_one() -> None:
    text = queue_policy("{not json", queue_arn="arn:q", rule_arn="arn:r", rule_name="r")
    assert [s["Resource"] for s in json.loads(text)["Statement"]] == ["arn:q"]
