"""The region drill: every member of the primary region is SIGKILLed at once (the region is lost), and the
standby is promoted by drkit's failover engine, fence first (stop, cut, endpoint out; check; stop the
mirror; re-bind leases; new epoch; endpoint in). Judged by the spec's `region` objectives: what the mirror
had not applied is lost, up to the RPO. Afterwards the old primary is failed back to a standby."""

from __future__ import annotations

import time

from drkit.drill import faults
from drkit.drill.restoring import fail_back
from drkit.drill.result import DrillRun
from drkit.drill.session import DrillError, Progress, Session
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.lab import lab_deployment
from drkit.failover.registry import RegistryError
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec


def run_region_drill(lab: Lab, spec: Spec, progress: Progress) -> tuple[DrillRun, Lab]:
    if not lab.plan.standbys:
        raise DrillError(f"stack {lab.plan.stack} has no standby region to promote: add one to the spec", 2)
    old, new = lab.plan.primary, lab.plan.standbys[0]
    session = Session(lab, spec, "region", progress)
    ids = session.cluster_ids()
    session.start()
    try:
        time.sleep(1.5)
        fault_at = faults.kill(lab, list(old.members))
        session.mark(f"{old.name} lost", fault_at)
        session.did(f"SIGKILLed every member of the primary {old.name}")
        try:
            report = carry_out(lab_deployment(lab), Request("failover", new.name, confirm=True), lambda _: None)
        except (FailoverRefusedError, RegistryError) as error:
            raise DrillError(f"the failover engine did not promote {new.name}: {error}") from None
        promoted_at = session.mark(f"{new.name} promoted")
        session.constants["promotionSeconds"] = promoted_at - fault_at
        steps = ", ".join(f"{step.name} {step.seconds:.2f}s" for step in report.steps)
        session.did(f"drkit failover --to {new.name}: {steps}")
        back = session.wait_for_ack_after(fault_at)
        session.did(f"writes acknowledged through the endpoint again {back - fault_at:.2f}s after the loss")
        result = session.measure(
            fault=f"region {old.name} lost: all {len(old.members)} members SIGKILLed; {new.name} promoted",
            fault_at=fault_at,
            serving_region=new.name,
            # After the loss only the promoted cluster may acknowledge a write: one from the old is split brain.
            epochs=[(0.0, ids.get(old.name, "")), (fault_at, ids.get(new.name, ""))],
            recovered_at=promoted_at,
        )
    finally:
        session.stop()
    return result, fail_back(lab, old.name, progress)
