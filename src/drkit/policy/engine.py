"""Run every rule over one spec, apply the tier's mandatory/advisory split and the stack's waivers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from drkit.errors import KeyPath, Location
from drkit.policy.rule import Rule, RuleContext
from drkit.spec.model import Waiver

Status = Literal["pass", "fail", "waived", "advisory"]


@dataclass(frozen=True)
class LocatedFinding:
    message: str
    path: KeyPath
    location: Location


@dataclass(frozen=True)
class RuleResult:
    """pass; fail (mandatory for the tier, not waived); advisory (failed, not mandatory); waived."""

    rule: Rule
    status: Status
    findings: tuple[LocatedFinding, ...] = ()
    waiver: Waiver | None = None


def evaluate(
    rules: tuple[Rule, ...], context: RuleContext, locate: Callable[[KeyPath], Location]
) -> tuple[tuple[RuleResult, ...], tuple[Waiver, ...]]:
    """Results per rule, and the waivers that silenced nothing (worth removing)."""
    current = {w.rule: w for w in context.spec.waivers if w.expires >= context.today}
    used: set[str] = set()
    results = []
    for rule in rules:
        findings = tuple(
            LocatedFinding(finding.message, finding.path, locate(finding.path)) for finding in rule.findings(context)
        )
        if not findings:
            results.append(RuleResult(rule, "pass"))
            continue
        waiver = current.get(rule.id) if rule.waivable else None
        if waiver is not None:
            used.add(rule.id)
            results.append(RuleResult(rule, "waived", findings, waiver))
        elif context.tier.is_mandatory(rule.id):
            results.append(RuleResult(rule, "fail", findings))
        else:
            results.append(RuleResult(rule, "advisory", findings))
    unused = tuple(waiver for rule_id, waiver in current.items() if rule_id not in used)
    return tuple(results), unused
