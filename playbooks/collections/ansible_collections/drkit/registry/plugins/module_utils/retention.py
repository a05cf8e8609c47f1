"""Which snapshots a retention policy keeps: hourly, daily and weekly buckets, like etcd-backup-restore's
exponential policy, counted back from `now`.

- hourly N: the first snapshot of each of the last N clock hours (the current hour included);
- daily N: the first of each of the last N UTC days (today included);
- weekly N: the first of each of the last N ISO weeks (Monday to Sunday, this week included);
- always: the newest complete snapshot, whatever its age, so a target never ends up empty because
  backups stopped for longer than the policy reaches;
- a snapshot dated after `now` (clock skew) is kept: drkit does not delete what it cannot place.

The FIRST of each period, not the newest: an S3 target must decide a snapshot's class and Object Lock when
it uploads it, before later ones exist (s3_store.choose_class), and only the first of a period is known to
be the one kept then. Keeping the same ones on every target means an rsync copy and an S3 copy of the
stack hold the same history, and S3 retention never wants to delete a version its lock still protects.

Everything else is to be deleted, and only drkit's own snapshots are ever considered (see snapshots.py).
Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ansible_collections.drkit.registry.plugins.module_utils.snapshots import Snapshot, parse_time

# The options every retention module takes (rsync's and S3's): the policy and the moment it is judged at.
RETENTION_ARGUMENTS: dict[str, dict[str, Any]] = {
    "stack": {"type": "str", "required": True},
    "hourly": {"type": "int", "default": 24},
    "daily": {"type": "int", "default": 7},
    "weekly": {"type": "int", "default": 4},
    "now": {"type": "str"},
}


def retention_now(text: str | None) -> datetime:
    """The `now` option: a UTC time like 2026-11-22T03:00:00Z, or the current time when not given.
    Raises ValueError with the message a module fails with."""
    if not text:
        return datetime.now(timezone.utc)
    try:
        return parse_time(text)
    except ValueError:
        raise ValueError(f"now: {text!r} is not a UTC time like 2026-11-22T03:00:00Z") from None


@dataclass(frozen=True)
class RetentionPlan:
    keep: dict[str, str]  # snapshot ID -> why it is kept
    delete: list[str]  # snapshot IDs, oldest first


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:00Z")


def _day(moment: datetime) -> date:
    return moment.date()


def _week(moment: datetime) -> date:
    """The Monday of the moment's ISO week."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def _buckets(now: datetime, count: int, bucket: Callable[[datetime], object], step: timedelta) -> list[object]:
    return [bucket(now - step * index) for index in range(count)]


def plan_retention(snapshots: list[Snapshot], now: datetime, hourly: int, daily: int, weekly: int) -> RetentionPlan:
    newest_first = sorted(snapshots, key=lambda snapshot: (snapshot.created, snapshot.id), reverse=True)
    keep: dict[str, str] = {}
    complete = [snapshot for snapshot in newest_first if snapshot.complete]
    # The newest placed in time: a future-dated one (clock skew) is kept below, but must not displace it.
    newest = next((snapshot for snapshot in complete if snapshot.created <= now), complete[0] if complete else None)
    if newest is not None:
        keep[newest.id] = "newest complete snapshot"
    for snapshot in newest_first:
        if snapshot.created > now:
            keep.setdefault(snapshot.id, "dated in the future (clock skew): not placed")
    policies: list[tuple[str, int, Callable[[datetime], object], timedelta]] = [
        ("hourly", hourly, _hour, timedelta(hours=1)),
        ("daily", daily, _day, timedelta(days=1)),
        ("weekly", weekly, _week, timedelta(weeks=1)),
    ]
    for name, count, bucket, step in policies:
        wanted = set(_buckets(now, count, bucket, step))
        seen: set[object] = set()
        for snapshot in reversed(newest_first):  # oldest first: each period's first snapshot
            if not snapshot.complete or snapshot.created > now:
                continue
            key = bucket(snapshot.created)
            if key in wanted and key not in seen:
                seen.add(key)
                keep.setdefault(snapshot.id, f"{name} {key}")
    delete = [snapshot.id for snapshot in reversed(newest_first) if snapshot.id not in keep]
    return RetentionPlan(keep, delete)
