"""The longest gap between two runs of a cron schedule: what bounds a backup's recovery point.

croniter parses the schedule and enumerates the days it fires on; the gaps within a day come straight from
the minute and hour fields, so an every-minute schedule costs no more than a daily one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise

from croniter import CroniterBadDateError, CroniterError, croniter

# A fixed start keeps results reproducible. Weekday-only schedules repeat weekly (8 days show every gap);
# day-of-month and month schedules are followed for 400 days, and a leap-day schedule for up to 9 years.
_START = datetime(2025, 1, 1, tzinfo=UTC)
_WEEKLY_HORIZON = timedelta(days=8)
_YEARLY_HORIZON = timedelta(days=400)
_LAST_RESORT = timedelta(days=9 * 366)
_MINUTES_PER_DAY = 1440


@lru_cache(maxsize=256)
def is_valid(expression: str) -> bool:
    return not problem(expression)


@lru_cache(maxsize=256)
def problem(expression: str) -> str:
    """Why a schedule cannot drive backups ('' when it can): not five fields, not cron, or it never fires
    (February 31): what croniter would raise on while estimating is found here, before any rule runs."""
    fields = expression.split()
    if len(fields) != 5:
        return f"it has {len(fields)} field{'s' if len(fields) != 1 else ''}, not five"
    try:
        if not croniter.is_valid(expression):
            return "croniter cannot read it"
        croniter(expression, _START).get_next(datetime)
        _longest_gap(expression)
    except CroniterBadDateError:
        return "it never fires (no such date in any year, like February 31)"
    except (CroniterError, ValueError, KeyError, TypeError, OverflowError) as error:
        return f"croniter cannot read it ({error})"
    return ""


@lru_cache(maxsize=256)
def longest_gap_seconds(expression: str) -> float:
    """Seconds of the longest interval between consecutive runs. Raises ValueError on a bad schedule."""
    reason = problem(expression)
    if reason:
        raise ValueError(f"not a five-field cron schedule that fires: {expression!r}: {reason}")
    return _longest_gap(expression)


def _longest_gap(expression: str) -> float:
    minutes, hours, days_of_month, months, days_of_week = croniter(expression).expanded
    minute_values = range(60) if minutes == ["*"] else [int(m) for m in minutes]
    hour_values = range(24) if hours == ["*"] else [int(h) for h in hours]
    offsets = sorted(hour * 60 + minute for hour in hour_values for minute in minute_values)
    within_day = max((later - earlier for earlier, later in pairwise(offsets)), default=0)
    overnight = offsets[0] - offsets[-1]  # plus the whole days between two firing days
    if days_of_month == ["*"] and months == ["*"] and days_of_week == ["*"]:
        return float(max(within_day, _MINUTES_PER_DAY + overnight) * 60)
    days_between = _longest_day_gap(" ".join(["0", "0", *expression.split()[2:]]), days_of_month, months)
    return float(max(within_day, days_between * _MINUTES_PER_DAY + overnight) * 60)


def _longest_day_gap(day_expression: str, days_of_month: Sequence[object], months: Sequence[object]) -> int:
    """Most days between two consecutive firing days of a day-only schedule ("0 0 dom month dow")."""
    horizon = _WEEKLY_HORIZON if days_of_month == ["*"] and months == ["*"] else _YEARLY_HORIZON
    runs = croniter(day_expression, _START)
    previous = runs.get_next(datetime)
    longest = 0
    fired = 1
    while True:
        current = runs.get_next(datetime)
        longest = max(longest, (current - previous).days)
        previous = current
        fired += 1
        elapsed = current - _START
        if (elapsed >= horizon and fired >= 3) or elapsed >= _LAST_RESORT:
            return int(longest)
