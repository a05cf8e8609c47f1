"""The lab's S3 endpoint: moto's server under supervisord, holding the spec's s3 target as one bucket with
versioning and Object Lock, as the stack's Pulumi program makes it on AWS."""

from __future__ import annotations

import time
from typing import Any

import boto3
from botocore.config import Config

from drkit.sandbox.inventory import LAB_S3_KEY, LAB_S3_REGION
from drkit.sandbox.plan import LabPlan

READY_TIMEOUT = 30.0


def client(plan: LabPlan) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=plan.s3_endpoint_url,
        region_name=LAB_S3_REGION,
        aws_access_key_id=LAB_S3_KEY,
        aws_secret_access_key=LAB_S3_KEY,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )


def ensure_bucket(plan: LabPlan) -> bool:
    """Wait for the endpoint, then create the bucket unless it exists. Returns whether it was created
    (moto keeps buckets in memory: after a lab stop, or a restart of its program, the bucket is new)."""
    s3 = client(plan)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            names = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    if plan.s3_bucket in names:
        return False
    # Object Lock can only be enabled when a bucket is created; it turns versioning on with it.
    s3.create_bucket(Bucket=plan.s3_bucket, ObjectLockEnabledForBucket=True)
    s3.put_bucket_versioning(Bucket=plan.s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def status(plan: LabPlan) -> dict[str, Any]:
    """What `drkit sandbox status` shows of the S3 target: endpoint, bucket, and whether it answers."""
    row: dict[str, Any] = {
        "name": "lab-s3",
        "type": "s3",
        "endpoint": plan.s3_endpoint_url,
        "bucket": plan.s3_bucket,
        "url": f"s3://{plan.s3_bucket}",
        "objectLock": None,
        "reachable": False,
    }
    try:
        s3 = client(plan)
        lock = s3.get_object_lock_configuration(Bucket=plan.s3_bucket)["ObjectLockConfiguration"]
        row["objectLock"] = lock.get("ObjectLockEnabled")
        row["reachable"] = True
    except Exception:
        row["reachable"] = False
    return row
