"""``BraketSession(session=AioSession)`` and ``credentials_provider=``: the two ways an
aiobotocore user brings their own credentials. The provider assumes a role through STS on the
local service's embedded moto server, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _common import SV1
from aiobotocore.session import AioSession
from moto.moto_api._internal import mock_random

from braket_async import (
    BraketSession,
    ConfigurationError,
    ParameterError,
    RateLimits,
    ServiceError,
)
from braket_async.local import LocalBraket

ROLE = "arn:aws:iam::123456789012:role/braket-async-test"
Factory = Callable[..., Awaitable[LocalBraket]]


@pytest.fixture
def no_machine_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Nothing from the machine's AWS configuration, so only the hook can supply keys."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


class AssumeRole:
    """A credentials provider as a user writes one: STS AssumeRole with source credentials.

    moto's random generator is seeded before each call, so every call returns the same
    temporary key pair: a local Braket service can then be started that accepts only it.
    """

    def __init__(self, sts: Any, duration: int) -> None:
        self.sts = sts
        self.duration = duration
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        mock_random.seed(2024)
        response = await self.sts.assume_role(
            RoleArn=ROLE, RoleSessionName="braket-async", DurationSeconds=self.duration
        )
        self.calls += 1
        creds = response["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"],
        }


@pytest.mark.parametrize(("duration", "refreshes"), [(3600, False), (900, True)])
async def test_credentials_provider_assumes_a_role_through_sts(
    braket_local: LocalBraket,
    braket_local_factory: Factory,
    no_machine_credentials: None,
    duration: int,
    refreshes: bool,
) -> None:
    key, secret = braket_local.credentials
    async with AioSession().create_client(
        "sts", region_name="us-east-1", endpoint_url=braket_local.s3_endpoint_url,
        aws_access_key_id=key, aws_secret_access_key=secret,
    ) as sts:
        provider = AssumeRole(sts, duration)
        assumed = await provider()
        assert assumed["access_key"].startswith("ASIA") and isinstance(
            assumed["expiry_time"], datetime
        )
        # A Braket service that accepts only the role's temporary key pair.
        service = await braket_local_factory(
            credentials=(assumed["access_key"], assumed["secret_key"])
        )
        provider.calls = 0
        async with BraketSession(
            endpoint_url=service.endpoint_url, region_name="us-east-1",
            credentials_provider=provider, rate_limits=RateLimits.off(),
        ) as braket:
            assert provider.calls == 0  # fetched on the first call, not at open
            assert (await braket.get_device(SV1)).device_arn == SV1
            await braket.search_devices()
        # botocore refreshes credentials with less than 15 minutes left before each call
        assert provider.calls == (2 if refreshes else 1)

        # the service really refuses other keys
        async with BraketSession(
            endpoint_url=service.endpoint_url, region_name="us-east-1",
            aws_access_key_id=key, aws_secret_access_key=secret,
            rate_limits=RateLimits.off(),
        ) as braket:
            with pytest.raises(ServiceError) as refused:
                await braket.get_device(SV1)
        assert refused.value.status_code == 403


async def test_a_provider_answer_without_keys_is_a_configuration_error(
    braket_local: LocalBraket, no_machine_credentials: None
) -> None:
    async def broken() -> dict[str, Any]:
        return {"access_key": "AKID"}

    async with BraketSession(
        endpoint_url=braket_local.endpoint_url, region_name="us-east-1",
        credentials_provider=broken,
    ) as braket:
        with pytest.raises(ConfigurationError, match="'secret_key'"):
            await braket.get_device(SV1)


async def test_an_aiobotocore_session_is_used_as_given(
    braket_local: LocalBraket, no_machine_credentials: None
) -> None:
    key, secret = braket_local.credentials
    session = AioSession()
    session.set_credentials(key, secret)
    session.set_config_variable("region", "us-west-2")
    async with BraketSession(session=session, endpoint_url=braket_local.endpoint_url) as braket:
        assert braket.region_name == "us-west-2"  # the session's own configuration
        device = await braket.get_device(SV1)
        assert device.device_arn == SV1
        assert device.device_capabilities  # the caller's parser works as well as ours
        assert braket.client.meta.region_name == "us-west-2"

    wrong = AioSession()
    wrong.set_credentials("AKIDWRONG", "not-the-secret")
    async with BraketSession(
        session=wrong, endpoint_url=braket_local.endpoint_url, region_name="us-east-1"
    ) as braket:
        with pytest.raises(ServiceError) as refused:
            await braket.get_device(SV1)
    assert refused.value.status_code == 403


async def _provider() -> dict[str, Any]:
    return {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"session": "default"}, "session"),
        ({"session": AioSession(), "profile_name": "dev"}, "profile_name"),
        ({"session": AioSession(), "credentials_provider": _provider}, "credentials_provider"),
        ({"credentials_provider": _provider, "aws_access_key_id": "A",
          "aws_secret_access_key": "B"}, "credentials_provider"),
        ({"credentials_provider": "not callable"}, "credentials_provider"),
    ],
)
def test_conflicting_credential_sources_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ParameterError) as caught:
        BraketSession(region_name="us-east-1", **kwargs)
    assert caught.value.field == field
