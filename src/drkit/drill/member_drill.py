"""The member drill: a follower of the primary is SIGKILLed under load and replaced by drkit's
member-replace playbook (a fresh member with the same name and peer URL, the dead one's data moved aside).
Judged by the spec's `member` objectives: the cluster keeps its quorum, so no acknowledged write may be lost."""

from __future__ import annotations

import time
from pathlib import Path

from drkit.drill import faults
from drkit.drill.result import DrillRun
from drkit.drill.session import DrillError, Progress, Session
from drkit.sandbox.lab import Lab
from drkit.sandbox.playbook_runs import PlaybookFailedError, run_on_lab
from drkit.spec.model import Spec


def run_member_drill(lab: Lab, spec: Spec, root: Path, progress: Progress) -> DrillRun:
    region = faults.primary(lab)
    victim = faults.follower(region)
    session = Session(lab, spec, "member", progress)
    ids = session.cluster_ids()
    session.start()
    try:
        time.sleep(1.5)
        fault_at = faults.kill(lab, [victim])
        session.mark(f"{victim.name} killed", fault_at)
        session.did(f"SIGKILLed follower {victim.name} of {region.name}")
        started = time.monotonic()
        try:
            run_on_lab(lab.paths, root, "member-replace", {"drkit_member_replace_member": victim.name})
        except PlaybookFailedError as error:
            raise DrillError(str(error)) from None
        replaced = time.monotonic()
        faults.wait_healthy(region)
        recovered_at = session.mark(f"{victim.name} replaced", time.monotonic())
        session.constants["memberReplaceSeconds"] = replaced - started
        session.did(f"replaced {victim.name} with playbooks/member-replace.yml in {replaced - started:.1f}s")
        session.wait_for_ack_after(fault_at)
        return session.measure(
            fault=f"follower {victim.name} of {region.name} SIGKILLed, replaced by the member-replace playbook",
            fault_at=fault_at,
            serving_region=region.name,
            epochs=[(0.0, ids.get(region.name, ""))],
            recovered_at=recovered_at,
        )
    finally:
        session.stop()
