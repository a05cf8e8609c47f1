"""S3 backup target, against moto (mock_aws): upload with checksum and lock, manifest naming the version,
retention that never deletes early or outside drkit's manifests, listing, and restore-source choice."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.drkit.registry.plugins.module_utils import s3_store
from ansible_collections.drkit.registry.plugins.module_utils.fetch import Target, fetch_verified
from ansible_collections.drkit.registry.plugins.module_utils.retention import plan_retention
from ansible_collections.drkit.registry.plugins.module_utils.s3_store import (
    S3Source,
    S3Target,
    S3TargetError,
    apply_retention,
    choose_class,
    class_and_lock,
    lock_until,
    read_catalog,
    upload_snapshot,
)
from ansible_collections.drkit.registry.plugins.module_utils.snapshots import FORMAT, Snapshot, format_time
from moto import mock_aws

REGION = "us-east-1"
BUCKET = "drkit-test-backups-us-east-1"
REPLICA = "drkit-test-backups-us-west-2"
DAY = 86400.0


@pytest.fixture
def s3() -> Iterator[Any]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = s3_store.client(target())
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield client


def target(**changes: Any) -> S3Target:
    values: dict[str, Any] = {"name": "s3-test", "bucket": BUCKET, "region": REGION, "object_lock_seconds": 30 * DAY}
    values.update(changes)
    return S3Target(**values)


def staged(
    tmp_path: Path, moment: datetime, payload: bytes = b"etcd snapshot bytes" * 1000
) -> tuple[str, dict[str, Any]]:
    snapshot_id = f"test-us-east-1-{moment:%Y%m%dT%H%M%SZ}"
    path = tmp_path / f"{snapshot_id}.db"
    path.write_bytes(payload)
    manifest = {
        "format": FORMAT,
        "written_by": "drkit",
        "id": snapshot_id,
        "file": f"{snapshot_id}.db",
        "stack": "test",
        "region": "us-east-1",
        "revision": 42,
        "key_count": 7,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
        "started_at": format_time(moment),
    }
    return str(path), manifest


def test_classes_and_locks_follow_retention() -> None:
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert choose_class(monday, []) == "weekly"
    assert choose_class(monday + timedelta(hours=1), [monday]) == "hourly"
    assert choose_class(monday + timedelta(days=1), [monday]) == "daily"
    # Only what retention keeps long is locked long; never beyond the spec's objectLock.
    assert lock_until(monday, "hourly", 24, 7, 4, 30 * DAY) == monday + timedelta(hours=24)
    assert lock_until(monday, "daily", 24, 7, 4, 30 * DAY) == monday + timedelta(days=7)
    assert lock_until(monday, "weekly", 24, 7, 8, 30 * DAY) == monday + timedelta(days=30)
    assert lock_until(monday, "weekly", 24, 7, 4, None) is None


def test_retention_never_wants_to_delete_a_version_its_lock_still_protects() -> None:
    """Every 15 minutes for three weeks, as a schedule would: the S3 class and lock chosen at each upload, and
    the retention plan (the same one rsync targets follow) run after it, agree: what retention deletes is
    locked for the shortest lock at most (the newest snapshot is always locked, whatever comes after it), so
    an S3 target and an rsync target keep the same history, and S3 lets go of the rest within the hour."""
    start = datetime(2026, 11, 4, 7, 5, tzinfo=UTC)
    locks: dict[str, datetime | None] = {}
    taken: dict[str, datetime] = {}
    kept: list[Snapshot] = []
    for step in range(21 * 96):
        created = start + timedelta(minutes=15 * step)
        _snapshot_class, until = class_and_lock(created, [s.created for s in kept], 24, 7, 4, 30 * DAY)
        manifest = {"format": FORMAT, "written_by": "drkit", "id": f"test-{step}", "stack": "test"}
        manifest |= {"region": REGION, "started_at": format_time(created), "size": 1}
        kept.append(Snapshot(f"test-{step}", manifest, 1))
        locks[f"test-{step}"], taken[f"test-{step}"] = until, created
        plan = plan_retention(kept, created, 24, 7, 4)
        still_locked = [i for i in plan.delete if (locks[i] or created) > created]
        assert all((locks[i] or created) - taken[i] <= timedelta(hours=1) for i in still_locked)
        kept = [s for s in kept if s.id in plan.keep]
    # 24 hourly + 7 daily + 4 weekly (overlapping), and the newest.
    assert 24 <= len(kept) <= 24 + 7 + 4


def test_upload_writes_checksum_lock_and_a_manifest_naming_the_version(s3: Any, tmp_path: Path) -> None:
    # Three parts: multipart with a SHA-256 per part.
    path, manifest = staged(tmp_path, datetime.now(UTC), os.urandom(2 * s3_store.PART_SIZE + 100))
    written = upload_snapshot(
        target(kms_key="arn:aws:kms:us-east-1:111122223333:key/test"), path, manifest, 24, 7, 4, s3=s3
    )
    facts = written["s3"]
    assert facts["class"] == "weekly" and facts["key"].startswith("weekly/test/us-east-1/")
    head = s3.head_object(Bucket=BUCKET, Key=facts["key"], VersionId=facts["version_id"])
    assert head["ContentLength"] == manifest["size"]
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > datetime.now(UTC)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=facts["key"][:-3] + ".json")["Body"].read())
    assert stored["s3"]["version_id"] == facts["version_id"] and stored["sha256"] == manifest["sha256"]
    # A locked version cannot be deleted.
    with pytest.raises(s3.exceptions.ClientError):
        s3.delete_object(Bucket=BUCKET, Key=facts["key"], VersionId=facts["version_id"])


def test_bucket_problems_are_one_line_naming_the_target(s3: Any, tmp_path: Path) -> None:
    path, manifest = staged(tmp_path, datetime.now(UTC))
    with pytest.raises(S3TargetError, match=r"backup target s3-test \(s3://drkit-missing\): the bucket does not exist"):
        upload_snapshot(target(bucket="drkit-missing"), path, manifest, 24, 7, 4, s3=s3)
    s3.create_bucket(Bucket="drkit-unlocked")
    s3.put_bucket_versioning(Bucket="drkit-unlocked", VersioningConfiguration={"Status": "Enabled"})
    with pytest.raises(S3TargetError, match="Object Lock is off on the bucket"):
        upload_snapshot(target(bucket="drkit-unlocked"), path, manifest, 24, 7, 4, s3=s3)
    s3.create_bucket(Bucket="drkit-unversioned")
    with pytest.raises(S3TargetError, match="versioning is off"):
        upload_snapshot(target(bucket="drkit-unversioned", object_lock_seconds=None), path, manifest, 24, 7, 4, s3=s3)
    assert s3.list_objects_v2(Bucket="drkit-unlocked").get("KeyCount", 0) == 0


def test_no_credentials_is_explained() -> None:
    from botocore.exceptions import NoCredentialsError

    assert "no AWS credentials found" in s3_store.explain(target(), BUCKET, NoCredentialsError())


def upload_at(s3: Any, tmp_path: Path, moment: datetime, **changes: Any) -> dict[str, Any]:
    path, manifest = staged(tmp_path, moment)
    return upload_snapshot(target(**changes), path, manifest, 24, 7, 4, s3=s3)


def test_retention_deletes_only_unlocked_drkit_versions_and_keeps_the_newest(s3: Any, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # Unlocked old snapshots (no objectLock), and one locked one.
    old = [upload_at(s3, tmp_path, now - timedelta(days=40 + i), object_lock_seconds=None) for i in range(3)]
    locked = upload_at(s3, tmp_path, now - timedelta(days=20))
    s3.put_object(Bucket=BUCKET, Key="hourly/test/us-east-1/notes.txt", Body=b"not drkit's")
    s3.put_object(Bucket=BUCKET, Key="hourly/other/us-east-1/x.db", Body=b"another stack")
    result = apply_retention(s3, target(), "test", "us-east-1", now, 0, 0, 0)
    # The newest (the locked one) is kept whatever the policy; the old unlocked ones go.
    assert set(result["deleted"]) == {m["id"] for m in old}
    assert locked["id"] in result["kept"]
    assert result["unmanaged"] == ["hourly/test/us-east-1/notes.txt"]
    keys = {o["Key"] for o in s3.list_object_versions(Bucket=BUCKET).get("Versions", [])}
    assert "hourly/other/us-east-1/x.db" in keys and "hourly/test/us-east-1/notes.txt" in keys
    # A locked one that the policy would delete is reported, never deleted early.
    newer = upload_at(s3, tmp_path, now - timedelta(days=1))
    result = apply_retention(s3, target(), "test", "us-east-1", now, 0, 0, 0)
    assert result["deleted"] == [] and locked["id"] in result["locked"] and newer["id"] in result["kept"]


def test_listing_reports_a_gone_version(s3: Any, tmp_path: Path) -> None:
    written = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(hours=2), object_lock_seconds=None)
    s3.delete_object(Bucket=BUCKET, Key=written["s3"]["key"], VersionId=written["s3"]["version_id"])
    entry = read_catalog(s3, target(), "test", None).entries[0]
    assert not entry.verifies and "is gone" in str(entry.problem)


def status_ok(tmp_path: Path) -> list[str]:
    """A stand-in for `etcdutl snapshot status`: prints the manifest's revision."""
    script = tmp_path / "status.sh"
    script.write_text('#!/bin/sh\necho \'{"hash": 1, "revision": 42, "totalKey": 7, "totalSize": 1}\'\n')
    script.chmod(0o755)
    return [str(script)]


def source(s3: Any, **changes: Any) -> S3Source:
    return S3Source(target(**changes), factory=lambda _target, _replica: s3)


def test_restore_fetches_the_named_version_never_a_later_one(s3: Any, tmp_path: Path) -> None:
    written = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(minutes=5), object_lock_seconds=None)
    # Garbage put on top of the snapshot's key: the current version is now garbage.
    s3.put_object(Bucket=BUCKET, Key=written["s3"]["key"], Body=b"garbage")
    dest = tmp_path / "restore"
    outcome = fetch_verified([source(s3)], "test", "us-east-1", "latest", str(dest), status_ok(tmp_path), True)
    assert outcome.snapshot_id == written["id"] and outcome.rejected == []
    assert hashlib.sha256(Path(str(outcome.path)).read_bytes()).hexdigest() == written["sha256"]


def test_a_gone_version_is_rejected_and_older_snapshots_are_tried(s3: Any, tmp_path: Path) -> None:
    older = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(hours=3), object_lock_seconds=None)
    newer = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(hours=1), object_lock_seconds=None)
    s3.delete_object(Bucket=BUCKET, Key=newer["s3"]["key"], VersionId=newer["s3"]["version_id"])
    outcome = fetch_verified(
        [source(s3)], "test", "us-east-1", "latest", str(tmp_path / "r"), status_ok(tmp_path), True
    )
    assert outcome.snapshot_id == older["id"] and outcome.fell_back
    assert "is gone" in outcome.rejected[0]["reason"]


def test_the_replica_serves_when_the_primary_bucket_is_gone(s3: Any, tmp_path: Path) -> None:
    written = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(minutes=5), object_lock_seconds=None)
    # moto stores replication config but copies nothing: copy by hand, as S3 replication would.
    s3.create_bucket(Bucket=REPLICA)
    s3.put_bucket_versioning(Bucket=REPLICA, VersioningConfiguration={"Status": "Enabled"})
    for key in (written["s3"]["key"], written["s3"]["key"][:-3] + ".json"):
        s3.copy_object(Bucket=REPLICA, Key=key, CopySource={"Bucket": BUCKET, "Key": key}, MetadataDirective="COPY")
    # The region is gone: its bucket cannot be listed.
    s3.delete_object(Bucket=BUCKET, Key=written["s3"]["key"][:-3] + ".json")
    src = S3Source(
        target(bucket="drkit-gone-bucket", replica_bucket=REPLICA, replica_region="us-west-2"),
        factory=lambda _t, _r: s3,
    )
    outcome = fetch_verified([src], "test", "us-east-1", "latest", str(tmp_path / "r"), status_ok(tmp_path), True)
    assert outcome.snapshot_id == written["id"]
    assert outcome.source_note.startswith(f"s3://{REPLICA} (replica: backup target s3-test (s3://drkit-gone-bucket)")


def test_newest_verified_across_targets_wins(s3: Any, tmp_path: Path) -> None:
    rsync_dir = tmp_path / "rsync"
    rsync_dir.mkdir()
    old_path, old_manifest = staged(tmp_path, datetime.now(UTC) - timedelta(hours=5))
    Path(rsync_dir / Path(old_path).name).write_bytes(Path(old_path).read_bytes())
    (rsync_dir / (old_manifest["id"] + ".json")).write_text(json.dumps(old_manifest))
    newer = upload_at(s3, tmp_path, datetime.now(UTC) - timedelta(hours=1), object_lock_seconds=None)
    sources = [Target("lab-rsync", str(rsync_dir)), source(s3)]
    outcome = fetch_verified(sources, "test", "us-east-1", "latest", str(tmp_path / "r"), status_ok(tmp_path), True)
    assert outcome.snapshot_id == newer["id"] and outcome.target == "s3-test"
    # Restricted to rsync, the older one.
    outcome = fetch_verified(
        sources[:1], "test", "us-east-1", "latest", str(tmp_path / "r2"), status_ok(tmp_path), True
    )
    assert outcome.snapshot_id == old_manifest["id"] and outcome.target == "lab-rsync"
