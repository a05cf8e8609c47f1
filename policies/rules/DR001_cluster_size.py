"""DR001: cluster size."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR001",
    name="Ensure every cluster has an odd number of members, at least 3 (5 for critical)",
    category="availability",
    severity="high",
    remediation="Set registry.members (or the region's members) to an odd number at or above the tier's minimum.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """An even member count adds a machine without adding a tolerated failure (4 members survive one loss,
    like 3), and fewer than 3 members survive none. The tier preset's minMembers sets the floor: 3, or 5
    for critical so that two members can fail at once."""
    # Regions that share registry.members get one finding at that key, naming them all.
    by_key: dict[tuple[str | int, ...], list[str]] = {}
    problems_at: dict[tuple[str | int, ...], list[str]] = {}
    for region in ctx.spec.regions:
        problems = []
        if region.members % 2 == 0:
            fewer = region.members - 1
            problems.append(
                f"{region.members} members (even) survive no more failures than {fewer}"
                f" member{'s do' if fewer != 1 else ' does'}"
            )
        if region.members < ctx.tier.min_members:
            problems.append(f"tier {ctx.tier.name} needs at least {ctx.tier.min_members} members, got {region.members}")
        if problems:
            by_key.setdefault(region.members_path, []).append(region.name)
            problems_at[region.members_path] = problems
    for path, names in by_key.items():
        noun = "region" if len(names) == 1 else "regions"
        yield Finding(f"{noun} {', '.join(names)}: " + "; ".join(problems_at[path]), path)
