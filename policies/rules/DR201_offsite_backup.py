"""DR201: a backup copy outside the primary region."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR201",
    name="Ensure a backup copy lives outside the primary region",
    category="backup",
    severity="high",
    remediation="Add an S3 target with replicaRegion set to another region, or an rsync target whose region "
    "is not the primary.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Backups kept only in the primary region are lost with it. A copy counts as outside when the target
    lives in another region (rsync region, S3 bucket region) or replicates there (S3 replicaRegion). An
    rsync target without a region is assumed to be in the primary region."""
    backups = ctx.spec.backups
    if backups is None:
        yield Finding("no backups are configured", ())
        return
    primary = ctx.spec.primary.name
    for target in backups.targets:
        if target.region != primary or (target.replica_region and target.replica_region != primary):
            return
    yield Finding(f"every backup target is in the primary region {primary}", ("backups", "targets"))
