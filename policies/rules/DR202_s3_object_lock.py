"""DR202: S3 Object Lock on backup buckets."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR202",
    name="Ensure S3 backup targets use Object Lock",
    category="backup",
    severity="medium",
    remediation="Set objectLock (for example 30d) on each S3 target; mandatory for the critical tier.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Object Lock keeps snapshots from being deleted or overwritten for its retention period, by an
    attacker with the account's keys or by a buggy retention job. Mandatory for critical; advisory below."""
    if ctx.spec.backups is None:
        return
    for target in ctx.spec.backups.targets:
        if target.type == "s3" and target.object_lock is None:
            yield Finding("S3 target without objectLock", ("backups", "targets", target.index))
