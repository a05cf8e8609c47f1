"""DR002: quorum survives the loss of one AZ."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR002",
    name="Ensure quorum survives the loss of any one availability zone",
    category="availability",
    severity="high",
    remediation="Spread the members over more AZs (3 AZs for 3 or 5 members), or add members so no AZ holds "
    "enough of them to break quorum.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Members are placed round-robin over the region's AZs, so the fullest AZ holds ceil(members / AZs).
    Losing that AZ must leave a quorum (members // 2 + 1). It applies to standby regions too: a standby
    becomes the primary after a failover."""
    for region in ctx.spec.regions:
        if region.survives_az_loss:
            continue
        left = region.members - region.largest_az_share
        if region.availability_zones == 1:
            detail = f"all {region.members} members are in one AZ"
        else:
            detail = (
                f"{region.members} members over {region.availability_zones} AZs puts {region.largest_az_share}"
                f" in one AZ; losing it leaves {left}, below quorum {region.quorum}"
            )
        yield Finding(f"region {region.name}: {detail}", ("regions", region.index, "availabilityZones"))
