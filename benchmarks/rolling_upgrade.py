"""Rolling upgrade 3.4.23 -> 3.5.1 of the lab's primary under a writer: drkit's playbook against a bare floor.

Each side gets a fresh lab (3 members on etcd 3.4.23) and the same writer: one client putting a key through
the endpoint every --interval seconds, retrying with the next key when a write fails.

- drkit: the rolling-upgrade playbook (pre-flight, verified backup, followers first, move-leader, per-member
  gate on health, catch-up and hashkv, cluster-version check).
- floor: the same stop, swap the release link, start sequence scripted without any gate (followers first,
  the leader last, each member started before the next is stopped).

Printed: total time and per-member longest write stall (no acknowledgement), each side and as a ratio, and
the acknowledged writes missing afterwards (must be 0 for drkit).

    .venv/bin/python benchmarks/rolling_upgrade.py [--interval 0.02]

Runs only on loopback and takes down everything it starts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backup_restore import drkit_playbook
from sandbox_lab import local_plan

from drkit.drill.stalls import member_windows, stalls_by_member
from drkit.drill.workload import Ledger
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.releases import relink_member

TARGET = "3.5.1"
Windows = dict[str, tuple[float, float]]
Stalls = dict[str, float]


def drkit_upgrade(lab: Lab) -> Windows:
    extravars = {
        "drkit_upgrade_version": TARGET,
        "drkit_upgrade_confirm": "yes",
        # The lab's DR101 waiver, as `drkit upgrade --stack local` passes it on.
        "drkit_upgrade_unsafe_release_reason": "benchmark of the lab's waived 3.5.1",
    }
    _, stats = drkit_playbook(lab, "rolling-upgrade", extravars)
    return member_windows(stats["drkit_upgrade_report"])


def floor_upgrade(lab: Lab) -> Windows:
    """Followers first, the leader last; stop, re-point the link, start (supervisord waits 1 s), next."""
    members = lab.plan.primary.members
    leader = next(m for m in members if etcd_client.status(m.client_url).is_leader)
    windows: Windows = {}
    for member in [m for m in members if m is not leader] + [leader]:
        began = time.time()
        lab.supervisor.stop_program(member.program)
        relink_member(lab.paths, member.name, TARGET)
        lab.supervisor.start_program(member.program)
        windows[member.name] = (began, time.time())
    while not all(etcd_client.healthy(m.client_url, timeout=0.5) for m in members):
        time.sleep(0.05)
    return windows


def measure(name: str, work: Path, interval: float, upgrade: Callable[[Lab], Windows]) -> tuple[float, Stalls]:
    lab = Lab.prepare(local_plan(27200), work / name)
    try:
        lab.up(lambda _: None)
        endpoint = f"http://127.0.0.1:{lab.plan.endpoint_port}"
        ledger = Ledger(endpoint, prefix=f"/bench/{name}/", rate=1 / interval)
        ledger.start()
        time.sleep(1)
        start = time.perf_counter()
        windows = upgrade(lab)
        seconds = time.perf_counter() - start
        time.sleep(1)
        ledger.stop()
        versions = {etcd_client.status(m.client_url).version for m in lab.plan.primary.members}
        stored = etcd_client.values(lab.plan.primary.members[0].client_url, f"/bench/{name}/")
        lost = sum(1 for ack in ledger.acks if stored.get(ack.key) != ack.value)
        stalls = stalls_by_member([ack.wall for ack in ledger.acks], windows)
        print(
            f"{name:>5}: {seconds:6.2f}s, members now on {', '.join(sorted(versions))}; {len(ledger.acks)} writes"
            f" acknowledged, {lost} missing; longest stall per member (s): {stalls}"
        )
        return seconds, stalls
    finally:
        lab.down(purge=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between the writer's puts")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-upgrade-"))
    try:
        floor_s, floor_stalls = measure("floor", work, args.interval, floor_upgrade)
        ours_s, our_stalls = measure("drkit", work, args.interval, drkit_upgrade)
        print(f"total: drkit {ours_s:.2f}s vs floor {floor_s:.2f}s = {ours_s / floor_s:.2f}x")
        worst_ours, worst_floor = max(our_stalls.values()), max(floor_stalls.values())
        print(
            f"worst write stall: drkit {worst_ours:.2f}s vs floor {worst_floor:.2f}s = {worst_ours / worst_floor:.2f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
