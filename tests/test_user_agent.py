"""The session's clients (Braket, and S3, SQS, Logs, EventBridge created on first need) build
their User-Agent header once per feature set, and send exactly the header botocore builds."""

from __future__ import annotations

from typing import Any

from _common import SV1

from braket_async import BraketSession
from braket_async._user_agent import cache_user_agent


async def test_the_header_sent_is_botocores_and_is_built_once(braket: BraketSession) -> None:
    client = braket.client
    creator = client._user_agent_creator
    built = 0
    sent: list[str] = []

    def count_builds(original: Any) -> Any:
        def build() -> str:
            nonlocal built
            built += 1
            return str(original())

        return build

    # count the builds behind the session's cache: wrap botocore's builder, then re-cache
    creator.to_string = count_builds(type(creator).to_string.__get__(creator))
    assert cache_user_agent(client)

    def capture(request: Any, **_: Any) -> None:
        sent.append(request.headers["User-Agent"].decode() if isinstance(
            request.headers["User-Agent"], bytes) else request.headers["User-Agent"])

    client.meta.events.register("before-send.braket", capture)
    try:
        for _ in range(3):
            await braket.get_device(SV1)
    finally:
        client.meta.events.unregister("before-send.braket", capture)
    assert len(sent) == 3 and len(set(sent)) == 1
    assert sent[0] == type(creator).to_string(creator)  # botocore's own, uncached
    assert "braket-async/" in sent[0]
    assert built == 1


async def test_the_lazy_clients_cache_their_header_too(braket: BraketSession) -> None:
    s3 = await braket._s3()
    creator = s3._user_agent_creator
    assert "to_string" in vars(creator)  # the session cached it when it created the client
    built = 0
    sent: list[str] = []
    original = type(creator).to_string.__get__(creator)

    def build() -> str:
        nonlocal built
        built += 1
        return str(original())

    creator.to_string = build  # count the builds behind a fresh cache
    assert cache_user_agent(s3)

    def capture(request: Any, **_: Any) -> None:
        header = request.headers["User-Agent"]
        sent.append(header.decode() if isinstance(header, bytes) else header)

    s3.meta.events.register("before-send.s3", capture)
    try:
        for _ in range(3):
            await s3.list_buckets()
    finally:
        s3.meta.events.unregister("before-send.s3", capture)
    assert len(sent) == 3 and len(set(sent)) == 1
    assert sent[0] == original() and "braket-async/" in sent[0]
    assert built == 1


def test_an_unknown_client_shape_is_left_alone() -> None:
    class Other:
        pass

    assert cache_user_agent(Other()) is False
