"""GcsBackupVault: a gcs backup target as a GCS bucket that keeps every snapshot for its retention policy.

Uniform bucket-level access, public access prevention enforced, CMEK (a Cloud KMS key in the bucket's
region), the spec's retentionPolicy (no snapshot deleted or replaced before it is that old), locked when the
spec says lockRetentionPolicy (bucket lock: nobody can shorten or remove the policy; DR202 asks for it on the
critical tier), and a lifecycle that deletes snapshots once the spec's retention no longer needs them.
GCS does not allow object versioning beside a retention policy; the policy is the stronger promise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from drkit.provision import tags
from drkit.provision.backup_vault import retention_days
from drkit.spec.model import BackupTarget, Retention

TYPE = "drkit:provision:GcsBackupVault"
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@dataclass(frozen=True)
class GcsBackupVaultArgs:
    stack: str
    target: BackupTarget
    retention: Retention
    project: str


def gcs_bucket_name(stack: str, project: str, region: str, index: int) -> str:
    """Bucket names are global: the stack and project keep them apart (63 characters at most)."""
    return f"drkit-{stack}-backups-{project}-{region}" + (f"-{index}" if index else "")


class GcsBackupVault(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket

    def __init__(
        self, name: str, args: GcsBackupVaultArgs, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.args = args
        target = args.target
        self.region = target.region
        self.bucket_name = target.bucket or gcs_bucket_name(args.stack, args.project, target.region, target.index)[:63]
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        labels = tags.labels(args.stack, target.region, "backup-vault", role="backup", target=str(target.index))
        ring = gcp.kms.KeyRing(
            f"{name}-keyring",
            name=f"drkit-{args.stack}-backups-{target.index}",
            location=target.region,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name="backups",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period="7776000s",
            labels=labels,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)),
        )
        agent = gcp.storage.get_project_service_account(
            project=args.project, opts=pulumi.InvokeOptions(provider=provider)
        )
        # GCS encrypts with the key as its service agent.
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-gcs",
            crypto_key_id=self.key.id,
            role=KMS_ROLE,
            member=f"serviceAccount:{agent.email_address}",
            opts=child,
        )
        days = retention_days(args.retention)
        locked = bool(target.object_lock and target.retention_locked)
        self.bucket = gcp.storage.Bucket(
            name,
            name=self.bucket_name,
            location=target.region.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            encryption={"default_kms_key_name": self.key.id},
            retention_policy=(
                {"retention_period": str(math.ceil(target.object_lock)), "is_locked": locked}
                if target.object_lock
                else None
            ),
            # Snapshots past the longest class the spec keeps (weekly) are deleted; drkit's retention prunes
            # finer classes itself (the policy keeps anything younger than retentionPolicy in any case).
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": max(days.values())}}],
            force_destroy=False,
            labels=labels,
            # A locked bucket cannot be deleted while it holds snapshots: `pulumi destroy` must not try.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[grant], protect=locked, retain_on_delete=locked)
            ),
        )
        self.register_outputs({"bucket": self.bucket_name})
