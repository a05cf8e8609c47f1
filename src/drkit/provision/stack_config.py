"""Stack settings that belong to one AWS account rather than to the DR promise, so they live in the stack's
Pulumi config beside `drkit:spec`, not in the spec (whose schema every environment shares):

    drkit:availabilityZones:      # per region, AZ names or zone IDs; pins where members and subnets go
      us-east-1: [use1-az1, use1-az2, use1-az4]
    drkit:backupBucketPrefix: acme-prod-registry   # physical bucket names: <prefix>-<region>[-<n>]
    drkit:bootstrapMembers:       # per region, how many members formed the cluster at its first `pulumi up`
      us-east-1: 3

Also the warnings the program gives while building (an AZ list taken from a look-up, ...): `pulumi up`
prints them through `pulumi.log.warn`, and `drkit plan` lists them with the plan.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pulumi

from drkit.provision.errors import ProvisionError

NAMESPACE = "drkit"
AVAILABILITY_ZONES = "availabilityZones"
BACKUP_BUCKET_PREFIX = "backupBucketPrefix"
BOOTSTRAP_MEMBERS = "bootstrapMembers"
# Keys read by the program besides drkit:spec (drkit plan copies them from the stack file into the mocks).
KEYS = (AVAILABILITY_ZONES, BACKUP_BUCKET_PREFIX, BOOTSTRAP_MEMBERS)

_lock = threading.Lock()
_collected: list[str] | None = None


def pinned_zones(region: str) -> list[str] | None:
    """The AZ names or zone IDs pinned for `region` in drkit:availabilityZones, or None when not pinned."""
    value = pulumi.Config(NAMESPACE).get_object(AVAILABILITY_ZONES)
    if value is None:
        return None
    key = f"{NAMESPACE}:{AVAILABILITY_ZONES}"
    if not isinstance(value, Mapping):
        raise ProvisionError(f"{key} must map region names to lists of AZ names or zone IDs")
    zones = value.get(region)
    if zones is None:
        return None
    if not isinstance(zones, list) or not all(isinstance(zone, str) and zone for zone in zones):
        raise ProvisionError(f"{key}.{region} must be a list of AZ names (us-east-1a) or zone IDs (use1-az1)")
    return list(zones)


def bootstrap_members(region: str) -> int | None:
    """How many members formed `region`'s cluster at the stack's first `pulumi up` (drkit:bootstrapMembers),
    or None when not written down yet (the first `pulumi up`). Members past that count join the running
    cluster (`initial-cluster-state existing`, added by the member playbook) and never bootstrap a new one."""
    value = pulumi.Config(NAMESPACE).get_object(BOOTSTRAP_MEMBERS)
    if value is None:
        return None
    key = f"{NAMESPACE}:{BOOTSTRAP_MEMBERS}"
    if not isinstance(value, Mapping):
        raise ProvisionError(f"{key} must map region names to member counts, e.g. {{us-east-1: 3}}")
    count = value.get(region)
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ProvisionError(
            f"{key}.{region} must be the number of members the cluster first booted with (a whole number >= 1),"
            f" got {count!r}"
        )
    return count


def backup_bucket_prefix() -> str | None:
    return pulumi.Config(NAMESPACE).get(BACKUP_BUCKET_PREFIX)


def warn(message: str) -> None:
    """A warning for whoever runs the program: the engine's log under `pulumi up`/`preview`, the plan's list
    while collecting (under the mocks, where the log would only reach Python's stderr logger)."""
    with _lock:
        if _collected is not None:
            if message not in _collected:
                _collected.append(message)
            return
    pulumi.log.warn(message)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the warnings given while the block runs (one program run at a time, as under the mocks)."""
    global _collected
    with _lock:
        _collected = []
        found = _collected
    try:
        yield found
    finally:
        with _lock:
            _collected = None


# Provider keys the program reads too: the GCP project of gcp regions (drkit.provision.gcp.providers).
PROVIDER_KEYS = ("gcp:project",)


def config_from_stack_file(config: Mapping[str, Any]) -> dict[str, Any]:
    """The program's non-spec keys found in a stack file's `config:` mapping, by their full names."""
    found = {f"{NAMESPACE}:{key}": config[f"{NAMESPACE}:{key}"] for key in KEYS if f"{NAMESPACE}:{key}" in config}
    return found | {key: config[key] for key in PROVIDER_KEYS if key in config}
