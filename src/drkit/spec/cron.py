"""The longest gap between two runs of a cron schedule: what bounds a backup's recovery point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from croniter import croniter

# A fixed start keeps results reproducible; eight days covers daily and weekly patterns, and schedules
# sparser than that (monthly) are followed for up to 400 days.
_START = datetime(2025, 1, 1, tzinfo=UTC)
_MIN_HORIZON = timedelta(days=8)
_MAX_HORIZON = timedelta(days=400)
_MIN_RUNS = 3


def is_valid(expression: str) -> bool:
    return len(expression.split()) == 5 and croniter.is_valid(expression)


@lru_cache(maxsize=256)
def longest_gap_seconds(expression: str) -> float:
    """Seconds of the longest interval between consecutive runs. Raises ValueError on a bad schedule."""
    if not is_valid(expression):
        raise ValueError(f"not a five-field cron schedule: {expression!r}")
    runs = croniter(expression, _START)
    previous = runs.get_next(datetime)
    longest = timedelta(0)
    count = 1
    while True:
        current = runs.get_next(datetime)
        longest = max(longest, current - previous)
        previous = current
        count += 1
        elapsed = current - _START
        if (elapsed >= _MIN_HORIZON and count >= _MIN_RUNS) or elapsed >= _MAX_HORIZON:
            return longest.total_seconds()
