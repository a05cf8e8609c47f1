"""Estimated against objective RTO/RPO per disruption type, as rows every report format shares."""

from __future__ import annotations

from dataclasses import dataclass

from drkit.spec.model import DISRUPTIONS
from drkit.validate import StackReport


@dataclass(frozen=True)
class Comparison:
    disruption: str
    measure: str  # "rto" or "rpo"
    estimate: float | None
    objective: float
    basis: str

    @property
    def ok(self) -> bool:
        return self.estimate is not None and self.estimate <= self.objective


def comparisons(report: StackReport) -> list[Comparison]:
    rows = []
    for disruption in DISRUPTIONS:
        estimate = report.estimates.get(disruption)
        objective = report.objectives.get(disruption)
        if estimate is None or objective is None:
            continue
        rows.append(Comparison(disruption, "rto", estimate.rto, objective.rto, estimate.rto_basis))
        rows.append(Comparison(disruption, "rpo", estimate.rpo, objective.rpo, estimate.rpo_basis))
    return rows
