"""DR202: backups cannot be deleted early: S3 Object Lock, or a GCS retention policy (locked for critical)."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR202",
    name="Ensure bucket backup targets cannot delete snapshots early (S3 Object Lock, GCS retention policy)",
    category="backup",
    severity="medium",
    remediation="Set objectLock (for example 30d) on each S3 target and retentionPolicy on each GCS target, with"
    " lockRetentionPolicy: true on the critical tier; mandatory for the critical tier.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Object Lock (S3) and a retention policy (GCS) keep snapshots from being deleted or overwritten for
    their retention period, by an attacker with the account's keys or by a buggy retention job. A GCS
    retention policy that is not locked can still be removed by anyone allowed to change the bucket, so the
    critical tier also asks for bucket lock (lockRetentionPolicy). Mandatory for critical; advisory below."""
    if ctx.spec.backups is None:
        return
    for target in ctx.spec.backups.targets:
        at = ("backups", "targets", target.index)
        if target.type == "s3" and target.object_lock is None:
            yield Finding("S3 target without objectLock", at)
        elif target.type == "gcs" and target.object_lock is None:
            yield Finding("GCS target without retentionPolicy", at)
        elif target.type == "gcs" and ctx.spec.tier == "critical" and not target.retention_locked:
            yield Finding("GCS target's retention policy is not locked (critical tier)", at)
