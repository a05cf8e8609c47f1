"""The guard's backend on the local DR lab: the lab's saved plan for roles, supervisord for the region's
members, the lab's failover Deployment for promotion (drkit.failover.lab).

The guard runs as a supervisor program inside its region's network namespace (drkit.sandbox.configs), so
what cuts the region off cuts its guard off too; it reaches the region's members and supervisord from there.
"""

from __future__ import annotations

from pathlib import Path

from drkit.failover import registry
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.guard import PAUSED, Guard, PromotionStoppedError, Timing, Witness, log_engine_step
from drkit.failover.lab import lab_deployment
from drkit.sandbox import roles
from drkit.sandbox.lab import Lab


class LabGuardBackend:
    """One region of the lab in `lab_dir`. The lab is read again every turn (refresh): a CLI run in another
    process may have changed the roles since."""

    def __init__(self, lab_dir: Path, region: str) -> None:
        self.lab_dir = lab_dir
        self.region = region
        self.lab = Lab.existing(lab_dir)

    @property
    def max_lag(self) -> float:
        return self.lab.plan.max_lag_s

    def refresh(self) -> None:
        self.lab = Lab.existing(self.lab_dir)

    def role(self) -> str:
        return next(region.role for region in self.lab.plan.regions if region.name == self.region)

    def epoch(self) -> int:
        return roles.load_epoch(self.lab.paths.root)

    def paused(self) -> bool:
        return (self.lab.paths.root / "guards" / PAUSED).exists()

    def leads(self) -> bool:
        return True  # one guard per region, next to (and acting for) all of its members

    def _own(self) -> registry.Cluster:
        region = self.lab.plan.region(self.region)
        assert region is not None
        return registry.Cluster(self.region, tuple(member.client_url for member in region.members))

    def own_healthy(self, timeout: float) -> bool:
        return registry.health(self._own(), timeout=timeout).has_quorum

    def stop_own_members(self) -> None:
        self._members(start=False)

    def start_own_members(self) -> None:
        self._members(start=True)

    def _members(self, start: bool) -> None:
        region = self.lab.plan.region(self.region)
        assert region is not None
        for member in region.members:
            if start:
                self.lab.supervisor.start_program(member.program, wait=False)
            else:
                self.lab.supervisor.stop_program(member.program)

    def newest_heartbeat(self) -> float | None:
        return registry.read_heartbeat(self._own())

    def promote(self) -> str:
        deployment = lab_deployment(self.lab, through_endpoint=False)
        try:
            report = carry_out(deployment, Request("failover", self.region, confirm=True), log_engine_step)
        except (FailoverRefusedError, registry.RegistryError) as error:
            raise PromotionStoppedError(str(error)) from None
        return report.message


def lab_guard(lab_dir: Path, region: str, timing: Timing) -> Guard:
    """The guard of `region` in the lab at `lab_dir`, reaching the witness as that region does."""
    backend = LabGuardBackend(lab_dir, region)
    plan = backend.lab.plan
    return Guard(backend, region, Witness(plan.witness_url_for(region), plan.stack, timing), timing)
