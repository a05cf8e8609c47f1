"""Judge the version `drkit upgrade` moves a stack to with the stack's own policy rules and waivers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from drkit.errors import Location
from drkit.estimates import estimate_all
from drkit.policy.catalog import PolicySet
from drkit.policy.engine import evaluate
from drkit.policy.rule import RuleContext
from drkit.spec.model import Spec


@dataclass(frozen=True)
class TargetVerdict:
    """`refusals`: why the target is not acceptable (empty when it is); `waivers`: the waivers that accept
    a target the rules flag, as "DRxxx waived until <date>: <reason>"."""

    refusals: tuple[str, ...]
    waivers: tuple[str, ...]


def judge_target(spec: Spec, policies: PolicySet, target: str, today: date) -> TargetVerdict:
    """Every rule that judges upgrade targets (DR101: known data-inconsistency bugs, unknown releases), run
    over the spec as it would be after the upgrade, with the stack's waivers applied as `validate` does."""
    after = replace(spec, registry=replace(spec.registry, version=target))
    rules = tuple(rule for rule in policies.rules if rule.judges_upgrade_targets)
    context = RuleContext(after, policies.tiers[spec.tier], estimate_all(after), policies.releases, today)
    results, _ = evaluate(rules, context, lambda _: Location("", 0, 0))
    refusals, waivers = [], []
    for result in results:
        messages = "; ".join(finding.message for finding in result.findings)
        if result.status == "waived" and result.waiver is not None:
            waivers.append(f"{result.rule.id} waived until {result.waiver.expires}: {result.waiver.reason}")
        elif result.status in ("fail", "advisory"):
            refusals.append(f"{messages} (policy {result.rule.id})")
    return TargetVerdict(tuple(refusals), tuple(waivers))
