"""Automatic promotion on a namespaces lab: detection and promotion against the lease arithmetic.

A fresh lab per run (root: each region in its own network namespace), guards on (ttl 5 s, loop 1 s, retry
1 s), a writer through the endpoint. The primary region is cut off from everything (`partition`), then:

- self-fence: the old primary's guard stops its members; the arithmetic says after ttl - 2 x retry = 3 s;
- promotion: the standby's guard has taken the key and run the failover engine; the floor is the ttl (5 s:
  nobody may promote before the lease can expire);
- first write acknowledged through the endpoint by the new primary's cluster after the cut (clients work
  again from then; the guard says "promoted" only after the engine's last step, which clients do not wait
  for: the lab's roles, whose supervisord reconfiguration takes seconds).

Printed per run, and the median ratio promotion / ttl.

    .venv/bin/python benchmarks/auto_promotion.py [--repeat 3]

Runs only on loopback and in namespaces it creates; takes down everything it starts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sandbox_lab import local_plan

from drkit.drill.workload import Ack, Ledger
from drkit.sandbox.lab import Lab

TTL, RETRY = 5.0, 1.0


def _decision(lab: Lab, region: str) -> str:
    try:
        return str(json.loads((lab.paths.root / "guards" / f"{region}.json").read_text())["decision"])
    except (OSError, ValueError, KeyError):
        return ""


def _until(lab: Lab, region: str, prefix: str, since: float, timeout: float = 60) -> float:
    while time.monotonic() - since < timeout:
        if _decision(lab, region).startswith(prefix):
            return time.monotonic() - since
        time.sleep(0.05)
    raise SystemExit(f"{region}'s guard never said {prefix!r}; last {_decision(lab, region)!r}")


def _first_ack_from_other(ledger: Ledger, cut: float, old_cluster: str) -> Ack | None:
    return next((ack for ack in list(ledger.acks) if ack.at >= cut and ack.cluster != old_cluster), None)


def measure(work: Path) -> tuple[float, float, float]:
    state = work / "lab"
    lab = Lab.prepare(local_plan(27600, "namespaces", state), state)
    try:
        lab.up(lambda _: None)
        lab.start_guards(lambda _: None)
        old, new = lab.plan.primary.name, lab.plan.standbys[0].name
        _until(lab, old, "primary: lease renewed", time.monotonic())
        ledger = Ledger(f"http://127.0.0.1:{lab.plan.endpoint_port}", prefix="/bench/auto/", timeout=0.3, rate=50)
        ledger.start()
        time.sleep(1)
        old_cluster = ledger.acks[-1].cluster  # every ack so far came from the old primary's cluster
        cut = time.monotonic()
        lab.network.partition(old)
        fenced = _until(lab, old, "primary: self-fenced", cut)
        promoted = _until(lab, new, "promoted:", cut)
        # The first write the new primary acknowledged through the endpoint: clients work again from here,
        # before the guard reports "promoted" (the engine's last step, the lab's roles, comes after it).
        while (first := _first_ack_from_other(ledger, cut, old_cluster)) is None and time.monotonic() - cut < 90:
            time.sleep(0.05)
        ledger.stop()
        writes = (first.at - cut) if first else float("nan")
        print(
            f"self-fenced {fenced:5.2f}s (arithmetic {TTL - 2 * RETRY:.0f}s), promoted {promoted:5.2f}s"
            f" (ttl {TTL:.0f}s), margin {promoted - fenced:4.2f}s, first write through the endpoint {writes:5.2f}s"
            " (times from the cut; the last renewal came up to 1 s before it)"
        )
        return fenced, promoted, writes
    finally:
        Lab.existing(lab.paths.root).down(purge=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-auto-"))
    try:
        runs = [measure(work / str(run)) for run in range(args.repeat)]
        promoted = statistics.median(run[1] for run in runs)
        writes = statistics.median(run[2] for run in runs)
        print(
            f"median first write by the new primary {writes:.2f}s = {writes / TTL:.2f}x the ttl (the floor: nobody"
            f" may promote sooner); the guard's whole promotion (with the lab's roles) {promoted:.2f}s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
