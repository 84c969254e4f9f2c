"""What a tracker's status sources cost: :class:`TrackerStats`."""

from __future__ import annotations

import attrs

__all__ = ["TrackerStats"]


@attrs.define
class TrackerStats:
    """Calls a tracker made, by kind (status calls and detail fetches are counted apart),
    and the events it applied."""

    get_calls: int = 0
    search_calls: int = 0
    window_sweeps: int = 0
    active_sweeps: int = 0  # window sweeps without a status filter (observe_active)
    arn_sweeps: int = 0
    locate_sweeps: int = 0  # searches finding tasks added without a creation time
    detail_calls: int = 0
    transient_errors: int = 0
    events_applied: int = 0  # state-change events that changed a tracked task
    events_ignored: int = 0  # duplicates, stale (out of order), or for untracked tasks

    @property
    def status_calls(self) -> int:
        """Calls made to learn statuses (gets + searches), detail fetches excluded."""
        return self.get_calls + self.search_calls
