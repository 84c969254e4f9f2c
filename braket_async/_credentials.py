"""The session's credentials-provider hook: an async function that returns temporary
credentials, refreshed by aiobotocore before they expire.

This is aiobotocore's own refresh contract (``AioRefreshableCredentials(refresh_using=...)``):
the function returns ``{"access_key", "secret_key", "token", "expiry_time"}`` and is called
again when less than 15 minutes of validity remain (or at once when less than 10 remain), so
an STS ``AssumeRole``, a vault lookup or a web-identity exchange plugs in as is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

from aiobotocore.credentials import AioDeferredRefreshableCredentials
from botocore.credentials import CredentialProvider

from . import errors

__all__ = ["CredentialsProvider", "install_credentials_provider"]

CredentialsProvider: TypeAlias = Callable[[], Awaitable[Mapping[str, Any]]]
"""An async function returning credential metadata: ``access_key``, ``secret_key``, optional
``token`` and ``expiry_time`` (a datetime or an ISO 8601 string; without one the credentials
are fetched again after :data:`NO_EXPIRY_REFRESH`)."""

NO_EXPIRY_REFRESH: Final = timedelta(hours=1)
"""Validity assumed for credentials returned without ``expiry_time``."""
_METHOD: Final = "braket-async-credentials-provider"


class _ProviderHook(CredentialProvider):  # type: ignore[misc]
    """First in the session's credential chain: credentials from the caller's function."""

    METHOD = _METHOD
    CANONICAL_NAME = "custom-braket-async"

    def __init__(self, provider: CredentialsProvider) -> None:
        super().__init__()
        self._provider = provider

    async def load(self) -> AioDeferredRefreshableCredentials:
        return AioDeferredRefreshableCredentials(refresh_using=self._fetch, method=_METHOD)

    async def _fetch(self) -> dict[str, Any]:
        metadata = await self._provider()
        return _metadata(metadata)


def _metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise errors.ConfigurationError(
            f"credentials_provider must return a mapping, got {type(metadata).__name__}"
        )
    for key in ("access_key", "secret_key"):
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise errors.ConfigurationError(
                f"credentials_provider returned no {key!r} (expected keys: access_key, "
                "secret_key, token, expiry_time)"
            )
    expiry = metadata.get("expiry_time")
    if expiry is None:
        expiry = datetime.now(UTC) + NO_EXPIRY_REFRESH
    if isinstance(expiry, datetime):
        expiry = (expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)).isoformat()
    return {
        "access_key": metadata["access_key"],
        "secret_key": metadata["secret_key"],
        "token": metadata.get("token"),
        "expiry_time": expiry,
    }


def install_credentials_provider(session: Any, provider: CredentialsProvider) -> None:
    """Put ``provider`` first in ``session``'s credential chain (reads the AWS config files:
    call it off the event loop).

    Args:
        session: The aiobotocore ``AioSession`` the session creates.
        provider: The caller's async credentials function.
    """
    resolver = session.get_component("credential_provider")
    resolver.providers.insert(0, _ProviderHook(provider))
