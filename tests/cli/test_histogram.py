"""Histogram rows for measurement counts."""

from __future__ import annotations

import pytest

from braket_async.cli._histogram import histogram_rows, merge_counts


def test_rows_are_most_frequent_first_with_shares_and_scaled_bars() -> None:
    rows, hidden = histogram_rows({"000": 30, "111": 60, "010": 10}, width=10)
    assert [r.outcome for r in rows] == ["111", "000", "010"]
    assert [r.count for r in rows] == [60, 30, 10]
    assert [round(r.fraction, 2) for r in rows] == [0.6, 0.3, 0.1]
    assert rows[0].bar == "█" * 10  # the peak fills the width
    assert rows[1].bar == "█" * 5  # half the peak, half the width
    assert rows[2].bar.startswith("█") and len(rows[2].bar) == 2  # 1 2/3 blocks: eighths
    assert hidden == 0


def test_top_hides_the_rest_and_says_how_many() -> None:
    counts = {format(i, "04b"): 16 - i for i in range(16)}
    rows, hidden = histogram_rows(counts, top=3)
    assert [r.outcome for r in rows] == ["0000", "0001", "0010"]
    assert hidden == 13


def test_ties_are_ordered_by_outcome_and_empty_counts_are_fine() -> None:
    rows, _ = histogram_rows({"11": 5, "00": 5})
    assert [r.outcome for r in rows] == ["00", "11"]
    assert histogram_rows({}) == ([], 0)
    with pytest.raises(ValueError, match="width must be >= 1"):
        histogram_rows({"0": 1}, width=0)


def test_merge_counts_sums_outcomes() -> None:
    assert merge_counts([{"00": 1, "11": 2}, {"11": 3, "01": 1}]) == {"00": 1, "11": 5, "01": 1}
