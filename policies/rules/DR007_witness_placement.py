"""DR007: the witness lives in its own place, as many places as its placement needs."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule

# How many witness regions each placement runs in: one member, a three-member cluster, the lab's own process.
REGION_COUNTS = {"region": 1, "cluster": 3, "lab": 0}


@rule(
    id="DR007",
    name="Ensure the witness runs apart from the primary and standby regions, in as many regions as its placement",
    category="availability",
    severity="high",
    remediation=(
        "List witness.regions distinct from each other and from every primary and standby region: exactly 1 for"
        " placement region, 3 for cluster, none for lab (which only the lab's local regions can use)."
    ),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A witness that shares a region with the primary or a standby is lost with it: the outage it should
    arbitrate takes away the vote that decides it (with the primary's region, the standby can never promote;
    with the standby's, the primary self-fences). A three-member witness cluster in two regions loses quorum
    when the region holding two of them fails. placement lab is the DR lab's own witness process, which no
    cloud region can reach; region and cluster are provisioned in the cloud and cannot serve the lab."""
    witness = ctx.spec.recovery.witness
    if witness is None:
        return
    base = ("recovery", "witness")
    wanted = REGION_COUNTS[witness.placement]
    local = [region.name for region in ctx.spec.regions if region.provider == "local"]
    if witness.placement == "lab" and len(local) != len(ctx.spec.regions):
        yield Finding(
            "witness placement lab is the DR lab's own witness process, but this stack has cloud regions: use"
            " placement region or cluster",
            (*base, "placement"),
        )
    if witness.placement != "lab" and local:
        yield Finding(
            f"witness placement {witness.placement} is provisioned in the cloud, but {', '.join(local)} are the"
            " lab's local regions: use placement lab",
            (*base, "placement"),
        )
    if len(witness.regions) != wanted:
        need = {0: "no regions", 1: "exactly 1 region", 3: "exactly 3 regions"}[wanted]
        yield Finding(
            f"witness placement {witness.placement} needs {need} in witness.regions, got {len(witness.regions)}",
            (*base, "regions"),
        )
    roles = {region.name: region.role for region in ctx.spec.regions}
    seen: set[str] = set()
    for index, name in enumerate(witness.regions):
        if name in roles:
            yield Finding(
                f"witness region {name} is the {roles[name]} region: losing that region would take the witness with it",
                (*base, "regions", index),
            )
        elif name in seen:
            yield Finding(
                f"witness region {name} is listed twice: the witness members there fail together",
                (*base, "regions", index),
            )
        seen.add(name)
