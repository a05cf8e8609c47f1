"""Which security-group ingress rules let clients reach a port, and how drkit records the rules it revoked.

Plain functions over the `IpPermissions` shape EC2's describe_security_groups returns, so the fence and its
undo can be tested without an API. The record is kept ON the security group as tags: a failover that cuts
the old primary's client port may be restored days later by another process on another machine (failback),
and the group itself is the one place that process is sure to look and that lives exactly as long as the
rules do. Tag values hold at most 256 characters, so the JSON is split over numbered tags.
"""

from __future__ import annotations

import json
from typing import Any

# drkit:fenced-ingress:0, :1, ... hold consecutive pieces of one JSON list of IpPermissions.
FENCED_INGRESS = "drkit:fenced-ingress"
_TAG_VALUE_LIMIT = 256  # EC2's limit on a tag value, in characters
# The fields of an IpPermission that say who may connect; anything else (descriptions aside) is not sent back.
_SOURCES = ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs")


def covers_port(permission: dict[str, Any], port: int) -> bool:
    """Whether the rule admits TCP connections to `port`: a TCP range around it, or every protocol."""
    protocol = str(permission.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(permission.get("FromPort", -1)) <= port <= int(permission.get("ToPort", -1))


def client_port_permissions(permissions: list[dict[str, Any]], port: int) -> list[dict[str, Any]]:
    """The permissions (as returned, sources and descriptions kept) that admit clients to `port`."""
    return [_essential(permission) for permission in permissions if covers_port(permission, port)]


def _essential(permission: dict[str, Any]) -> dict[str, Any]:
    """What authorize_security_group_ingress needs to put the rule back exactly, and nothing empty."""
    kept: dict[str, Any] = {"IpProtocol": permission["IpProtocol"]}
    for key in ("FromPort", "ToPort"):
        if key in permission:
            kept[key] = permission[key]
    for key in _SOURCES:
        if permission.get(key):
            kept[key] = permission[key]
    return kept


def merge(recorded: list[dict[str, Any]], revoked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The union of two records, each rule once (a second cut after a `pulumi up --refresh` re-added rules)."""
    result = list(recorded)
    for permission in revoked:
        if permission not in result:
            result.append(permission)
    return result


def record_tags(permissions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The tags holding `permissions` (compact JSON split into pieces that fit a tag value)."""
    text = json.dumps(permissions, separators=(",", ":"), sort_keys=True)
    pieces = [text[start : start + _TAG_VALUE_LIMIT] for start in range(0, len(text), _TAG_VALUE_LIMIT)]
    return [{"Key": f"{FENCED_INGRESS}:{index}", "Value": piece} for index, piece in enumerate(pieces)]


def record_keys(tags: list[dict[str, str]]) -> list[str]:
    """The keys of a record among a group's tags (to delete it once restored)."""
    return [tag["Key"] for tag in tags if tag["Key"].startswith(f"{FENCED_INGRESS}:")]


def read_record(tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The permissions recorded in a group's tags; [] when none. Raises ValueError on a damaged record."""
    pieces: dict[int, str] = {}
    for tag in tags:
        key = tag["Key"]
        if key.startswith(f"{FENCED_INGRESS}:"):
            pieces[int(key.rsplit(":", 1)[1])] = tag["Value"]
    if not pieces:
        return []
    if sorted(pieces) != list(range(len(pieces))):
        raise ValueError(f"{FENCED_INGRESS} pieces {sorted(pieces)} are not consecutive from 0")
    value = json.loads("".join(pieces[index] for index in range(len(pieces))))
    if not isinstance(value, list):
        raise ValueError(f"{FENCED_INGRESS} does not hold a list of permissions")
    return value


def describe(permission: dict[str, Any]) -> str:
    """One rule in a phrase for the report: 'tcp 2379 from sg-1, 10.0.0.0/16'."""
    ports = "all traffic" if permission["IpProtocol"] == "-1" else f"tcp {permission.get('FromPort')}"
    if permission.get("FromPort") != permission.get("ToPort") and permission["IpProtocol"] != "-1":
        ports += f"-{permission.get('ToPort')}"
    sources = [pair["GroupId"] for pair in permission.get("UserIdGroupPairs", [])]
    sources += [item["CidrIp"] for item in permission.get("IpRanges", [])]
    sources += [item["CidrIpv6"] for item in permission.get("Ipv6Ranges", [])]
    sources += [item["PrefixListId"] for item in permission.get("PrefixListIds", [])]
    return f"{ports} from {', '.join(sources)}"
