"""hashkv through the real etcdctl: etcd's HTTP gateway maps HashKV onto the same path as Hash
(/v3/maintenance/hash), so the hash of the key-value store up to a revision is only reachable over gRPC."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from drkit.sandbox.etcd_client import EtcdUnavailableError


def hash_kv(etcdctl: Path, url: str, revision: int, timeout: float = 10.0) -> int:
    """The member's hash of every key-value revision up to `revision`: equal on members that agree."""
    command = [str(etcdctl), f"--endpoints={url}", "endpoint", "hashkv", f"--rev={revision}", "-w", "json"]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "ETCDCTL_API": "3"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EtcdUnavailableError(f"{url}: etcdctl endpoint hashkv: {error}") from None
    if result.returncode != 0:
        raise EtcdUnavailableError(f"{url}: etcdctl endpoint hashkv: {result.stderr.strip()}")
    try:
        return int(json.loads(result.stdout)[0]["HashKV"]["hash"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise EtcdUnavailableError(f"{url}: etcdctl endpoint hashkv said {result.stdout[:200]!r}") from None
