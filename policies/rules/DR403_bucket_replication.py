"""DR403: every backup bucket is versioned and replicated to a bucket in another region."""

from __future__ import annotations

from collections.abc import Iterator

from drkit.policy import Finding, ResourceContext, rule
from drkit.provision import tags
from drkit.provision.resources import PlannedResource

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@rule(
    id="DR403",
    scope="resources",
    name="Ensure every backup bucket is replicated to a bucket in another region",
    category="backup",
    severity="high",
    remediation="Give the s3 backup target a replicaRegion other than its own region; the program then builds the"
    " replica bucket, versioning on both and the replication configuration (with RTC when"
    " replicationTimeControl is true).",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """For each bucket tagged as a backup bucket: versioning is Enabled (S3 replicates only versioned
    buckets), a replication configuration with an Enabled rule sends it to a bucket whose region differs
    from its own, and when the spec's target asks for replicationTimeControl, that rule has Replication
    Time Control enabled."""
    buckets = {str(bucket.props.get("bucket", bucket.name)): bucket for bucket in ctx.of_type(BUCKET)}
    versioned = {
        str(v.props.get("bucket"))
        for v in ctx.of_type(VERSIONING)
        if v.prop("versioningConfiguration", "status") == "Enabled"
    }
    replications = {str(r.props.get("bucket")): r for r in ctx.of_type(REPLICATION)}
    for name, bucket in sorted(buckets.items()):
        if bucket.tags.get(tags.ROLE) != "backup":
            continue
        if name not in versioned:
            yield Finding(f"backup bucket {name} is not versioned, so S3 cannot replicate it", urn=bucket.urn)
        config = replications.get(name)
        if config is None:
            yield Finding(f"backup bucket {name} is not replicated to another region", urn=bucket.urn)
            continue
        yield from _rules(ctx, name, bucket, config, buckets)


def _rules(
    ctx: ResourceContext,
    name: str,
    bucket: PlannedResource,
    config: PlannedResource,
    buckets: dict[str, PlannedResource],
) -> Iterator[Finding]:
    enabled = [entry for entry in config.props.get("rules") or [] if entry.get("status") == "Enabled"]
    elsewhere = []
    for entry in enabled:
        destination = str((entry.get("destination") or {}).get("bucket", "")).removeprefix("arn:aws:s3:::")
        target = buckets.get(destination)
        if target is not None and target.region and target.region != bucket.region:
            elsewhere.append(entry)
    if not elsewhere:
        yield Finding(
            f"backup bucket {name} replicates to no bucket of this stack in another region than {bucket.region}",
            urn=config.urn,
        )
        return
    if _wants_rtc(ctx, bucket) and not any(
        ((entry.get("destination") or {}).get("replicationTime") or {}).get("status") == "Enabled"
        for entry in elsewhere
    ):
        yield Finding(
            f"backup bucket {name}: the spec asks for replicationTimeControl, the replication rule has none",
            urn=config.urn,
        )


def _wants_rtc(ctx: ResourceContext, bucket: PlannedResource) -> bool:
    index = bucket.tags.get(tags.BACKUP_TARGET)
    targets = ctx.spec.backups.targets if ctx.spec.backups else ()
    if index is None or not index.isdigit() or int(index) >= len(targets):
        return any(target.replication_time_control for target in targets)
    return targets[int(index)].replication_time_control
