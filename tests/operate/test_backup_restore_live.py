"""Backup and restore against a live lab: real etcd, real rsync daemon, real Ansible runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.ports import is_free
from tests.conftest import ROOT
from tests.operate.conftest import DRKIT, backups_dir, drkit, etcdctl, member_pids, playbook

LEASE_TTL = 10  # stacks/Pulumi.local.yaml: registry.leaseTtl


def write_tenant_keys(lab: Lab, tag: str, count: int = 20) -> dict[str, str]:
    keys = {f"/apps/{tag}/tenant-{index}": f"{tag}-value-{index}" for index in range(count)}
    for key, value in keys.items():
        etcdctl(lab, "put", key, value)
    return keys


def read(lab: Lab, key: str) -> str | None:
    return etcd_client.get(lab.plan.primary.members[0].client_url, key)


def snapshots_at_target(lab: Lab) -> list[str]:
    return sorted(path.stem for path in backups_dir(lab).glob("*.json"))


def test_someone_elses_keys_are_back_after_backup_wipe_and_restore(running_lab: Lab) -> None:
    lab = running_lab
    keys = write_tenant_keys(lab, "roundtrip")
    lease = int(etcdctl(lab, "lease", "grant", "300").split()[1], 16)
    etcdctl(lab, "put", "/services/web/instance-1", "10.0.0.1:8080", f"--lease={lease:x}")

    backup = drkit(lab, "backup")
    assert backup.returncode == 0, backup.stderr
    assert "lab-rsync: verified" in backup.stdout
    etcdctl(lab, "put", "/apps/roundtrip/after-backup", "lost")

    wiped = lab.wipe_region(lab.plan.primary.name)
    assert len(wiped) == 3
    restore = drkit(lab, "restore", "--yes")
    assert restore.returncode == 0, restore.stderr

    assert {key: read(lab, key) for key in keys} == keys
    assert read(lab, "/apps/roundtrip/after-backup") is None
    assert all(path.is_dir() for path in wiped), "the wiped data dirs must still be there"
    # The registration was re-bound: a fresh lease of the spec's TTL, the old one revoked.
    url = lab.plan.primary.members[0].client_url
    rebound = etcd_client.lease_of(url, "/services/web/instance-1")
    assert rebound not in (0, -1, lease)
    assert 0 < etcd_client.time_to_live(url, rebound) <= LEASE_TTL
    assert etcd_client.time_to_live(url, lease) == -1
    assert "re-bound to a fresh 10s lease" in restore.stdout


def test_truncated_snapshots_are_refused_and_the_cluster_left_untouched(running_lab: Lab) -> None:
    lab = running_lab
    keys = write_tenant_keys(lab, "truncated", count=5)
    assert drkit(lab, "backup").returncode == 0
    for snapshot in backups_dir(lab).glob("*.db"):
        with snapshot.open("r+b") as handle:
            handle.truncate(snapshot.stat().st_size // 2)
    pids = member_pids(lab)
    data_dirs = sorted(path.name for path in lab.paths.data.iterdir())

    # The lab's S3 target holds intact copies: restricted to rsync, only the truncated ones are candidates.
    restore = drkit(lab, "restore", "--yes", "--target", "rsync")

    assert restore.returncode == 1
    assert "no valid snapshot; nothing was changed" in restore.stderr
    assert "truncated" in restore.stderr
    assert member_pids(lab) == pids, "no member may be stopped"
    assert sorted(path.name for path in lab.paths.data.iterdir()) == data_dirs
    assert {key: read(lab, key) for key in keys} == keys


def test_latest_falls_back_to_the_previous_valid_snapshot_and_a_dry_run_changes_nothing(running_lab: Lab) -> None:
    lab = running_lab
    no_retention = ("-e", "drkit_backup_apply_retention=false")
    first = playbook(lab, "backup", *no_retention)
    assert first.returncode == 0, first.stdout[-2000:]
    older = snapshots_at_target(lab)[-1]
    second = playbook(lab, "backup", *no_retention)
    assert second.returncode == 0, second.stdout[-2000:]
    newest = snapshots_at_target(lab)[-1]
    assert newest != older
    damaged = backups_dir(lab) / f"{newest}.db"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped bit: only the sha256 can tell
    damaged.write_bytes(bytes(data))
    pids = member_pids(lab)

    dry_run = drkit(lab, "restore", "--target", "lab-rsync")

    assert dry_run.returncode == 0, dry_run.stderr
    assert "FELL BACK" in dry_run.stdout and f"{newest} at lab-rsync: sha256" in dry_run.stdout
    assert f"DRY RUN: would restore lab-east-1, lab-east-2, lab-east-3 from {older}" in dry_run.stdout
    assert member_pids(lab) == pids


def test_a_target_down_fails_clearly_while_the_others_get_a_verified_copy(running_lab: Lab, tmp_path: Path) -> None:
    lab = running_lab
    dead_port = next(port for port in range(39000, 39100) if is_free(port))
    inventory = yaml.safe_load(lab.paths.inventory.read_text())
    inventory["all"]["children"]["backup_targets"]["hosts"]["dead-rsync"] = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "drkit_rsync_url": f"rsync://127.0.0.1:{dead_port}/drkit-backups/local",
        "drkit_backup_dir": str(tmp_path / "dead"),
    }
    with_dead_target = tmp_path / "inventory.yml"
    with_dead_target.write_text(yaml.safe_dump(inventory))
    before = {path.name for path in backups_dir(lab).iterdir()}

    backup = drkit(lab, "backup", "--inventory", str(with_dead_target))

    assert backup.returncode == 1
    assert "1 of 3 backup targets failed: dead-rsync:" in backup.stderr
    assert "Connection refused" in backup.stderr or "failed to connect" in backup.stderr
    assert "lab-rsync: verified" in backup.stdout and "lab-s3: verified" in backup.stdout
    assert "dead-rsync: FAILED" in backup.stdout
    after = {path.name for path in backups_dir(lab).iterdir()}
    assert before <= after, f"nothing may be deleted when a target failed: {before - after}"
    new = after - before
    assert len(new) == 2 and {Path(name).suffix for name in new} == {".db", ".json"}
    assert list(lab.paths.staging.glob("*.db")), "the staged snapshot is kept for a re-ship"


def test_an_interrupted_restore_resumes_and_keeps_the_moved_aside_data(running_lab: Lab) -> None:
    lab = running_lab
    keys = write_tenant_keys(lab, "resume", count=5)
    assert drkit(lab, "backup").returncode == 0
    etcdctl(lab, "put", "/apps/resume/after-backup", "lost")
    journals = [Path(f"{lab.paths.member_data(m.name)}.restore") / "journal.json" for m in lab.plan.primary.members]

    first = subprocess.Popen(
        [str(DRKIT), "restore", "--yes", "--stack", "local", "--state-dir", str(lab.paths.root)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(_phase(journal) in ("moved", "restored") for journal in journals):
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the operator's laptop dies mid-restore
    first.wait()
    assert all(journal.exists() for journal in journals), "the restore must have been interrupted, not finished"
    moved_first = [path for journal in journals for path in json.loads(journal.read_text())["moved_aside"]]
    assert moved_first, "the first run had moved the data dirs aside"

    second = drkit(lab, "restore", "--yes")

    assert second.returncode == 0, second.stderr
    assert "resumed an interrupted restore" in second.stdout
    assert {key: read(lab, key) for key in keys} == keys
    assert read(lab, "/apps/resume/after-backup") is None
    assert all(Path(path).is_dir() for path in moved_first), "moved-aside data must be kept"
    assert not any(journal.exists() for journal in journals)


def _phase(journal: Path) -> str:
    try:
        return str(json.loads(journal.read_text()).get("phase", ""))
    except (OSError, ValueError):
        return ""


def test_member_replace_brings_a_failed_member_back_caught_up(running_lab: Lab) -> None:
    lab = running_lab
    keys = write_tenant_keys(lab, "replace", count=5)
    victim = lab.plan.primary.members[1]
    old_id = etcd_client.status(victim.client_url).member_id
    lab.signal_member(victim.name, signal.SIGKILL)

    result = playbook(lab, "member-replace", "-e", f"drkit_member_replace_member={victim.name}")

    assert result.returncode == 0, result.stdout[-3000:]
    status = etcd_client.status(victim.client_url)
    assert status.member_id != old_id
    assert {key: etcd_client.get(victim.client_url, key) for key in keys} == keys
    replaced = list(lab.paths.data.glob(f"{victim.name}.replaced-*"))
    assert replaced and (replaced[0] / "member").is_dir(), "the failed member's data is moved aside, not deleted"


def test_backups_list_shows_each_targets_snapshots(running_lab: Lab) -> None:
    lab = running_lab
    assert drkit(lab, "backup").returncode == 0
    listing = drkit(lab, "backups", "list", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    catalog = json.loads(listing.stdout)
    entries = catalog["lab-rsync"]["snapshots"]
    assert entries and entries[0]["complete"] and entries[0]["stack"] == "local"
    assert entries[0]["id"] == snapshots_at_target(lab)[-1]
