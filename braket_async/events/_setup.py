"""Create (or bring up to date) the EventBridge rule and SQS queue that carry Braket's events.

:func:`ensure_event_queue` is what ``braket-async events setup`` runs. Every step is
idempotent, so running it again changes nothing (or repairs what was changed by hand):

1. ``PutRule``: a rule on the default bus matching ``source`` ``aws.braket`` and both
   detail-types (PutRule on an existing name updates it);
2. ``CreateQueue`` (returns the existing queue's URL when it already exists with the same
   attributes; none are passed, so it does);
3. ``SetQueueAttributes`` ``Policy``: the queue policy lets ``events.amazonaws.com``
   ``sqs:SendMessage`` to the queue only for this rule (``aws:SourceArn``); statements of
   other rules or tools already in the policy are kept, ours (by ``Sid``) is replaced;
4. ``PutTargets``: the queue as the rule's target (a fixed target ``Id``, so repeated runs
   replace it rather than adding one).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from .. import errors
from .._aws_accessors import EventBridge, SqsQueues
from .._aws_errors import is_missing_queue

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_RULE_NAME",
    "EVENT_PATTERN",
    "EventQueueSetup",
    "ensure_event_queue",
    "queue_policy",
]

DEFAULT_QUEUE_NAME = "braket-async-events"
DEFAULT_RULE_NAME = "braket-async-events"
#: The rule's pattern: every Braket task and job state change.
EVENT_PATTERN: dict[str, Any] = {
    "source": ["aws.braket"],
    "detail-type": ["Braket Task State Change", "Braket Job State Change"],
}
_TARGET_ID = "braket-async-sqs"
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_RULE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@attrs.frozen
class EventQueueSetup:
    """What :func:`ensure_event_queue` set up."""

    queue_url: str
    queue_arn: str
    rule_arn: str
    rule_name: str
    created_queue: bool

    def to_json(self) -> dict[str, Any]:
        """The JSON form (snake_case keys)."""
        return attrs.asdict(self)


def _sid(rule_name: str) -> str:
    # Sids are alphanumeric in IAM's grammar; SQS accepts more, but keep to the strict form.
    return "BraketAsyncEvents" + "".join(c for c in rule_name.title() if c.isalnum())


def queue_policy(existing: str | None, *, queue_arn: str, rule_arn: str, rule_name: str) -> str:
    """The queue's policy document with our statement added or replaced, others kept."""
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if existing:
        try:
            parsed = json.loads(existing)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("Statement"), list):
            document = parsed
    sid = _sid(rule_name)
    statements = [
        s for s in document["Statement"] if not (isinstance(s, dict) and s.get("Sid") == sid)
    ]
    statements.append(
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }
    )
    document["Statement"] = statements
    return json.dumps(document, separators=(",", ":"))


def _parsed(policy: str | None) -> Any:
    try:
        return json.loads(policy) if policy else None
    except ValueError:
        return None


async def ensure_event_queue(
    sqs: SqsQueues | Any,
    eventbridge: EventBridge | Any,
    *,
    queue_name: str = DEFAULT_QUEUE_NAME,
    rule_name: str = DEFAULT_RULE_NAME,
) -> EventQueueSetup:
    """Create or update the rule, the queue, its policy and the target (see the module).

    ``sqs`` and ``eventbridge`` are a session's accessors (``braket.sqs``,
    ``braket.eventbridge``) or entered aiobotocore clients, of one account and region.

    Args:
        sqs: The SQS accessor, or an entered aiobotocore SQS client.
        eventbridge: The EventBridge accessor, or an entered aiobotocore EventBridge client.
        queue_name: The SQS queue's name.
        rule_name: The EventBridge rule's name.

    Returns:
        What was set up: the queue's URL and ARN, the rule, whether the queue is new.

    Raises:
        ParameterError: ``queue_name`` or ``rule_name`` is not a valid name.
        ConfigurationError: EventBridge refused the queue as the rule's target.
        ServiceError: SQS or EventBridge refused a call (its code, as
            :mod:`braket_async.errors`).
    """
    if not _QUEUE_NAME.fullmatch(queue_name):
        raise errors.ParameterError(
            "queue_name",
            "must be 1-80 letters, digits, hyphens or underscores (a standard queue: "
            f"EventBridge cannot target a FIFO queue without a message group), got {queue_name!r}",
        )
    if not _RULE_NAME.fullmatch(rule_name):
        raise errors.ParameterError(
            "rule_name",
            f"must be 1-64 letters, digits, dots, hyphens or underscores, got {rule_name!r}",
        )
    queues = sqs if isinstance(sqs, SqsQueues) else SqsQueues.of(sqs)
    rules = eventbridge if isinstance(eventbridge, EventBridge) else EventBridge.of(eventbridge)
    rule_arn = await rules.put_rule(
        rule_name,
        EVENT_PATTERN,
        "Braket task and job state changes for braket-async (events setup)",
    )
    created = False
    try:
        queue_url = await queues.queue_url(queue_name)
    except errors.ServiceError as exc:
        if not is_missing_queue(exc):
            raise
        queue_url = await queues.create_queue(queue_name)
        created = True
    attributes = await queues.attributes(queue_url, ["QueueArn", "Policy"])
    queue_arn = attributes["QueueArn"]
    policy = queue_policy(
        attributes.get("Policy"), queue_arn=queue_arn, rule_arn=rule_arn, rule_name=rule_name
    )
    if _parsed(policy) != _parsed(attributes.get("Policy")):
        await queues.set_attributes(queue_url, {"Policy": policy})
    await rules.put_target(rule_name, _TARGET_ID, queue_arn)
    return EventQueueSetup(
        queue_url=queue_url,
        queue_arn=queue_arn,
        rule_arn=rule_arn,
        rule_name=rule_name,
        created_queue=created,
    )
