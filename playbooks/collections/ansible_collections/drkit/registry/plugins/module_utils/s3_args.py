"""The argument spec the S3 modules share (documented in doc_fragments/s3_target.py)."""

from __future__ import annotations

from typing import Any

S3_ARGUMENTS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "bucket": {"type": "str", "required": True},
    "region": {"type": "str", "required": True},
    "endpoint_url": {"type": "str"},
    "kms_key": {"type": "str"},
    "replica_bucket": {"type": "str"},
    "replica_region": {"type": "str"},
    "object_lock_seconds": {"type": "float"},
    "object_lock_mode": {"type": "str", "default": "compliance"},
    "access_key": {"type": "str", "no_log": True},
    "secret_key": {"type": "str", "no_log": True},
}
