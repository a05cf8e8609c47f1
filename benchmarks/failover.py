"""Region failover on the lab under a writer: `drkit failover` against the same promotion done by hand.

Each side gets a fresh lab (primary and standby of 3 members, make-mirror between them, HAProxy in front)
and the same writer: one client putting a key through the endpoint every --interval seconds. Then every
primary member is SIGKILLed at once (the fault), and:

- floor: by hand, the least that makes the standby take writes: the dead primary's servers out of HAProxy's
  rotation, stop the mirror, the standby's servers in. No fencing, no leases, no epoch, no checks.
- drkit: the failover engine (fence: stop, cut, endpoint out; check; stop the mirror and read the RPO
  bound; re-bind leases; write the epoch; save roles; endpoint in; first write).

Printed per side: fault to the first write acknowledged through the endpoint, acknowledged writes lost
(and how long before the fault the oldest lost one was acknowledged), and the ratio drkit / floor.

    .venv/bin/python benchmarks/failover.py [--interval 0.02] [--repeat 3]

Runs only on loopback and takes down everything it starts.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sandbox_lab import local_plan

from drkit.drill.workload import Ledger
from drkit.failover.engine import Request, carry_out
from drkit.failover.lab import LabControl, lab_deployment
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.supervisor_client import pid_alive

ROOT = Path(__file__).resolve().parents[1]


def by_hand(lab: Lab) -> None:
    standby = lab.plan.standbys[0].name
    lab.set_region_serving(lab.plan.primary.name, False)
    LabControl(lab).stop_mirror(standby)
    lab.set_region_serving(standby, True)


def with_drkit(lab: Lab) -> None:
    outcome = carry_out(lab_deployment(lab), Request("failover", lab.plan.standbys[0].name, True), lambda _: None)
    assert outcome.outcome == "done", outcome.message
    print("       " + ", ".join(f"{step.name} {step.seconds:.2f}s" for step in outcome.steps))


def measure(name: str, work: Path, interval: float, promote: Callable[[Lab], None]) -> tuple[float, int]:
    lab = Lab.prepare(local_plan(27400), work / name)
    try:
        lab.up(lambda _: None)
        old, new = lab.plan.primary, lab.plan.standbys[0]
        url = f"http://127.0.0.1:{lab.plan.endpoint_port}"
        # A short write timeout: a write stuck on a dead server must not hide how soon the standby answers.
        ledger = Ledger(url, prefix=f"/bench/{name}/", rate=1 / interval, timeout=0.2)
        ledger.start()
        time.sleep(2)
        pids = lab.kill_region(old.name)
        while any(pid_alive(pid) for pid in pids):
            time.sleep(0.005)
        # Every old member is dead: an acknowledgement after this instant can only come from the standby.
        fault = time.monotonic()
        promote(lab)
        while (first := ledger.first_ack_after(fault)) is None and time.monotonic() - fault < 60:
            time.sleep(0.01)
        time.sleep(0.5)
        ledger.stop()
        assert first is not None, "no write acknowledged within 60 s"
        stored = etcd_client.values(new.members[0].client_url, f"/bench/{name}/")
        lost = [ack for ack in ledger.acks if ack.at < fault and stored.get(ack.key) != ack.value]
        window = f", oldest {fault - lost[0].at:.2f}s before the fault" if lost else ""
        seconds = first.at - fault
        print(f"{name:>5}: fault to first acknowledged write {seconds:6.2f}s; {len(lost)} acked writes lost{window}")
        return seconds, len(lost)
    finally:
        Lab.existing(lab.paths.root).down(purge=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between the writer's puts")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-failover-"))
    ratios = []
    try:
        for run in range(args.repeat):
            floor, _ = measure("floor", work / str(run), args.interval, by_hand)
            ours, _ = measure("drkit", work / str(run), args.interval, with_drkit)
            ratios.append(ours / floor)
            print(f"run {run + 1}: drkit {ours:.2f}s vs floor {floor:.2f}s = {ours / floor:.2f}x")
        print(f"median ratio over {args.repeat} runs: {statistics.median(ratios):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
