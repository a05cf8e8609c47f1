"""The local DR lab: cold `up` time and cross-region mirror lag, each against a bare floor in the same run.

1. Cold up: `drkit sandbox up` of the local stack into a fresh state dir (supervisord, 6 etcd members, the
   mirror caught up, HAProxy answering, rsync daemon) against the floor of starting the same 6 etcd
   processes by hand with the same flags and waiting until each answers /health.
2. Mirror lag while one client writes 200 keys/s for --seconds: when each key becomes visible on the
   standby (through etcdctl make-mirror), against the floor of when it becomes visible on a follower of
   the primary cluster (raft replication plus the same measuring loop).

    .venv/bin/python benchmarks/sandbox_lab.py [--seconds 10] [--rate 200]

Runs only on loopback, bounded in time, and takes down everything it starts (by pid).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from drkit.policy.catalog import PolicySet
from drkit.sandbox import etcd_client
from drkit.sandbox.configs import etcd_command, write_etcd_configs
from drkit.sandbox.lab import Lab
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan, plan_lab
from drkit.sandbox.ports import is_free
from drkit.validate import validate_file

ROOT = Path(__file__).resolve().parents[1]


def free_base(start: int) -> int:
    while not all(is_free(port) for port in range(start, start + 20)):
        start += 20
    return start


def local_plan(base: int, network: str = "loopback", state_dir: Path | None = None) -> LabPlan:
    policies = PolicySet.load(ROOT / "policies")
    report = validate_file(ROOT / "stacks" / "Pulumi.local.yaml", policies, date.today())
    assert report.spec is not None, report.errors
    return plan_lab("local", report.spec, free_base(base), network, state_dir)


def by_hand(plan: LabPlan, directory: Path, lab: Lab) -> float:
    """Start the plan's etcd members directly and wait until all are healthy; returns seconds."""
    paths = LabPaths(directory)
    paths.data.mkdir(parents=True)
    write_etcd_configs(plan, paths)
    # The floor runs the real binary directly, not through the lab's release links.
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [str(lab.binaries.etcd), *etcd_command(member, paths)[1:]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for member in plan.members
    ]
    try:
        waiting = list(plan.members)
        while waiting:
            waiting = [member for member in waiting if not etcd_client.healthy(member.client_url, timeout=0.5)]
            time.sleep(0.05)
        return time.perf_counter() - start
    finally:
        for process in processes:
            process.kill()
            process.wait()


def visibility_lags(writer_url: str, reader_url: str, prefix: str, rate: float, seconds: float) -> list[float]:
    """Write `rate` keys/s to writer_url; per key, seconds until reader_url shows it (keys apply in order)."""
    total = int(rate * seconds)
    sent: list[float] = [0.0] * total
    seen: list[float] = [0.0] * total

    def reader() -> None:
        arrived = 0
        deadline = time.perf_counter() + seconds + 10
        while arrived < total and time.perf_counter() < deadline:
            try:
                count = etcd_client.count(reader_url, prefix, timeout=2)
            except etcd_client.EtcdUnavailableError:
                continue
            now = time.perf_counter()
            for index in range(arrived, min(count, total)):
                seen[index] = now
            arrived = max(arrived, min(count, total))
            time.sleep(0.002)

    thread = threading.Thread(target=reader)
    thread.start()
    start = time.perf_counter()
    for index in range(total):
        pause = start + index / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent[index] = time.perf_counter()
        etcd_client.put(writer_url, f"{prefix}{index:08d}", "x" * 64)
    thread.join()
    return [arrival - write for write, arrival in zip(sent, seen, strict=True) if arrival]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-lab-"))
    try:
        plan = local_plan(26000)
        lab = Lab.prepare(plan, work / "lab")
        by_hand(local_plan(26500), work / "warm-up", lab)  # page cache and first-run costs, discarded
        hand = by_hand(local_plan(26500), work / "by-hand", lab)
        start = time.perf_counter()
        lab.up(lambda _: None)
        cold = time.perf_counter() - start
        print(
            f"cold up: drkit sandbox up {cold:.2f}s; floor (same 6 etcd by hand, until healthy) {hand:.2f}s;"
            f" ratio {cold / hand:.2f}x"
        )
        try:
            primary, follower = plan.primary.members[0], plan.primary.members[1]
            standby = plan.standbys[0].members[0]
            floor = visibility_lags(primary.client_url, follower.client_url, "/bench/floor/", args.rate, args.seconds)
            mirror = visibility_lags(primary.client_url, standby.client_url, "/bench/mirror/", args.rate, args.seconds)
        finally:
            lab.down(purge=False)
        for name, lags in (("floor (follower in the primary)", floor), ("mirror (standby region)", mirror)):
            print(
                f"{name}: {len(lags)} keys at {args.rate:.0f}/s, p50 {percentile(lags, 0.5) * 1000:.1f}ms,"
                f" p99 {percentile(lags, 0.99) * 1000:.1f}ms"
            )
        print(
            f"mirror lag ratio to floor: p50 {percentile(mirror, 0.5) / percentile(floor, 0.5):.2f}x,"
            f" p99 {percentile(mirror, 0.99) / percentile(floor, 0.99):.2f}x;"
            f" mean {statistics.mean(mirror) * 1000:.1f}ms"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
