"""BackupVault: where snapshots go. An S3 bucket (versioned, SSE-KMS, public access blocked, Object Lock per the
spec, lifecycle per retention) and, for the replica region, a replica bucket fed by S3 replication (with
Replication Time Control where the spec asks) through a role of its own.

Snapshot keys are laid out by class, hourly/, daily/ and weekly/, so one lifecycle rule per class keeps as
many of each as the spec's retention says; the backup playbook writes them there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from drkit.provision import stack_config, tags
from drkit.provision.errors import ProvisionError
from drkit.spec.model import BackupTarget, Retention

TYPE = "drkit:provision:BackupVault"
_DAY = 86400.0
SNAPSHOT_CLASSES = ("hourly", "daily", "weekly")


@dataclass(frozen=True)
class BackupVaultArgs:
    stack: str
    target: BackupTarget  # an s3 target of the spec
    retention: Retention


# S3 bucket names: 3-63 characters, one namespace for every AWS account.
MAX_BUCKET_NAME = 63


def default_prefix(stack: str, account: str) -> str:
    """Bucket names are global across accounts: the account ID keeps another organisation's `prod` stack
    (and this one's) from meeting BucketAlreadyExists."""
    return f"drkit-{stack}-backups-{account}"


def bucket_name(prefix: str, region: str, index: int) -> str:
    """Physical names are fixed, not auto-named: the inventory, the rules and humans all need to know them.
    `prefix`: drkit:backupBucketPrefix from the stack config, else default_prefix()."""
    suffix = f"-{index}" if index else ""
    name = f"{prefix}-{region}{suffix}"
    if len(name) > MAX_BUCKET_NAME:
        raise ProvisionError(
            f"backup bucket name {name} is {len(name)} characters, S3 allows {MAX_BUCKET_NAME}: set a shorter"
            f" drkit:{stack_config.BACKUP_BUCKET_PREFIX} in the stack config"
        )
    return name


def account_prefix(stack: str, provider: aws.Provider) -> str:
    configured = stack_config.backup_bucket_prefix()
    if configured:
        return configured
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    return default_prefix(stack, identity.account_id)


def retention_days(retention: Retention) -> dict[str, int]:
    """Days each snapshot class is kept: enough for the spec's count of them, plus one day of slack."""
    return {
        "hourly": math.ceil(retention.hourly / 24) + 1,
        "daily": retention.daily + 1,
        "weekly": retention.weekly * 7 + 1,
    }


def deny_insecure_transport(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def replication_policy(source: str, replica: str, source_key: str, replica_key: str) -> str:
    """What S3 replication needs and nothing more: read the source's versions, write replicas, use both keys."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": f"arn:aws:s3:::{source}",
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold",
            ],
            "Resource": f"arn:aws:s3:::{source}/*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
                "s3:ObjectOwnerOverrideToBucketOwner",
            ],
            "Resource": f"arn:aws:s3:::{replica}/*",
        },
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": source_key},
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": replica_key},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def assume_by_s3() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


class BackupVault(pulumi.ComponentResource):
    bucket_name: str
    bucket_arn: str
    key: aws.kms.Key
    replica_bucket_name: str | None

    def __init__(
        self,
        name: str,
        args: BackupVaultArgs,
        provider: aws.Provider,
        replica_provider: aws.Provider | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.args = args
        target = args.target
        self.region = target.region
        prefix = account_prefix(args.stack, provider)
        self.bucket_name = target.bucket or bucket_name(prefix, target.region, target.index)
        self.bucket_arn = f"arn:aws:s3:::{self.bucket_name}"
        bucket, self.key = self._bucket(self.bucket_name, target.region, provider, role="backup")
        self.replica_bucket_name = None
        outputs: dict[str, Any] = {"bucket": self.bucket_name, "region": target.region}
        if target.replica_region and replica_provider is not None:
            self.replica_bucket_name = bucket_name(prefix, target.replica_region, target.index)
            replica, replica_key = self._bucket(
                self.replica_bucket_name, target.replica_region, replica_provider, role="replica"
            )
            self._replication(bucket, replica, replica_key, provider)
            outputs |= {"replicaBucket": self.replica_bucket_name, "replicaRegion": target.replica_region}
        self.register_outputs(outputs)

    def _opts(self, provider: aws.Provider, *depends: pulumi.Resource, keep: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self,
            provider=provider,
            depends_on=list(depends),
            protect=keep or None,
            retain_on_delete=keep or None,
        )

    def _bucket(
        self, name: str, region: str, provider: aws.Provider, role: str
    ) -> tuple[list[pulumi.Resource], aws.kms.Key]:
        """A bucket and everything that makes it a safe place for snapshots; returns what replication waits on."""
        target = self.args.target
        labels = tags.tags(self.args.stack, region, "backup-vault", name, role=role, target=str(target.index))
        key = aws.kms.Key(
            f"{name}-key",
            description=f"drkit {self.args.stack}: snapshots in {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=labels,
            opts=self._opts(provider, keep=True),
        )
        # Snapshots are what is left when everything else is lost: `pulumi destroy` never takes the bucket or
        # the key its objects are encrypted with (protect stops a destroy or replacement that would; teardown
        # is a deliberate `pulumi state unprotect`, docs/provisioning.md), and retainOnDelete leaves both in AWS
        # when they do leave the stack.
        bucket = aws.s3.Bucket(
            name,
            bucket=name,
            object_lock_enabled=target.object_lock is not None,
            tags=labels,
            opts=self._opts(provider, keep=True),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=name,
            versioning_configuration={"status": "Enabled"},
            opts=self._opts(provider, bucket),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=name,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=self._opts(provider, bucket),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=name,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._opts(provider, bucket),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy", bucket=name, policy=deny_insecure_transport(name), opts=self._opts(provider, bucket)
        )
        if target.object_lock is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=name,
                rule={
                    "default_retention": {
                        "mode": (target.object_lock_mode or "compliance").upper(),
                        "days": max(1, math.ceil(target.object_lock / _DAY)),
                    }
                },
                opts=self._opts(provider, versioning),
            )
        keep = retention_days(self.args.retention)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=name,
            rules=[
                {
                    "id": f"keep-{snapshot_class}",
                    "status": "Enabled",
                    "filter": {"prefix": f"{snapshot_class}/"},
                    "expiration": {"days": keep[snapshot_class]},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
                for snapshot_class in SNAPSHOT_CLASSES
            ],
            opts=self._opts(provider, versioning),
        )
        return [bucket, versioning, encryption], key

    def _replication(
        self,
        source: list[pulumi.Resource],
        replica: list[pulumi.Resource],
        replica_key: aws.kms.Key,
        provider: aws.Provider,
    ) -> None:
        target = self.args.target
        source_name, replica_name = self.bucket_name, str(self.replica_bucket_name)
        labels = tags.tags(self.args.stack, self.region, "backup-vault", f"{source_name}-replication")
        role = aws.iam.Role(
            f"{source_name}-replication", assume_role_policy=assume_by_s3(), tags=labels, opts=self._opts(provider)
        )
        aws.iam.RolePolicy(
            f"{source_name}-replication",
            role=role.id,
            policy=pulumi.Output.all(self.key.arn, replica_key.arn).apply(
                lambda keys: replication_policy(source_name, replica_name, keys[0], keys[1])
            ),
            opts=self._opts(provider),
        )
        destination: aws.s3.BucketReplicationConfigRuleDestinationArgsDict = {
            "bucket": f"arn:aws:s3:::{replica_name}",
            "storage_class": "STANDARD",
            "encryption_configuration": {"replica_kms_key_id": replica_key.arn},
        }
        if target.replication_time_control:
            # RTC replicates 99.99% of objects within 15 minutes, and requires replication metrics.
            destination["replication_time"] = {"status": "Enabled", "time": {"minutes": 15}}
            destination["metrics"] = {"status": "Enabled", "event_threshold": {"minutes": 15}}
        aws.s3.BucketReplicationConfig(
            f"{source_name}-replication",
            bucket=source_name,
            role=role.arn,
            rules=[
                {
                    "id": "snapshots-to-replica",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {"prefix": ""},
                    "delete_marker_replication": {"status": "Disabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": destination,
                }
            ],
            opts=self._opts(provider, *source, *replica),
        )
