"""Several runs of one drill kind summed up: the spread of RTO and RPO, every lost acknowledged write, and a
verdict per run (the way etcd's robustness tests count lost writes over many runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drkit.drill import measure
from drkit.drill.result import DrillRun


@dataclass(frozen=True)
class Summary:
    kind: str
    stack: str
    runs: list[DrillRun]
    objective_overridden: bool = False  # judged against --objective-rto/--objective-rpo, not the spec's

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

    @property
    def rto(self) -> measure.Spread | None:
        values = [run.rto_seconds for run in self.runs if run.rto_seconds is not None]
        return measure.spread(values) if values else None

    @property
    def rpo(self) -> measure.Spread:
        return measure.spread([run.rpo_seconds for run in self.runs])

    @property
    def lost(self) -> int:
        return sum(run.lost for run in self.runs)

    @property
    def reasons(self) -> list[str]:
        return [f"run {index}: {why}" for index, run in enumerate(self.runs, 1) for why in run.reasons]

    @property
    def worst(self) -> DrillRun:
        """The run with the longest RTO (no recovery at all counts longest): the one a timeline shows."""
        return max(self.runs, key=lambda run: float("inf") if run.rto_seconds is None else run.rto_seconds)

    def to_json(self, with_timeline: bool = False) -> dict[str, Any]:
        first = self.runs[0]
        return {
            "kind": self.kind,
            "stack": self.stack,
            "objective": first.objective,
            "objectiveRto": first.objective_rto,
            "objectiveRpo": first.objective_rpo,
            "objectiveOverridden": self.objective_overridden,
            "passed": self.passed,
            "reasons": self.reasons,
            "rto": None if self.rto is None else vars(self.rto),
            "rpo": vars(self.rpo),
            "lostAcknowledgedWrites": self.lost,
            "acknowledgedWrites": sum(run.acked for run in self.runs),
            "runs": [run.to_json(with_timeline) for run in self.runs],
        }
