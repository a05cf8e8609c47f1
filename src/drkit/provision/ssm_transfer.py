"""The bucket Ansible's SSM connection moves files through, one per region with members.

Members have no open SSH port and no public address; they run the SSM agent (their role has
AmazonSSMManagedInstanceCore). Ansible reaches them with the amazon.aws.aws_ssm connection, which sends
commands over Session Manager and files through an S3 bucket: the controller uploads, and the member fetches
with a presigned URL the controller signs (and the reverse for fetches), so the members need no IAM grant
on this bucket, only their existing 443 egress; the controller's user needs s3:PutObject/GetObject/
DeleteObject on it and kms:Encrypt/Decrypt/GenerateDataKey on the region's registry key. What passes
through it is transient (module payloads, snapshots a playbook fetches): objects expire after a day, the
bucket holds no data anyone needs to keep, and `pulumi destroy` may empty and delete it (force_destroy),
unlike the backup buckets.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from drkit.provision import tags
from drkit.provision.backup_vault import MAX_BUCKET_NAME, deny_insecure_transport
from drkit.provision.errors import ProvisionError
from drkit.provision.stack_config import BACKUP_BUCKET_PREFIX

# Session Manager payloads and fetched files are gone long before this; it only bounds what a failed run
# leaves behind.
EXPIRE_DAYS = 1


def transfer_bucket_name(prefix: str, region: str) -> str:
    """Beside the region's backup bucket names (the same account-scoped prefix), with an -ssm suffix."""
    name = f"{prefix}-{region}-ssm"
    if len(name) > MAX_BUCKET_NAME:
        raise ProvisionError(
            f"SSM transfer bucket name {name} is {len(name)} characters, S3 allows {MAX_BUCKET_NAME}: set a shorter"
            f" drkit:{BACKUP_BUCKET_PREFIX} in the stack config"
        )
    return name


def transfer_bucket(
    stack: str, region: str, prefix: str, key_arn: pulumi.Input[str], parent: pulumi.Resource, provider: aws.Provider
) -> aws.s3.Bucket:
    name = transfer_bucket_name(prefix, region)
    labels = tags.tags(stack, region, "ssm-transfer", name)

    def opts(*depends: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends))

    bucket = aws.s3.Bucket(name, bucket=name, force_destroy=True, tags=labels, opts=opts())
    # The region's registry key by default (DR402: every bucket KMS-encrypted): the controller uploads without
    # SSE headers and S3 applies it; a member's presigned fetch decrypts with the signer's (the operator's)
    # rights, so the operator needs kms:Decrypt on that key, the members nothing more.
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=name,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn},
                "bucket_key_enabled": True,
            }
        ],
        opts=opts(bucket),
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=name,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts(bucket),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=name, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts(bucket)
    )
    aws.s3.BucketPolicy(f"{name}-policy", bucket=name, policy=deny_insecure_transport(name), opts=opts(bucket))
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=name,
        rules=[
            {
                "id": "transient",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": EXPIRE_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": EXPIRE_DAYS},
            }
        ],
        opts=opts(bucket),
    )
    return bucket
