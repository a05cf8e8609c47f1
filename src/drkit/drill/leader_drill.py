"""The leader drill: the primary's leader is SIGKILLed, again and again (KILLS times), each time after the
cluster has elected a new one and the killed member is back. RTO is measured from the first kill to the
first write acknowledged after it, and each election is timed (calibration: detection)."""

from __future__ import annotations

import time

from drkit.drill import faults
from drkit.drill.result import DrillRun
from drkit.drill.session import Progress, Session
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec

KILLS = 3


def run_leader_drill(lab: Lab, spec: Spec, progress: Progress, kills: int = KILLS) -> DrillRun:
    region = faults.primary(lab)
    session = Session(lab, spec, "leader", progress)
    ids = session.cluster_ids()
    session.start()
    worst_rto, first_fault, elections = 0.0, 0.0, []
    try:
        time.sleep(1.5)
        for round_ in range(1, kills + 1):
            lead = faults.leader(region)
            fault_at = faults.kill(lab, [lead])
            first_fault = first_fault or fault_at
            session.mark(f"leader {lead.name} killed", fault_at)
            new = faults.leader(region, excluding=lead.name)
            elections.append(time.monotonic() - fault_at)
            back = session.wait_for_ack_after(fault_at)
            worst_rto = max(worst_rto, back - fault_at)
            lab.start_member(lead.name)
            faults.wait_healthy(region)
            session.mark(f"{lead.name} restarted")
            session.did(
                f"kill {round_}: SIGKILLed leader {lead.name}; {new.name} elected after {elections[-1]:.2f}s;"
                f" writes acknowledged again after {back - fault_at:.2f}s; {lead.name} restarted"
            )
            time.sleep(1.0)
        session.constants["leaderElectionSeconds"] = max(elections)
        result = session.measure(
            fault=f"the leader of {region.name} SIGKILLed {kills} times (each time restarted after a new election)",
            fault_at=first_fault,
            serving_region=region.name,
            epochs=[(0.0, ids.get(region.name, ""))],
            recovered_at=time.monotonic(),
        )
        # The worst of the kills is the drill's RTO: each one is a fault of its own.
        result.rto_seconds = round(worst_rto, 3)
        return result
    finally:
        session.stop()
