"""One deployment as the failover engine sees it: its regions and their roles, how to reach each region's
cluster, the control plane that fences and promotes, and what the spec asks (lag, leases, objectives)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from drkit.failover.control import ControlPlane
from drkit.failover.registry import Cluster

SaveRoles = Callable[[Mapping[str, str], int], None]  # region -> new role, the deployment's epoch


@dataclass
class Deployment:
    stack: str
    regions: tuple[str, ...]  # spec order
    roles: Mapping[str, str]  # region -> primary, standby or fenced
    epoch: int  # the current epoch (1 until the first promotion)
    control: ControlPlane
    clusters: Mapping[str, Cluster]  # region -> how to reach its members
    endpoint: Cluster | None  # the global endpoint as clients reach it (None: probe the promoted region)
    mirrored: bool  # replication.mode is mirror: a standby holds the primary's data
    max_lag: float
    ephemeral_prefixes: tuple[str, ...]
    lease_ttl: int
    objective_rto: float
    objective_rpo: float
    state_dir: Path  # where the journal and its history live
    save_roles: SaveRoles

    @property
    def primary(self) -> str:
        return next(region for region in self.regions if self.roles[region] == "primary")

    @property
    def standbys(self) -> list[str]:
        return [region for region in self.regions if self.roles[region] == "standby"]

    @property
    def fenced(self) -> list[str]:
        return [region for region in self.regions if self.roles[region] == "fenced"]
