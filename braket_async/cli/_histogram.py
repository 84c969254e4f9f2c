"""Measurement-count histograms as rows of text bars (rendered by rich or plain text)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

__all__ = ["HistogramRow", "histogram_rows", "merge_counts"]

_BLOCKS = " ▏▎▍▌▋▊▉█"


@attrs.frozen
class HistogramRow:
    """One outcome of a histogram: its bitstring, count, share of all shots and a text bar."""

    outcome: str
    count: int
    fraction: float
    bar: str


def merge_counts(many: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Sum measurement counts of many results (bitstring -> shots)."""
    total: dict[str, int] = {}
    for counts in many:
        for outcome, count in counts.items():
            total[outcome] = total.get(outcome, 0) + count
    return total


def histogram_rows(
    counts: Mapping[str, int], *, top: int | None = 16, width: int = 40
) -> tuple[list[HistogramRow], int]:
    """The ``top`` most frequent outcomes as bars ``width`` characters long at most.

    Returns the rows (most frequent first, ties by bitstring) and how many outcomes were left
    out. Bars are scaled to the most frequent outcome, with eighth-block resolution.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    shots = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ordered if top is None else ordered[:top]
    peak = shown[0][1] if shown else 0
    rows = [
        HistogramRow(
            outcome=outcome,
            count=count,
            fraction=count / shots if shots else 0.0,
            bar=_bar(count / peak if peak else 0.0, width),
        )
        for outcome, count in shown
    ]
    return rows, len(ordered) - len(shown)


def _bar(ratio: float, width: int) -> str:
    eighths = round(ratio * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[rest] if rest else "")
