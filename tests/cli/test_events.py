"""``braket-async events setup|tail`` against the local service's moto (EventBridge + SQS)."""

from __future__ import annotations

import json
import uuid
from contextlib import AsyncExitStack

from _common import BELL, SV1, raw_client
from _event_queue import REGION, clients, event_queue

from braket_async.local import LocalBraket

from .conftest import CliRunner

JOB = "arn:aws:braket:us-east-1:123456789012:job/j"


def _aws(local: LocalBraket) -> list[str]:
    assert local.events_endpoint_url is not None
    return [
        "--sqs-endpoint-url",
        local.events_endpoint_url,
        "--events-endpoint-url",
        local.events_endpoint_url,
    ]


async def test_setup_is_idempotent(cli: CliRunner, local_braket: LocalBraket) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    first = await cli("events", "setup", "--queue", name, "--json", *_aws(local_braket))
    second = await cli("events", "setup", "--queue", name, "--json", *_aws(local_braket))
    async with AsyncExitStack() as stack:
        sqs_cm, events_cm = clients(local_braket.s3_endpoint_url)
        sqs = await stack.enter_async_context(sqs_cm)
        eventbridge = await stack.enter_async_context(events_cm)
        try:
            assert first.code == 0 and second.code == 0, first.err + second.err
            one, two = first.json(), second.json()
            assert one["created_queue"] is True and two["created_queue"] is False
            assert {k: v for k, v in one.items() if k != "created_queue"} == {
                k: v for k, v in two.items() if k != "created_queue"
            }
            assert one["rule_name"] == name
            targets = (await eventbridge.list_targets_by_rule(Rule=name))["Targets"]
            assert [t["Arn"] for t in targets] == [one["queue_arn"]]
            policy = json.loads(
                (
                    await sqs.get_queue_attributes(
                        QueueUrl=one["queue_url"], AttributeNames=["Policy"]
                    )
                )["Attributes"]["Policy"]
            )
            assert len(policy["Statement"]) == 1
            human = await cli("events", "setup", "--queue", name, *_aws(local_braket))
            assert human.code == 0 and one["queue_url"] in human.out
            assert "already there" in human.out
        finally:
            await eventbridge.remove_targets(Rule=name, Ids=["braket-async-sqs"])
            await eventbridge.delete_rule(Name=name)
            url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
            await sqs.delete_queue(QueueUrl=url)


async def test_tail_prints_a_task_lifecycle(
    cli: CliRunner, local_braket: LocalBraket
) -> None:
    async with event_queue(local_braket.s3_endpoint_url) as queue:
        async with AsyncExitStack() as stack:
            braket = await stack.enter_async_context(
                raw_client("braket", local_braket.endpoint_url, region=REGION)
            )
            action = json.dumps(
                {
                    "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                    "source": BELL,
                }
            )
            arn = (
                await braket.create_quantum_task(
                    deviceArn=SV1,
                    action=action,
                    shots=10,
                    outputS3Bucket=local_braket.default_bucket,
                    outputS3KeyPrefix="cli-tail",
                    clientToken=str(uuid.uuid4()),
                )
            )["quantumTaskArn"]
        run = await cli(
            "events", "tail", "--queue-url", queue.url, "--count", "4", "--timeout", "60",
            "--json", *_aws(local_braket),
        )
        assert run.code == 0, run.err
        lines = [json.loads(line) for line in run.out.splitlines()]
        assert [e["status"] for e in lines] == ["CREATED", "QUEUED", "RUNNING", "COMPLETED"]
        assert {e["arn"] for e in lines} == {arn} and {e["kind"] for e in lines} == {"task"}
        assert lines[-1]["ended_at"] is not None and lines[0]["shots"] == 10
        assert await queue.counts() == (0, 0)  # tail deleted what it printed

        await queue.send(
            {
                "id": "x",
                "detail-type": "Braket Job State Change",
                "source": "aws.braket",
                "time": "2026-01-01T00:00:00Z",
                "resources": [JOB],
                "detail": {"jobArn": JOB, "status": "RUNNING"},
            }
        )
        human = await cli(
            "events", "tail", "--queue-url", queue.url, "--count", "1", *_aws(local_braket)
        )
        assert human.code == 0, human.err
        assert "job" in human.out and "RUNNING" in human.out and "job/j" in human.out

        quiet = await cli(
            "events", "tail", "--queue-url", queue.url, "--count", "1", "--timeout", "0.5",
            *_aws(local_braket),
        )
        assert quiet.code == 4 and quiet.out == ""


async def test_tail_names_a_queue_that_does_not_exist(
    cli: CliRunner, local_braket: LocalBraket
) -> None:
    run = await cli("events", "tail", "--queue", "no-such-queue-xyz", *_aws(local_braket))
    assert run.code == 1
    assert "no-such-queue-xyz does not exist" in run.err


async def test_setup_on_a_local_service_started_for_the_command(
    cli: CliRunner, quick_local: None, local_braket: LocalBraket
) -> None:
    name = f"cli-local-{uuid.uuid4().hex[:8]}"
    run = await cli("events", "setup", "--local", "--queue", name, "--json", endpoint=False)
    assert run.code == 0, run.err
    setup = run.json()
    assert setup["queue_url"].startswith(local_braket.s3_endpoint_url)
    async with AsyncExitStack() as stack:
        sqs_cm, events_cm = clients(local_braket.s3_endpoint_url)
        sqs = await stack.enter_async_context(sqs_cm)
        eventbridge = await stack.enter_async_context(events_cm)
        await eventbridge.remove_targets(Rule=name, Ids=["braket-async-sqs"])
        await eventbridge.delete_rule(Name=name)
        await sqs.delete_queue(QueueUrl=setup["queue_url"])
