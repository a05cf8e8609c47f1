"""A spec's cron schedule as systemd timers: the timer must fire exactly when cron would, checked against
systemd's own calendar parser (systemd-analyze calendar), not against a second copy of our reading."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from drkit.operate.schedule import ScheduleError, next_fire, on_calendar

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

SCHEDULES = [
    "*/15 * * * *",
    "*/30 * * * *",
    "0 4 * * *",
    "5 */6 * * *",
    "0 3 * * mon-fri",
    "30 2 * * 7",  # 7 is Sunday too
    "0 4 1,15 * *",
    "0 4 1 * mon",  # both day fields: cron fires on the 1st OR on Mondays
    "0 0 1 jan,jul *",
    "0 3 L * *",  # the last day of each month
    "0-10/5 8-18 * * *",
]
BASES = [datetime(2025, 1, 30, 23, 59, tzinfo=UTC), datetime(2028, 2, 27, 12, 0, tzinfo=UTC)]


def systemd_fires(values: list[str], base: datetime, count: int) -> list[datetime]:
    """The next `count` elapses of a timer with these OnCalendar lines, per systemd (the union of lines)."""
    fires: set[datetime] = set()
    for value in values:
        result = subprocess.run(
            [
                SYSTEMD_ANALYZE or "systemd-analyze",
                "calendar",
                f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
                f"--iterations={count}",
                value,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        )
        for stamp in re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\S+ \S+) UTC", result.stdout):
            fires.add(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))
    return sorted(fires)[:count]


def cron_fires(expression: str, base: datetime, count: int) -> list[datetime]:
    fires = []
    moment = base
    for _ in range(count):
        moment = next_fire(expression, moment)
        fires.append(moment)
    return fires


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed on this machine")
@pytest.mark.parametrize("expression", SCHEDULES)
def test_the_timer_fires_exactly_when_cron_would(expression: str) -> None:
    values = on_calendar(expression)
    for base in BASES:
        assert systemd_fires(values, base, 25) == cron_fires(expression, base, 25), (expression, values)


def test_either_day_field_fires_a_schedule_restricting_both() -> None:
    assert on_calendar("0 4 1 * mon") == ["*-*-01 04:00:00 UTC", "Mon *-*-* 04:00:00 UTC"]


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("0 0 * * sun#2", "n-th weekday"),
        ("0 0 L * mon", "'L' with a weekday"),
        ("61 * * * *", "not a cron schedule that fires"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_a_schedule_a_timer_cannot_express_is_refused_by_name(expression: str, complaint: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(complaint)) as raised:
        on_calendar(expression)
    assert expression in str(raised.value)
