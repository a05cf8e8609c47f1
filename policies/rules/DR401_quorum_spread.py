"""DR401: the members as built keep quorum when any one AZ is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from drkit.policy import Finding, ResourceContext, rule
from drkit.provision import tags

INSTANCE = "aws:ec2/instance:Instance"
GCE_INSTANCE = "gcp:compute/instance:Instance"


@rule(
    id="DR401",
    scope="resources",
    name="Ensure the members as built keep quorum when any one availability zone (GCP: zone) is lost",
    category="availability",
    severity="high",
    remediation="Spread each region's members over at least 3 AZs or zones (availabilityZones: 3), so no zone holds"
    " enough members to break quorum; with existing subnets, give one subnet per AZ; on GCP name distinct zones.",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """Counts the member instances of each region (EC2 instances by AZ, GCE instances by zone; drkit's tags,
    or on GCP its labels, say which are members) by the AZ they are placed in. Losing the fullest AZ must
    leave members // 2 + 1 of them. This is DR002 checked on the instances themselves, so a placement bug
    (every member in one subnet, a wrong AZ) fails even when the spec is right."""
    by_region: dict[str, list[tuple[str | None, str]]] = {}
    for instance in [*ctx.tagged(INSTANCE, "member"), *ctx.tagged(GCE_INSTANCE, "member")]:
        region = instance.tags.get(tags.REGION) or instance.region or "?"
        by_region.setdefault(region, []).append((instance.az, instance.urn))
    for region, members in sorted(by_region.items()):
        per_az = Counter(az or "unknown AZ" for az, _ in members)
        fullest, largest = per_az.most_common(1)[0]
        quorum = len(members) // 2 + 1
        if len(per_az) > 1 and len(members) - largest >= quorum:
            continue
        spread = ", ".join(f"{az}: {count}" for az, count in sorted(per_az.items()))
        urn = next(urn for az, urn in members if (az or "unknown AZ") == fullest)
        yield Finding(
            f"region {region}: {len(members)} members over {len(per_az)} AZ(s) ({spread}); losing {fullest} leaves"
            f" {len(members) - largest}, below quorum {quorum}",
            urn=urn,
        )
