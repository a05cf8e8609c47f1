"""Retention: exactly the snapshots the policy keeps, with synthetic timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ansible_collections.drkit.registry.plugins.module_utils.retention import plan_retention, retention_now
from ansible_collections.drkit.registry.plugins.module_utils.snapshots import FORMAT, Snapshot, format_time

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)  # a Sunday


def snapshot(moment: datetime, *, complete: bool = True) -> Snapshot:
    snapshot_id = f"local-lab-east-{moment:%Y%m%dT%H%M%SZ}"
    manifest = {
        "format": FORMAT,
        "written_by": "drkit",
        "id": snapshot_id,
        "started_at": format_time(moment),
        "size": 100,
    }
    return Snapshot(snapshot_id, manifest, 100 if complete else 40)


def every_15_minutes(hours: int) -> list[Snapshot]:
    return [snapshot(NOW - timedelta(minutes=15 * index)) for index in range(hours * 4)]


def test_hourly_keeps_the_first_of_each_of_the_last_n_hours() -> None:
    snapshots = every_15_minutes(6)
    plan = plan_retention(snapshots, NOW, hourly=3, daily=0, weekly=0)
    kept = sorted(plan.keep)
    # 12:30 (the newest), 12:00 (first of hour 12), 11:00 (hour 11), 10:00 (hour 10): nothing older.
    firsts = {NOW, NOW - timedelta(minutes=30), NOW - timedelta(minutes=90), NOW - timedelta(minutes=150)}
    assert kept == sorted(s.id for s in snapshots if s.created in firsts)
    assert len(plan.delete) == len(snapshots) - 4
    assert plan.keep[snapshots[0].id] == "newest complete snapshot"


def test_daily_and_weekly_reach_back_further_than_hourly() -> None:
    days = [snapshot(NOW - timedelta(days=index, hours=1)) for index in range(40)]
    plan = plan_retention(days, NOW, hourly=0, daily=7, weekly=4)
    kept_days = {s.created.date() for s in days if s.id in plan.keep}
    # Daily: today and the 6 days before. Weekly: the first of this ISO week and of the 3 before (Mondays
    # 2026-11-16, 11-09, 11-02, 10-26): one a day here, so their Mondays; this week's is a daily one too.
    expected = {(NOW - timedelta(days=index)).date() for index in range(7)}
    expected |= {datetime(2026, 11, 9).date(), datetime(2026, 11, 2).date(), datetime(2026, 10, 26).date()}
    assert kept_days == expected
    assert len(plan.keep) == 10 and len(plan.delete) == 30


def test_the_newest_complete_snapshot_is_kept_whatever_its_age() -> None:
    old = [snapshot(NOW - timedelta(days=90)), snapshot(NOW - timedelta(days=91))]
    plan = plan_retention(old, NOW, hourly=24, daily=7, weekly=4)
    assert list(plan.keep) == [old[0].id] and plan.delete == [old[1].id]


def test_an_incomplete_snapshot_never_takes_the_place_of_a_complete_one() -> None:
    broken = snapshot(NOW - timedelta(minutes=5), complete=False)
    good = snapshot(NOW - timedelta(minutes=20))
    plan = plan_retention([broken, good], NOW, hourly=1, daily=0, weekly=0)
    assert plan.keep == {good.id: "newest complete snapshot"} and plan.delete == [broken.id]


def test_a_snapshot_dated_in_the_future_is_kept() -> None:
    future = snapshot(NOW + timedelta(hours=2))
    plan = plan_retention([future, snapshot(NOW)], NOW, hourly=0, daily=0, weekly=0)
    assert future.id in plan.keep and not plan.delete


def test_zero_everywhere_keeps_only_the_newest() -> None:
    snapshots = every_15_minutes(2)
    plan = plan_retention(snapshots, NOW, hourly=0, daily=0, weekly=0)
    assert list(plan.keep) == [snapshots[0].id]
    assert plan.delete == [s.id for s in reversed(snapshots[1:])]  # oldest first


def test_the_now_option_is_read_once_for_every_retention_module() -> None:
    assert retention_now("2026-11-22T03:00:00Z") == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    assert retention_now(None).tzinfo is not None
    with pytest.raises(ValueError, match=r"now: 'yesterday' is not a UTC time like 2026-11-22T03:00:00Z"):
        retention_now("yesterday")
