"""The backup interval is the longest gap between two runs of the schedule."""

from __future__ import annotations

import pytest

from drkit.spec.cron import is_valid, longest_gap_seconds

HOUR = 3600


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [
        ("*/15 * * * *", 0.25),
        ("* * * * *", 1 / 60),
        ("0 * * * *", 1),
        ("0 */6 * * *", 6),
        ("0 2 * * *", 24),
        ("0 9,17 * * *", 16),  # 17:00 to 09:00 the next day
        ("0 2 * * 1-5", 72),  # Friday 02:00 to Monday 02:00
        ("*/15 9-17 * * 1-5", 63.25),  # Friday 17:45 to Monday 09:00
        ("30 1 * * sun", 168),
        ("0 0 1 * *", 31 * 24),  # the longest month
        ("0 0 29 2 *", 4 * 365.25 * 24),  # leap days only
    ],
)
def test_longest_gap(schedule: str, hours: float) -> None:
    assert longest_gap_seconds(schedule) == pytest.approx(hours * HOUR)


@pytest.mark.parametrize("schedule", ["every 15 minutes", "*/15 * * *", "61 * * * *", "0 0 * * * *", ""])
def test_invalid_schedules(schedule: str) -> None:
    assert not is_valid(schedule)
    with pytest.raises(ValueError, match="cron"):
        longest_gap_seconds(schedule)
