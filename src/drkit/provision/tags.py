"""The tags every drkit resource carries: what `drkit inventory`, the rules and operators find resources by."""

from __future__ import annotations

STACK = "drkit:stack"
REGION = "drkit:region"
COMPONENT = "drkit:component"
ROLE = "drkit:role"  # member, mirror, backup, replica, tls-material, client-lb, endpoint-control
MEMBER = "drkit:member"
AZ = "drkit:az"
CLUSTER_ROLE = "drkit:cluster-role"  # primary or standby
BACKUP_TARGET = "drkit:backup-target"  # index of the spec's backups.targets entry a bucket serves
# Roles the failover control plane (drkit.failover.aws) finds resources by.
CLIENT_LB_ROLE = "client-lb"  # a region's internal client NLB
ENDPOINT_CONTROL_ROLE = "endpoint-control"  # a region's Route 53 control health check


def tags(stack: str, region: str, component: str, name: str, **extra: str) -> dict[str, str]:
    """Name plus drkit's keys; `extra` uses the short keys (role, member, az, cluster_role)."""
    keys = {"role": ROLE, "member": MEMBER, "az": AZ, "cluster_role": CLUSTER_ROLE, "target": BACKUP_TARGET}
    result = {"Name": name, STACK: stack, REGION: region, COMPONENT: component}
    result.update({keys[key]: value for key, value in extra.items()})
    return result


# GCP labels allow only lower-case letters, digits, '_' and '-' in keys and values (63 characters at most),
# so drkit's tag keys become labels with ':' as '-' (drkit:role -> drkit-role) and the Name tag is the
# resource's own name. PlannedResource.tags reads them back, so one rule reads tags on both clouds.
_LABEL_PREFIX = "drkit-"


def label_key(tag_key: str) -> str:
    return tag_key.replace(":", "-")


def labels(stack: str, region: str, component: str, **extra: str) -> dict[str, str]:
    """drkit's tags as GCP labels (values lower-cased and cut to 63 characters, as GCP requires)."""
    found = tags(stack, region, component, "", **extra)
    return {label_key(key): value.lower()[:63] for key, value in found.items() if key != "Name"}


def from_labels(found: dict[str, str]) -> dict[str, str]:
    """GCP labels back as drkit's tag keys; labels that are not drkit's are kept as they are."""
    return {
        ("drkit:" + key.removeprefix(_LABEL_PREFIX) if key.startswith(_LABEL_PREFIX) else key): value
        for key, value in found.items()
    }
