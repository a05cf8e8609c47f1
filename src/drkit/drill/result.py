"""What one drill run measured and how it is judged: the figures, the checks, and why it failed if it did."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from drkit.drill.measure import Registrations
from drkit.spec.units import format_duration

# The spec's disruption whose objectives each drill kind is judged against.
OBJECTIVE_OF = {
    "restore": "data",
    "member": "member",
    "leader": "member",
    "az": "az",
    "region": "region",
    "partition": "region",
    "lag": "region",  # the mirror's lag is what a region loss costs: the region RPO
}


@dataclass(frozen=True)
class Marker:
    at: float  # seconds since the workload started
    label: str


@dataclass
class DrillRun:
    kind: str
    stack: str
    objective: str  # the spec's disruption type
    objective_rto: float
    objective_rpo: float
    fault: str  # what was broken, in words
    actions: list[str]  # what the drill did, in order
    serving_region: str  # the region serving writes afterwards
    started_utc: str
    rto_seconds: float | None  # None: no write was acknowledged after the fault
    rpo_seconds: float
    acked: int
    failed: int
    lost: int
    lost_keys: list[str]
    registrations: Registrations
    hashes: dict[str, int]
    split_brain: int  # acknowledgements through the endpoint by a cluster not primary for that epoch
    old_primary_acks_after_fence: int | None = None  # partition: a client next to the isolated old primary
    constants: dict[str, float] = field(default_factory=dict)  # calibration: measured seconds or MiB/s
    markers: list[Marker] = field(default_factory=list)
    timeline: list[tuple[float, float, bool]] = field(default_factory=list)  # (sent at, seconds, acknowledged)
    failed_checks: list[str] = field(default_factory=list)  # a drill kind's own checks that failed, in words
    # lag: the worst mirror lag probed under the delay, replication.maxLag, the delay each way, and every probe
    # (seconds after the delay went on, lag; None: not arrived within the probe's timeout)
    lag_seconds: float | None = None
    max_lag_seconds: float | None = None
    delay_seconds: float | None = None
    lag_samples: list[tuple[float, float | None]] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return len(set(self.hashes.values())) == 1

    @property
    def reasons(self) -> list[str]:
        """Why the run failed, one sentence per missed objective or check (empty: it passed)."""
        why = list(self.failed_checks)
        if self.rto_seconds is None:
            why.append("no write was acknowledged through the endpoint after the fault")
        elif self.rto_seconds > self.objective_rto:
            why.append(
                f"RTO {self.rto_seconds:.2f}s missed the {self.objective} objective of"
                f" {format_duration(self.objective_rto)}"
            )
        if self.rpo_seconds > self.objective_rpo:
            why.append(
                f"RPO {self.rpo_seconds:.2f}s missed the {self.objective} objective of"
                f" {format_duration(self.objective_rpo)}"
            )
        if self.lost and self.objective_rpo == 0:
            why.append(f"{self.lost} acknowledged writes lost (objective RPO 0s): {', '.join(self.lost_keys[:5])}")
        r = self.registrations
        if r.live_kept != r.live:
            why.append(f"only {r.live_kept} of {r.live} live instances still registered")
        if r.dead_expired != r.dead:
            why.append(f"{r.dead - r.dead_expired} of {r.dead} dead instances still registered past leaseTtl")
        if not self.consistent:
            why.append(f"hashkv differs across {self.serving_region}'s members: {self.hashes}")
        if self.split_brain:
            why.append(f"split brain: {self.split_brain} writes acknowledged by a cluster not primary for the epoch")
        if self.old_primary_acks_after_fence:
            why.append(f"the isolated old primary acknowledged {self.old_primary_acks_after_fence} writes after")
        return why

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_json(self, with_timeline: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_timeline:
            data.pop("timeline")
        return {**data, "consistent": self.consistent, "passed": self.passed, "reasons": self.reasons}
