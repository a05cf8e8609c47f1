"""DR003: standby regions are distinct."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR003",
    name="Ensure every standby region is distinct from the primary and from the other standbys",
    category="availability",
    severity="high",
    remediation="Give each standby its own region, different from the primary's.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A standby in the primary's own region fails with it: it protects against nothing a region outage
    brings. Two standbys in one region are one standby."""
    seen: dict[tuple[str, str], str] = {}
    for region in ctx.spec.regions:
        key = (region.provider, region.name)
        if key in seen:
            yield Finding(
                f"region {region.name} ({region.role}) is the same {region.provider} region as the {seen[key]}",
                ("regions", region.index, "name"),
            )
        else:
            seen[key] = region.role
