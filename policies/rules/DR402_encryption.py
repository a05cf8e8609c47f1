"""DR402: registry data volumes and backup buckets are encrypted."""

from __future__ import annotations

from collections.abc import Iterator

from drkit.policy import Finding, ResourceContext, rule

VOLUME = "aws:ebs/volume:Volume"
INSTANCE = "aws:ec2/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
_KMS = ("aws:kms", "aws:kms:dsse")


@rule(
    id="DR402",
    scope="resources",
    name="Ensure registry data volumes and backup buckets are encrypted with KMS",
    category="security",
    severity="high",
    remediation="Set encrypted: true on every EBS volume and root block device, and give every bucket a server-side"
    " encryption configuration with sse_algorithm aws:kms.",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """Every EBS volume and every instance root device has encrypted: true; every S3 bucket has a server-side
    encryption configuration (matched by bucket name) whose default algorithm is aws:kms or aws:kms:dsse.
    Snapshots hold every registered service and its address: they are as sensitive as the cluster."""
    for volume in ctx.of_type(VOLUME):
        if volume.props.get("encrypted") is not True:
            yield Finding(f"EBS volume {volume.name} is not encrypted", urn=volume.urn)
    for instance in ctx.of_type(INSTANCE):
        if instance.prop("rootBlockDevice", "encrypted") is not True:
            yield Finding(f"instance {instance.name}: the root block device is not encrypted", urn=instance.urn)
    algorithms: dict[str, set[str]] = {}
    for config in ctx.of_type(BUCKET_ENCRYPTION):
        for sse_rule in config.props.get("rules") or []:
            default = sse_rule.get("applyServerSideEncryptionByDefault") or {}
            algorithms.setdefault(str(config.props.get("bucket")), set()).add(str(default.get("sseAlgorithm")))
    for bucket in ctx.of_type(BUCKET):
        name = str(bucket.props.get("bucket", bucket.name))
        used = algorithms.get(name, set())
        if not used:
            yield Finding(f"bucket {name} has no server-side encryption configuration", urn=bucket.urn)
        elif not used & set(_KMS):
            yield Finding(f"bucket {name} is encrypted with {', '.join(sorted(used))}, not KMS", urn=bucket.urn)
