"""How long a writer went without an acknowledgement while each member was being worked on."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from typing import Any


def longest_stall(ack_times: Sequence[float], start: float, end: float) -> float:
    """The longest stretch without an acknowledged write that overlaps [start, end], in seconds.

    `ack_times` must be sorted. A stretch that began before `start` or ended after `end` counts whole: a
    client blocked from before the member's turn until after it was blocked by that turn."""
    first = max(bisect.bisect_left(ack_times, start) - 1, 0)
    last = min(bisect.bisect_right(ack_times, end) + 1, len(ack_times))
    inside = list(ack_times[first:last])
    if len(inside) < 2:
        return end - start  # no acknowledgement on one side at all: the whole window was a stall
    return max(later - earlier for earlier, later in itertools.pairwise(inside))


def stalls_by_member(ack_times: Sequence[float], windows: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """Member -> the longest write stall during its window (same clock as `ack_times`)."""
    ordered = sorted(ack_times)
    return {member: round(longest_stall(ordered, start, end), 3) for member, (start, end) in windows.items()}


def member_windows(upgrade_report: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Member -> (began, finished) wall-clock times of its turn, from a rolling-upgrade report."""
    return {m["member"]: (float(m["began"]), float(m["finished"])) for m in upgrade_report["members"]}
