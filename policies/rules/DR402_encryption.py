"""DR402: registry data volumes and backup buckets are encrypted."""

from __future__ import annotations

from collections.abc import Iterator

from drkit.policy import Finding, ResourceContext, rule

VOLUME = "aws:ebs/volume:Volume"
INSTANCE = "aws:ec2/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
_KMS = ("aws:kms", "aws:kms:dsse")
GCE_DISK = "gcp:compute/disk:Disk"
GCE_INSTANCE = "gcp:compute/instance:Instance"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCP_SECRET = "gcp:secretmanager/secret:Secret"


@rule(
    id="DR402",
    scope="resources",
    name="Ensure registry data volumes and backup buckets are encrypted with KMS (GCP: CMEK)",
    category="security",
    severity="high",
    remediation="Set encrypted: true on every EBS volume and root block device, and give every bucket a server-side"
    " encryption configuration with sse_algorithm aws:kms; on GCP give every persistent disk, boot disk, GCS"
    " bucket and Secret Manager replica a Cloud KMS key (CMEK).",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """Every EBS volume and every instance root device has encrypted: true; every S3 bucket has a server-side
    encryption configuration (matched by bucket name) whose default algorithm is aws:kms or aws:kms:dsse.
    Snapshots hold every registered service and its address: they are as sensitive as the cluster. On GCP,
    Google's default encryption leaves the key with Google: every persistent disk (diskEncryptionKey), every
    instance's boot disk, every GCS bucket (encryption.defaultKmsKeyName) and every Secret Manager replica
    (customerManagedEncryption) names a Cloud KMS key of the stack (CMEK), so revoking it locks the data."""
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
    yield from _gcp(ctx)
    for bucket in ctx.of_type(BUCKET):
        name = str(bucket.props.get("bucket", bucket.name))
        used = algorithms.get(name, set())
        if not used:
            yield Finding(f"bucket {name} has no server-side encryption configuration", urn=bucket.urn)
        elif not used & set(_KMS):
            yield Finding(f"bucket {name} is encrypted with {', '.join(sorted(used))}, not KMS", urn=bucket.urn)


def _gcp(ctx: ResourceContext) -> Iterator[Finding]:
    for disk in ctx.of_type(GCE_DISK):
        if not disk.prop("diskEncryptionKey", "kmsKeySelfLink"):
            yield Finding(f"persistent disk {disk.name} has no customer-managed key (CMEK)", urn=disk.urn)
    for instance in ctx.of_type(GCE_INSTANCE):
        if not instance.prop("bootDisk", "kmsKeySelfLink"):
            yield Finding(
                f"instance {instance.name}: the boot disk has no customer-managed key (CMEK)", urn=instance.urn
            )
    for bucket in ctx.of_type(GCS_BUCKET):
        if not bucket.prop("encryption", "defaultKmsKeyName"):
            yield Finding(f"GCS bucket {bucket.props.get('name', bucket.name)} has no default KMS key", urn=bucket.urn)
    for holder in ctx.of_type(GCP_SECRET):
        replicas = holder.prop("replication", "userManaged", "replicas") or []
        if not replicas or not all((r.get("customerManagedEncryption") or {}).get("kmsKeyName") for r in replicas):
            yield Finding(f"secret {holder.name} is not encrypted with a customer-managed key", urn=holder.urn)
