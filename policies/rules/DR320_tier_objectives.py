"""DR320: objectives no looser than the tier allows."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule
from drkit.spec.model import DISRUPTIONS
from drkit.spec.units import format_duration


@rule(
    id="DR320",
    name="Ensure the declared objectives are at least as strict as the tier requires",
    category="objectives",
    severity="medium",
    remediation="Tighten the objective to the tier's value (policies/tiers/<tier>.yaml), or change the tier.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A tier is a promise to the teams that depend on the registry: a critical registry may not declare a
    day of RPO. The tier preset lists the loosest objective per disruption type."""
    for disruption in DISRUPTIONS:
        declared = ctx.spec.objectives[disruption]
        ceiling = ctx.tier.objectives[disruption]
        for measure in ("rto", "rpo"):
            value, limit = getattr(declared, measure), getattr(ceiling, measure)
            if value > limit:
                yield Finding(
                    f"{disruption} {measure.upper()} {format_duration(value)} is looser than tier"
                    f" {ctx.tier.name} allows ({format_duration(limit)})",
                    ("objectives", disruption, measure),
                )
