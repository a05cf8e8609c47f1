"""DR203: retention reaches back far enough."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule
from drkit.spec.units import format_duration


@rule(
    id="DR203",
    name="Ensure retained backups reach back at least 7 days",
    category="backup",
    severity="medium",
    remediation="Raise backups.retention (daily: 7 or weekly: 1 reach back 7 days).",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Corruption and operator errors are often found days later; the oldest kept snapshot must predate
    them. The reach is the longest of hourly x 1h, daily x 1d and weekly x 7d, and must be at least the
    tier's minRetention (7 days in every shipped tier)."""
    backups = ctx.spec.backups
    if backups is None:
        return
    span = backups.retention.span_seconds
    if span < ctx.tier.min_retention:
        yield Finding(
            f"retention reaches back {format_duration(span)}, tier {ctx.tier.name} needs"
            f" {format_duration(ctx.tier.min_retention)}",
            ("backups", "retention"),
        )
