"""When scheduled backups fire: a spec's cron schedule as systemd OnCalendar lines, and its next fire time.

Cloud members run backups from a systemd timer (persistent, no cron daemon needed, logged in the journal);
the lab's scheduler (drkit.sandbox.scheduler) fires from the same cron expression with croniter. Both read the
schedule in UTC, as `drkit validate` does when it estimates the data RPO from the schedule's longest gap.

Cron's day fields are ORed when both are restricted ("0 4 1 * mon" fires on the 1st and on Mondays); an
OnCalendar line ANDs them, so such a schedule becomes two lines (a timer fires on the union of its lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from croniter import croniter

from drkit.operate.inventory_contract import BackupScheduleVars
from drkit.spec import cron

_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


class ScheduleError(ValueError):
    """A schedule a systemd timer cannot express (or that is not a schedule at all)."""


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after `after` (UTC) at which the schedule fires."""
    _check(expression)
    moment: datetime = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    return moment


def on_calendar(expression: str) -> list[str]:
    """systemd OnCalendar values (UTC) firing exactly when the cron expression does."""
    _check(expression)
    fields = expression.split()
    if "#" in fields[4]:
        raise ScheduleError(
            f"backups.schedule {expression!r}: 'weekday#n' (the n-th weekday of a month) has no systemd timer"
            " equivalent; use a weekly or monthly schedule"
        )
    minutes, hours, days, months, weekdays = croniter(expression).expanded
    time = f"{_values(hours)}:{_values(minutes)}:00"
    month = _values(months)
    if days == ["l"]:
        if weekdays != ["*"]:
            raise ScheduleError(f"backups.schedule {expression!r}: 'L' with a weekday has no systemd timer equivalent")
        return [f"*-{month}~01 {time} UTC"]
    if "l" in days:
        raise ScheduleError(f"backups.schedule {expression!r}: 'L' in a list has no systemd timer equivalent")
    day = _values(days, width=2)
    if weekdays == ["*"]:
        return [f"*-{month}-{day} {time} UTC"]
    names = ",".join(_WEEKDAYS[int(value) % 7] for value in weekdays)
    if days == ["*"]:
        return [f"{names} *-{month}-* {time} UTC"]
    # Both day fields restricted: cron fires when either matches.
    return [f"*-{month}-{day} {time} UTC", f"{names} *-{month}-* {time} UTC"]


def _values(values: Sequence[object], width: int = 2) -> str:
    if list(values) == ["*"]:
        return "*"
    return ",".join(f"{int(str(value)):0{width}d}" for value in values)


def _check(expression: str) -> None:
    reason = cron.problem(expression)
    if reason:
        raise ScheduleError(f"backups.schedule {expression!r} is not a cron schedule that fires: {reason}")


def backup_schedule_vars(expression: str) -> BackupScheduleVars:
    """What every inventory (the lab's, the cloud's) tells the playbooks about the schedule. An expression a
    timer cannot express gets no calendar: installing the schedule then fails with the reason."""
    try:
        calendar, problem = on_calendar(expression), ""
    except ScheduleError as error:
        calendar, problem = [], str(error)
    return BackupScheduleVars(
        drkit_backup_schedule=expression,
        drkit_backup_on_calendar=calendar,
        drkit_backup_schedule_problem=problem,
    )
