"""backups check and backups list over plain catalogs: freshness per target, copies per snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from drkit.operate.freshness import copies, freshness

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def snap(snapshot_id: str, started: str, **extra: object) -> dict[str, object]:
    return {"id": snapshot_id, "started_at": started, "revision": 1, "key_count": 1, "size": 10, **extra}


CATALOG = {
    "lab-rsync": {"type": "rsync", "snapshots": [snap("a", "2026-11-22T11:50:00Z", complete=True)]},
    "lab-s3": {
        "type": "s3",
        "bucket": "b",
        "replica_bucket": "r",
        "snapshots": [
            snap("a", "2026-11-22T11:50:00Z", complete=False, verifies=False, problem="version v1 of k is gone"),
            snap("old", "2026-11-22T09:00:00Z", complete=True, verifies=True, replication_status="COMPLETED"),
        ],
        "replica": [snap("old", "2026-11-22T09:00:00Z", complete=True, verifies=True)],
    },
}


def test_each_target_is_judged_by_its_newest_verified_copy() -> None:
    rows = {row.target: row for row in freshness(CATALOG, NOW, 15 * 60)}
    assert rows["lab-rsync"].fresh and rows["lab-rsync"].newest == "a"
    # The newer S3 copy does not verify: the target's newest verified one is three hours old.
    assert not rows["lab-s3"].fresh and rows["lab-s3"].newest == "old"
    assert rows["lab-s3"].line().startswith("lab-s3: STALE: newest verified old, 3h")


def test_an_unreadable_or_empty_target_is_not_fresh() -> None:
    rows = freshness({"x": {"type": "s3", "snapshots": [], "error": "access denied"}, "y": {"snapshots": []}}, NOW, 60)
    assert [row.fresh for row in rows] == [False, False]
    assert rows[0].line() == "x: UNREADABLE: access denied"


def test_copies_list_every_place_a_snapshot_is_with_replication() -> None:
    listing = copies(CATALOG)
    assert list(listing) == ["a", "old"]
    where = {copy.where: copy for copy in listing["old"][1]}
    assert where["lab-s3 replica r"].verifies and "ReplicationStatus COMPLETED" in where["lab-s3 replica r"].detail
    gone = {copy.where: copy for copy in listing["a"][1]}
    assert not gone["lab-s3"].verifies and "is gone" in gone["lab-s3"].detail
    assert "not in the replica bucket" in gone["lab-s3 replica r"].detail
