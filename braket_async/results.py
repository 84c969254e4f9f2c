"""Placeholder: filled in by its issue before it lands."""

from __future__ import annotations

from ._base import SessionCore

__all__ = ["ResultsMixin"]


class ResultsMixin(SessionCore):
    """Feature mixin of BraketSession (see docs/ARCHITECTURE.md)."""
