"""braket-async: the asyncio-native client for Amazon Braket."""

from __future__ import annotations

__all__: list[str] = []
