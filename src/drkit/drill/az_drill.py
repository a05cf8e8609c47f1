"""The AZ drill: every member of the primary carrying one AZ label is SIGKILLed at once (the lab places
members round-robin over the region's AZs), then restarted. The zone holding the leader is chosen, the
harder case. Judged by the spec's `az` objectives. The lab has no per-AZ namespaces yet, so the AZ is
killed, not partitioned."""

from __future__ import annotations

import time

from drkit.drill import faults
from drkit.drill.result import DrillRun
from drkit.drill.session import DrillError, Progress, Session
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec


def run_az_drill(lab: Lab, spec: Spec, progress: Progress) -> DrillRun:
    region = faults.primary(lab)
    zone = faults.leader(region).az
    victims = [member for member in region.members if member.az == zone]
    if len(region.members) - len(victims) <= len(region.members) // 2:
        raise DrillError(
            f"losing AZ {zone} takes {len(victims)} of {region.name}'s {len(region.members)} members, its quorum"
            " with it: spread the members over more availabilityZones (policy rules say the same)",
            2,
        )
    session = Session(lab, spec, "az", progress)
    ids = session.cluster_ids()
    session.start()
    try:
        time.sleep(1.5)
        fault_at = faults.kill(lab, victims)
        names = ", ".join(member.name for member in victims)
        session.mark(f"AZ {zone} lost", fault_at)
        session.did(f"SIGKILLed every member in AZ {zone}: {names}")
        back = session.wait_for_ack_after(fault_at)
        session.did(f"writes acknowledged again after {back - fault_at:.2f}s")
        started = time.monotonic()
        for member in victims:
            lab.start_member(member.name)
        faults.wait_healthy(region)
        session.constants["memberStartSeconds"] = time.monotonic() - started
        recovered_at = session.mark(f"AZ {zone} back")
        session.did(f"restarted {names}: all of {region.name} healthy after {time.monotonic() - started:.1f}s")
        return session.measure(
            fault=f"AZ {zone} of {region.name} lost: {names} SIGKILLed",
            fault_at=fault_at,
            serving_region=region.name,
            epochs=[(0.0, ids.get(region.name, ""))],
            recovered_at=recovered_at,
        )
    finally:
        session.stop()
