"""S3 backups against a live lab's S3 endpoint (moto's server under supervisord): real etcd, real Ansible
runs through the console script. One shared lab for the module."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.sandbox import etcd_client
from drkit.sandbox import s3 as lab_s3
from drkit.sandbox.lab import Lab
from tests.operate.conftest import backups_dir, drkit, etcdctl, member_pids, playbook


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


def test_the_members_timer_job_backs_up_on_the_leader_only(running_lab: Lab, tmp_path: Path) -> None:
    """backup-schedule.yml installs what a cloud member's timer runs (units under a temporary root; the job's
    home with drkit's virtualenv standing in for the one pip would make); the unit's own ExecStart, fired on
    every member of the primary as the timers would, backs up once, from the leader, to S3 only."""
    lab = running_lab
    root, home, state = tmp_path / "root", tmp_path / "home", tmp_path / "state"
    home.mkdir()
    (home / "venv").symlink_to(Path(sys.prefix))
    install = playbook(
        lab,
        "backup-schedule",
        *("-e", f"drkit_backup_schedule_root={root}", "-e", f"drkit_runtime_home={home}"),
        *("-e", f"drkit_backup_schedule_state_dir={state}", "-e", "ansible_become=false"),
        *("-e", "drkit_backup_schedule_manage_systemd=false", "-e", "drkit_runtime_install=false"),
        *("-e", f"drkit_runtime_root={root}", "-e", "drkit_runtime_manage_systemd=false"),
        # One member: every host here would unpack into the same temporary home at once (on a cloud member
        # it is its own disk), and the job below runs that member's unit with each member's own arguments.
        *("--limit", lab.plan.primary.members[0].name),
    )
    assert install.returncode == 0, install.stdout[-3000:]
    units = root / "etc" / "systemd" / "system"
    timer = (units / "drkit-backup.timer").read_text()
    assert "OnCalendar=*-*-* *:00,15,30,45:00 UTC" in timer and "Persistent=true" in timer
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(units / "drkit-backup.service")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Invalid" not in verify.stderr and "bad-setting" not in verify.stderr, verify.stderr
    service = (units / "drkit-backup.service").read_text()
    exec_start = shlex.split(service.split("ExecStart=", 1)[1].replace("\\\n", " ").splitlines()[0])
    before = {entry["id"] for entry in s3_entries(lab)}
    rsync_before = sorted(path.name for path in backups_dir(lab).rglob("*.db"))

    outcomes = {}
    for member in lab.plan.primary.members:
        # The unit on disk is the first member's; each member's own unit differs only in its URL, region and
        # boot role: those, as rendered for it.
        own = {
            "--url": member.client_url,
            "--region": lab.plan.primary.name,
            "--boot-role": lab.plan.primary.role,
        }
        command = [
            f"{part.split('=')[0]}={own[part.split('=')[0]]}" if part.split("=")[0] in own else part
            for part in exec_start
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        outcomes[member.name] = json.loads((state / "scheduled-backup.json").read_text())

    assert sorted(o["outcome"] for o in outcomes.values()) == ["backed-up", "skipped", "skipped"], outcomes
    assert all("not its cluster's leader" in o["why"] for o in outcomes.values() if o["outcome"] == "skipped")
    after = {entry["id"] for entry in s3_entries(lab)}
    assert len(after - before) == 1, "one snapshot, from the leader"
    assert sorted(path.name for path in backups_dir(lab).rglob("*.db")) == rsync_before, "members upload to S3 only"


def test_the_labs_scheduler_backs_up_by_itself_until_stopped(running_lab: Lab) -> None:
    """`drkit sandbox schedule start --every N` (the members' timers, sped up): backups appear without anyone
    running `drkit backup`, from the primary's leader only; `schedule stop` stops them."""
    lab = running_lab
    before = {entry["id"] for entry in s3_entries(lab)}
    start = drkit(lab, "sandbox", "schedule", "start", "--every", "2")
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        deadline = time.monotonic() + 300
        runs: dict[str, Any] = {}
        while time.monotonic() < deadline:
            runs = lab.schedule_status()["lastRuns"]
            if any(run.get("outcome") == "backed-up" for run in runs.values()):
                break
            time.sleep(1)
        outcomes = {name: run.get("outcome") for name, run in runs.items()}
        assert "backed-up" in outcomes.values(), runs
        primary = {member.name for member in lab.plan.primary.members}
        assert set(outcomes) <= primary, "only the primary region's members are fired"
    finally:
        stop = drkit(lab, "sandbox", "schedule", "stop")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert not lab.schedule_status()["enabled"]
    assert {entry["id"] for entry in s3_entries(lab)} - before, "a scheduled backup reached S3"


def test_the_generated_cloud_inventorys_s3_targets_work_against_the_labs_endpoint(
    running_lab: Lab, tmp_path: Path
) -> None:
    """The playbooks on what `drkit inventory --from-outputs` writes for prod's backups: its s3 target, exactly
    as generated (bucket with the account ID, its KMS key ARN, replica bucket and region, lock settings),
    pointed at the lab's S3 endpoint by an overlay of the endpoint and the lab's fake keys only; the members
    are the lab's (the cloud's are reached over SSM, which cannot run here)."""
    from datetime import date

    import yaml

    from drkit.provision import gate, offline
    from tests.conftest import ROOT

    lab = running_lab
    report = gate.validate_stack(gate.stack_path(ROOT, "prod"), ROOT / "policies", date(2026, 11, 22))
    assert report.spec is not None
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(offline.run_offline(report.spec, "prod").outputs), encoding="utf-8")
    generated_path = tmp_path / "prod-inventory.yml"
    command = ["inventory", "--stack", "prod", "--from-outputs", str(outputs), "-o", str(generated_path)]
    written = subprocess.run(
        [str(Path(sys.executable).with_name("drkit")), *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    generated = yaml.safe_load(generated_path.read_text(encoding="utf-8"))
    targets = generated["all"]["children"]["backup_targets"]["hosts"]
    s3_targets = {name: host for name, host in targets.items() if host.get("drkit_backup_type") == "s3"}
    assert s3_targets, targets
    client = lab_s3.client(lab.plan)
    for host in s3_targets.values():
        assert host["drkit_s3_kms_key"].startswith("arn:aws:kms:") and host["drkit_s3_replica_bucket"]
        for bucket in (host["drkit_s3_bucket"], host["drkit_s3_replica_bucket"]):
            client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        host |= {
            "drkit_s3_endpoint_url": lab.plan.s3_endpoint_url,
            "drkit_s3_access_key": lab_s3.LAB_S3_KEY,
            "drkit_s3_secret_key": lab_s3.LAB_S3_KEY,
        }
    inventory = yaml.safe_load(lab.paths.inventory.read_text(encoding="utf-8"))
    inventory["all"]["children"]["backup_targets"]["hosts"] = s3_targets
    path = tmp_path / "cloud-targets.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")

    backup = playbook(lab, "backup", inventory=path)
    assert backup.returncode == 0, backup.stdout[-3000:]
    host = next(iter(s3_targets.values()))
    listed = client.list_objects_v2(Bucket=host["drkit_s3_bucket"]).get("Contents", [])
    keys = [item["Key"] for item in listed]
    assert any(key.endswith(".db") for key in keys) and any(key.endswith(".json") for key in keys), keys
    snapshot = next(key for key in keys if key.endswith(".db"))
    head = client.head_object(Bucket=host["drkit_s3_bucket"], Key=snapshot)
    assert (
        head.get("SSEKMSKeyId", "").endswith(host["drkit_s3_kms_key"].rsplit("/", 1)[-1])
        or head.get("ServerSideEncryption") == "aws:kms"
    ), head

    restore = playbook(lab, "restore", inventory=path)  # a dry run: picks and verifies from the cloud target
    assert restore.returncode == 0, restore.stdout[-3000:]
    assert host["drkit_s3_bucket"] in restore.stdout
