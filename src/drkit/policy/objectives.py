"""One rule shape for every "estimated RTO/RPO within the objective" rule (DR301-DR304, DR311-DR314)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from drkit.policy.rule import Finding, Rule, RuleContext, rule
from drkit.spec.model import Disruption
from drkit.spec.units import format_duration

Measure = Literal["rto", "rpo"]

_DISRUPTION_WORDS = {
    "member": "the loss of one member",
    "az": "the loss of one availability zone",
    "region": "the loss of the primary region",
    "data": "data corruption or operator error",
}
_REMEDIATION = {
    ("member", "rto"): "Run at least 3 members (leader election then takes about 2 x electionTimeout).",
    ("az", "rto"): "Spread members so one AZ's loss keeps quorum (see DR002).",
    ("region", "rto"): "Add a standby region behind a global endpoint, shorten the health check "
    "(interval x failureThreshold), the DNS TTL or promotionTime, or promote automatically.",
    ("data", "rto"): "Shorten recovery.operatorResponse or lower registry.quotaBackendBytes (restore size).",
    ("member", "rpo"): "Run at least 3 members: raft then keeps every committed write.",
    ("az", "rpo"): "Spread members so one AZ's loss keeps quorum (see DR002).",
    ("region", "rpo"): "Mirror to a standby (replication.mode: mirror, maxLag within the objective), or back "
    "up more often to a target outside the primary region.",
    ("data", "rpo"): "Back up more often: the longest gap of backups.schedule bounds the data RPO.",
}


def objective_rule(rule_id: str, disruption: Disruption, measure: Measure) -> Rule:
    """The rule checking that the estimated `measure` of `disruption` is within the spec's objective."""
    words = _DISRUPTION_WORDS[disruption]
    label = measure.upper()

    def check(ctx: RuleContext) -> Iterator[Finding]:
        estimate = ctx.estimates[disruption]
        value = estimate.rto if measure == "rto" else estimate.rpo
        basis = estimate.rto_basis if measure == "rto" else estimate.rpo_basis
        objective = getattr(ctx.spec.objectives[disruption], measure)
        path = ("objectives", disruption, measure)
        source = "" if (disruption, measure) in ctx.spec.written_objectives else f" tier {ctx.tier.name} default"
        if value is None:
            yield Finding(
                f"{words}: no recovery path ({basis});{source} objective {label} {format_duration(objective)}", path
            )
        elif value > objective:
            yield Finding(
                f"{words}: estimated {label} {format_duration(value)} exceeds the{source} objective"
                f" {format_duration(objective)} ({basis})",
                path,
            )

    check.__doc__ = (
        f"The {label} drkit estimates for {words}, from the spec alone (docs/spec-reference.md explains "
        f"each estimate), must be within objectives.{disruption}.{measure} (or the tier's value when the "
        f"spec omits it). No recovery path at all is a failure."
    )
    return rule(
        id=rule_id,
        name=f"Ensure the estimated {label} of {words} is within its objective",
        category="objectives",
        severity="high",
        remediation=_REMEDIATION[(disruption, measure)],
    )(check)
