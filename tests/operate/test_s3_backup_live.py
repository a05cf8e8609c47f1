"""S3 backups against a live lab's S3 endpoint (moto's server under supervisord): real etcd, real Ansible
runs through the console script. One shared lab for the module."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from typing import Any

from drkit.sandbox import etcd_client
from drkit.sandbox import s3 as lab_s3
from drkit.sandbox.lab import Lab
from tests.operate.conftest import backups_dir, drkit, etcdctl, member_pids


def s3_entries(lab: Lab) -> list[dict[str, Any]]:
    listing = drkit(lab, "backups", "list", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    return list(json.loads(listing.stdout)["lab-s3"]["snapshots"])


def test_status_shows_every_backup_target(running_lab: Lab) -> None:
    status = drkit(running_lab, "sandbox", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    targets = {t["name"]: t for t in json.loads(status.stdout)["backupTargets"]}
    assert targets["lab-rsync"]["type"] == "rsync" and targets["lab-rsync"]["url"].startswith("rsync://")
    s3 = targets["lab-s3"]
    assert s3["type"] == "s3" and s3["bucket"] == "drkit-local-backups" and s3["reachable"]
    assert s3["endpoint"] == running_lab.plan.s3_endpoint_url and s3["objectLock"] == "Enabled"


def test_a_backup_lands_in_s3_locked_with_a_manifest_naming_its_version(running_lab: Lab) -> None:
    lab = running_lab
    backup = drkit(lab, "backup")
    assert backup.returncode == 0, backup.stderr
    assert "lab-s3: verified" in backup.stdout and "lab-rsync: verified" in backup.stdout
    newest = s3_entries(lab)[0]
    assert newest["verifies"] and newest["class"] in ("weekly", "daily", "hourly")
    client = lab_s3.client(lab.plan)
    head = client.head_object(Bucket=lab.plan.s3_bucket, Key=newest["key"], VersionId=newest["version_id"])
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] > datetime.now(UTC)
    assert head["ContentLength"] == newest["size"]


def test_garbage_on_top_is_never_restored_and_s3_alone_restores_a_wiped_primary(running_lab: Lab) -> None:
    lab = running_lab
    etcdctl(lab, "put", "/apps/s3/kept", "from-s3")
    assert drkit(lab, "backup").returncode == 0
    newest = s3_entries(lab)[0]
    etcdctl(lab, "put", "/apps/s3/after-backup", "lost")
    client = lab_s3.client(lab.plan)
    # A later version on top of the snapshot's key: the manifest names the older one.
    client.put_object(Bucket=lab.plan.s3_bucket, Key=newest["key"], Body=b"garbage on top")
    # Every rsync copy moved away, then the primary's data lost.
    aside = backups_dir(lab).with_name("moved-away")
    shutil.move(str(backups_dir(lab)), aside)
    backups_dir(lab).mkdir()
    lab.wipe_region(lab.plan.primary.name)

    restore = drkit(lab, "restore", "--yes")

    assert restore.returncode == 0, restore.stderr
    assert f"from {newest['id']}" in restore.stdout
    assert "source: lab-s3 s3://drkit-local-backups" in restore.stdout
    url = lab.plan.primary.members[0].client_url
    assert etcd_client.get(url, "/apps/s3/kept") == "from-s3"
    assert etcd_client.get(url, "/apps/s3/after-backup") is None


def test_a_missing_bucket_fails_that_target_only_and_restore_says_what_to_fix(running_lab: Lab, tmp_path: Any) -> None:
    import yaml

    lab = running_lab
    inventory = yaml.safe_load(lab.paths.inventory.read_text())
    inventory["all"]["children"]["backup_targets"]["hosts"]["lab-s3"]["drkit_s3_bucket"] = "drkit-no-such-bucket"
    broken = tmp_path / "inventory.yml"
    broken.write_text(yaml.safe_dump(inventory))
    pids = member_pids(lab)

    backup = drkit(lab, "backup", "--inventory", str(broken))
    assert backup.returncode == 1
    assert (
        "lab-s3: FAILED: backup target lab-s3 (s3://drkit-no-such-bucket): the bucket does not exist" in backup.stdout
    )
    assert "lab-rsync: verified" in backup.stdout

    restore = drkit(lab, "restore", "--inventory", str(broken), "--target", "s3")
    assert restore.returncode == 1
    assert "backup target lab-s3 (s3://drkit-no-such-bucket): the bucket does not exist" in restore.stderr
    assert member_pids(lab) == pids, "nothing may be stopped"


def test_backups_check_exits_1_on_a_stale_backup(running_lab: Lab) -> None:
    lab = running_lab
    assert drkit(lab, "backup").returncode == 0
    fresh = drkit(lab, "backups", "check", "--max-age", "10m")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "lab-s3: ok: newest verified" in fresh.stdout and "lab-rsync: ok" in fresh.stdout
    stale = drkit(lab, "backups", "check", "--max-age", "1s")
    assert stale.returncode == 1
    assert "lab-s3: STALE" in stale.stdout and "lab-rsync: STALE" in stale.stdout
