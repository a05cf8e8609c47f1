"""Backup and restore of a loaded lab: drkit's playbooks against a bare floor in the same run.

1. Load about --megabytes MB into the lab's primary (parallel clients, 64 KiB values; the mirror is
   stopped first so the standby does not double the load).
2. Backup: `drkit backup`'s playbook (health gate, snapshot, status check, manifest, ship, sha256 at the
   target, retention) to one target type, against the floor `etcdctl snapshot save` + `sha256sum` + one
   transfer to the same place: `rsync` to the same daemon, or (--target s3) one boto3 `upload_file` to
   the lab's S3 endpoint (moto's server: loopback, so this measures drkit's work, not a network).
3. Restore: `drkit restore --yes`'s playbook from that target type (fetch + verify on every member, stop,
   move aside, restore, start, verify counts and hashkv, re-bind leases) against the floor: stop the
   members, `snapshot restore` per member (in parallel) from a local file, start, wait until all are healthy.

    .venv/bin/python benchmarks/backup_restore.py [--megabytes 256] [--target rsync|s3] [--tasks]

Runs only on loopback and takes down everything it starts.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Run as a script, benchmarks/ itself is on sys.path: the lab benchmark's plan helper is shared from there.
from sandbox_lab import ROOT, local_plan

from drkit.sandbox import etcd_client
from drkit.sandbox import s3 as lab_s3
from drkit.sandbox.lab import Lab
from drkit.sandbox.playbook_runs import PlaybookFailedError, run_on_lab

VALUE = "x" * (64 * 1024)


def load(url: str, megabytes: int, clients: int = 8) -> float:
    """Write `megabytes` MB of 64 KiB values with parallel clients; returns seconds."""
    count = megabytes * 1024 * 1024 // len(VALUE)
    start = time.perf_counter()

    def writer(offset: int) -> None:
        for index in range(offset, count, clients):
            etcd_client.put(url, f"/bench/load/{index:08d}", VALUE, timeout=30)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def drkit_playbook(lab: Lab, name: str, extravars: dict[str, str], tasks: bool = False) -> tuple[float, dict[str, Any]]:
    """Seconds the playbook took, and the reports it handed over; with `tasks`, each task's line as it ends
    (its seconds: where the time above the floor goes)."""
    start = time.perf_counter()
    try:
        run = run_on_lab(lab.paths, ROOT, name, extravars, print if tasks else lambda _: None)
    except PlaybookFailedError as error:
        raise SystemExit(str(error)) from None
    elapsed = time.perf_counter() - start
    return elapsed, run.stats


def floor_backup(lab: Lab, work: Path, target: str) -> tuple[float, Path]:
    leader = next(m for m in lab.plan.primary.members if etcd_client.status(m.client_url).is_leader)
    snapshot = work / "floor.db"
    start = time.perf_counter()
    subprocess.run(
        [str(lab.binaries.etcdctl), f"--endpoints={leader.client_url}", "snapshot", "save", str(snapshot)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["sha256sum", str(snapshot)], check=True, capture_output=True)
    if target == "s3":
        lab_s3.client(lab.plan).upload_file(str(snapshot), lab.plan.s3_bucket, "floor/floor.db")
    else:
        destination = f"rsync://127.0.0.1:{lab.plan.rsync_port}/{lab.plan.rsync_module}/"
        subprocess.run(["rsync", "-t", str(snapshot), destination], check=True, capture_output=True)
    return time.perf_counter() - start, snapshot


def floor_restore(lab: Lab, snapshot: Path, work: Path) -> float:
    restore_tool = lab.binaries.etcdutl or lab.binaries.etcdctl
    members = lab.plan.primary.members
    start = time.perf_counter()
    for member in members:
        lab.supervisor.stop_program(member.program)
    for member in members:
        data = lab.paths.member_data(member.name)
        shutil.move(str(data), work / f"{member.name}.before-floor")
    restores = [
        subprocess.Popen(
            [
                str(restore_tool),
                *("snapshot", "restore", str(snapshot), "--name", member.name),
                *("--initial-cluster", lab.plan.primary.initial_cluster, "--initial-cluster-token", "floor"),
                *("--initial-advertise-peer-urls", member.peer_url),
                *("--data-dir", str(lab.paths.member_data(member.name))),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for member in members
    ]
    if any(process.wait() != 0 for process in restores):
        raise SystemExit("floor restore failed")
    for member in members:
        lab.supervisor.start_program(member.program)
    while not all(etcd_client.healthy(member.client_url, timeout=0.5) for member in members):
        time.sleep(0.05)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--target", choices=["rsync", "s3"], default="rsync", help="the backup target type to time")
    parser.add_argument("--tasks", action="store_true", help="print each playbook task's line with its seconds")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-backup-"))
    lab = Lab.prepare(local_plan(27000), work / "lab")
    try:
        lab.up(lambda _: None)
        for name in lab.supervisor.processes():
            if name.startswith("mirror-"):
                lab.supervisor.stop_program(name)
        seconds = load(lab.plan.primary.members[0].client_url, args.megabytes)
        db = etcd_client.status(lab.plan.primary.members[0].client_url).db_size
        print(f"loaded {args.megabytes} MB in {seconds:.1f}s; db size {db / 2**20:.0f} MiB")

        if args.target == "s3" and not lab.plan.s3_port:
            raise SystemExit("the local stack has no s3 target: nothing to time")
        floor_b, snapshot = floor_backup(lab, work, args.target)
        ours_b, _ = drkit_playbook(lab, "backup", {"drkit_backup_to": args.target}, args.tasks)
        transfer = "one boto3 upload" if args.target == "s3" else "rsync"
        print(
            f"backup to {args.target}: drkit {ours_b:.2f}s;"
            f" floor (snapshot save + sha256sum + {transfer}) {floor_b:.2f}s;"
        )
        print(f"        ratio {ours_b / floor_b:.2f}x")

        ours_r, stats = drkit_playbook(
            lab, "restore", {"drkit_restore_confirm": "yes", "drkit_restore_target": args.target}, args.tasks
        )
        down = float(stats["drkit_restore_report"]["seconds_down"])
        floor_r = floor_restore(lab, snapshot, work)
        print(
            f"restore from {args.target}: drkit {ours_r:.2f}s in all,"
            f" of which the cluster was down {down:.2f}s (stop to healthy);"
        )
        print(f"         floor (stop, snapshot restore per member, start, healthy) {floor_r:.2f}s;")
        print(f"         ratio {ours_r / floor_r:.2f}x in all, {down / floor_r:.2f}x down time")
    finally:
        lab.down(purge=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
