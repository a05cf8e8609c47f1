"""Which region of a lab is primary, which are standbys, and which are fenced after a failover.

The spec names the first primary; after that the lab's saved plan (lab.json) is the record: a switchover or
failover rewrites the roles there, and every config the lab writes (mirrors, heartbeat, inventory) follows.
A fenced region is an old primary that lost a failover: it must not serve, nor be mirrored into, until
`drkit failback` has moved its data aside and re-seeded it as a standby.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from drkit.sandbox.plan import LabPlan, RegionPlan

PRIMARY, STANDBY, FENCED = "primary", "standby", "fenced"


def _with_role(region: RegionPlan, role: str) -> RegionPlan:
    return replace(region, role=role, members=tuple(replace(member, role=role) for member in region.members))


def with_roles(plan: LabPlan, roles: dict[str, str]) -> LabPlan:
    """The plan with the given regions' roles changed (others unchanged)."""
    return replace(plan, regions=tuple(_with_role(r, roles.get(r.name, r.role)) for r in plan.regions))


def fenced(plan: LabPlan) -> list[str]:
    return [region.name for region in plan.regions if region.role == FENCED]


def load_epoch(root: Path) -> int:
    """The lab's failover epoch: 1 until the first promotion."""
    try:
        return int(json.loads((root / "epoch.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1


def save_epoch(root: Path, epoch: int) -> None:
    (root / "epoch.json").write_text(json.dumps({"epoch": epoch}) + "\n")
