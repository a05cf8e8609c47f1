"""Tier presets (policies/tiers/<tier>.yaml): objective ceilings and defaults, minimums, advisory rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drkit.spec.model import DISRUPTIONS, Objective
from drkit.spec.units import parse_duration


@dataclass(frozen=True)
class TierPreset:
    name: str
    description: str
    objectives: dict[str, Objective]
    min_members: int
    min_retention: float
    advisory: frozenset[str]

    def is_mandatory(self, rule_id: str) -> bool:
        return rule_id not in self.advisory

    @classmethod
    def from_data(cls, name: str, data: dict[str, Any]) -> TierPreset:
        """From a preset file already checked against policies/schema/tier-preset.schema.json."""
        return cls(
            name=name,
            description=data["description"],
            objectives={
                disruption: Objective(
                    rto=parse_duration(data["objectives"][disruption]["rto"]),
                    rpo=parse_duration(data["objectives"][disruption]["rpo"]),
                )
                for disruption in DISRUPTIONS
            },
            min_members=data["minMembers"],
            min_retention=parse_duration(data["minRetention"]),
            advisory=frozenset(data["advisory"]),
        )
