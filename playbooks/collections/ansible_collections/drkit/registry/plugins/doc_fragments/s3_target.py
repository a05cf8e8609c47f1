"""Options every module that works on an S3 backup target shares (the inventory's drkit_s3_* values)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  name:
    description: The target's inventory name, used in messages.
    type: str
    required: true
  bucket:
    description: The bucket holding the snapshots.
    type: str
    required: true
  region:
    description: The bucket's AWS region.
    type: str
    required: true
  endpoint_url:
    description: An S3 endpoint other than AWS's (the lab's moto server).
    type: str
  kms_key:
    description: KMS key for SSE-KMS; the bucket's default encryption when unset.
    type: str
  replica_bucket:
    description: The bucket S3 replication copies this one into.
    type: str
  replica_region:
    description: The replica bucket's region.
    type: str
  object_lock_seconds:
    description: The spec's objectLock in seconds; 0 or unset for none.
    type: float
  object_lock_mode:
    description: C(compliance) or C(governance).
    type: str
    default: compliance
  access_key:
    description: Only for the lab's S3 endpoint (moto); AWS hosts use their instance profile.
    type: str
  secret_key:
    description: Only for the lab's S3 endpoint (moto).
    type: str
"""
