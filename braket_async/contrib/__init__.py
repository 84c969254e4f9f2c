"""Integrations with other frameworks; each is an optional extra (``braket_async.contrib.fastapi``
needs ``pip install 'braket-async[fastapi]'``)."""

from __future__ import annotations

__all__: list[str] = []
