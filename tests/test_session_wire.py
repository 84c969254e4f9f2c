"""Responses no real service can be made to send, on the scripted real-socket server: a
proxy's HTML 502, JSON cut short, a 200 missing required members, an unknown enum value, the
wrong content type, a body that stalls. Each is a clear ``ResponseError`` (the unknown enum
value is not: the models' enums are open), and a create sent again by botocore's retries
always carries its first client token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from _common import SV1
from _wire import Reply, WireServer, session_on_wire
from botocore.config import Config

from braket_async import BraketSession, QuantumTaskStatus, errors
from braket_async.polling import PollPolicy

TASK_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/00000000-0000-0000-0000-000000000001"
ACTION = json.dumps({
    "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
    "source": "OPENQASM 3;\nqubit[1] q;\nbit[1] c;\nc = measure q;",
})
PROXY_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)
ATTEMPTS = 3


def task_json(status: str = "COMPLETED", **drop: object) -> str:
    task = {
        "quantumTaskArn": TASK_ARN, "status": status, "deviceArn": SV1,
        "deviceParameters": "{}", "shots": 10, "outputS3Bucket": "b",
        "outputS3Directory": "d/1", "createdAt": "2026-01-01T00:00:00Z",
    }
    return json.dumps({k: v for k, v in task.items() if k not in drop})


@pytest.fixture
async def braket(wire: WireServer) -> AsyncIterator[BraketSession]:
    """botocore's own retries on (3 attempts): what a user gets by default, only fewer."""
    config = Config(
        retries={"total_max_attempts": ATTEMPTS}, read_timeout=0.3, connect_timeout=1
    )
    async with session_on_wire(wire, config=config) as session:
        yield session


async def create(braket: BraketSession, client_token: str | None = None) -> str:
    return await braket.create_quantum_task(
        device_arn=SV1, action=ACTION, shots=10, output_s3_bucket="amazon-braket-wire",
        output_s3_key_prefix="p", client_token=client_token,
    )


def create_tokens(wire: WireServer) -> list[str]:
    """The clientToken of every CreateQuantumTask the server received."""
    return [json.loads(body)["clientToken"] for body in wire.bodies("/quantum-task")
            if body]


def assert_repeated_with_one_token(wire: WireServer, expected: str | None = None) -> None:
    tokens = create_tokens(wire)
    assert len(tokens) == ATTEMPTS, tokens  # botocore repeated the create...
    assert len(set(tokens)) == 1 and tokens[0]  # ...always with its first token
    if expected is not None:
        assert tokens[0] == expected


# -- a proxy's HTML 502 ---------------------------------------------------------------------------


async def test_html_502_from_a_proxy_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(502, PROXY_502, {"Content-Type": "text/html"})
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_device(SV1)
    message = str(info.value)
    assert "502" in message and "text/html" in message and "Bad Gateway" in message
    assert info.value.operation == "GetDevice"


async def test_html_502_on_create_is_retried_with_the_same_token(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(502, PROXY_502, {"Content-Type": "text/html"})
    with pytest.raises(errors.ResponseError):
        await create(braket)  # no token given: botocore makes one, and keeps it
    assert_repeated_with_one_token(wire)


# -- truncated JSON -------------------------------------------------------------------------------


async def test_json_cut_short_by_a_dropped_connection_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    body = task_json()
    wire.reply = Reply(200, body, cut_after=len(body) // 2)
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_quantum_task(TASK_ARN)
    assert info.value.operation == "GetQuantumTask"
    assert not isinstance(info.value, errors.RequestNotSent)


async def test_truncated_json_with_a_matching_length_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(200, task_json()[:60])
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_quantum_task(TASK_ARN)
    assert info.value.operation == "GetQuantumTask"
    assert len(wire.requests) == 1  # a parse error is not retried


async def test_create_cut_short_is_retried_with_the_same_token(
    wire: WireServer, braket: BraketSession
) -> None:
    body = json.dumps({"quantumTaskArn": TASK_ARN})
    wire.reply = Reply(201, body, cut_after=10)
    with pytest.raises(errors.ResponseError):
        await create(braket, client_token="tok-cut")
    assert_repeated_with_one_token(wire, "tok-cut")


# -- 200 with required members missing ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["status", "deviceArn", "createdAt", "quantumTaskArn"])
async def test_success_without_a_required_member_is_a_response_error(
    wire: WireServer, braket: BraketSession, missing: str
) -> None:
    wire.reply = Reply(200, task_json(**{missing: None}))
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_quantum_task(TASK_ARN)
    assert info.value.operation == "GetQuantumTask"
    assert len(wire.requests) == 1


async def test_create_answer_without_the_arn_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(201, "{}")
    with pytest.raises(errors.ResponseError, match="quantumTaskArn"):
        await create(braket, client_token="tok-empty")
    assert create_tokens(wire) == ["tok-empty"]  # an answer came: nothing is sent again


# -- an unknown enum value: open enums, by design -------------------------------------------------


async def test_unknown_status_becomes_a_pseudo_member_not_an_error(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(200, task_json("PAUSED_FOR_CALIBRATION"))
    task = await braket.get_quantum_task(TASK_ARN)
    assert isinstance(task.status, QuantumTaskStatus)
    assert task.status.value == "PAUSED_FOR_CALIBRATION"
    assert task.status not in set(QuantumTaskStatus.__members__.values())
    assert not task.is_terminal


async def test_a_waiter_polls_through_an_unknown_status(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.script = [Reply(200, task_json("PAUSED_FOR_CALIBRATION"))] * 2
    wire.reply = Reply(200, task_json("COMPLETED"))
    task = await braket.wait_for_quantum_task(
        TASK_ARN, poll=PollPolicy(initial=0.01, maximum=0.02)
    )
    assert task.status is QuantumTaskStatus.COMPLETED
    assert len(wire.requests) == 3


# -- the wrong content type -----------------------------------------------------------------------


async def test_a_captive_portal_page_with_200_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    page = "<html><body>Please sign in to the guest network</body></html>"
    wire.reply = Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
    with pytest.raises(errors.ResponseError, match="text/html"):
        await braket.get_quantum_task(TASK_ARN)


async def test_json_labelled_as_another_content_type_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(200, task_json(), {"Content-Type": "application/xml"})
    with pytest.raises(errors.ResponseError, match="application/xml"):
        await braket.get_quantum_task(TASK_ARN)


async def test_create_answered_with_the_wrong_content_type_is_not_sent_again(
    wire: WireServer, braket: BraketSession
) -> None:
    wire.reply = Reply(201, "<html>created?</html>", {"Content-Type": "text/html"})
    with pytest.raises(errors.ResponseError):
        await create(braket, client_token="tok-html")
    assert create_tokens(wire) == ["tok-html"]


# -- a body that stalls ---------------------------------------------------------------------------


async def test_a_body_that_stalls_is_a_response_error(
    wire: WireServer, braket: BraketSession
) -> None:
    body = task_json()
    wire.reply = Reply(200, body, cut_after=20, stall=2.0)
    with pytest.raises(errors.ResponseError) as info:
        await braket.get_quantum_task(TASK_ARN)
    assert not isinstance(info.value, errors.RequestNotSent)
    assert len(wire.requests) == ATTEMPTS  # a read may be repeated


async def test_a_create_that_stalls_is_retried_with_the_same_token(
    wire: WireServer, braket: BraketSession
) -> None:
    body = json.dumps({"quantumTaskArn": TASK_ARN})
    wire.reply = Reply(201, body, cut_after=5, stall=2.0)
    with pytest.raises(errors.ResponseError):
        await create(braket)
    assert_repeated_with_one_token(wire)
