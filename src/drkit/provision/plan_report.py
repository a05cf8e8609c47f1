"""`drkit plan` output: the resources grouped by region and AZ with their key properties, then the rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit.policy.engine import RuleResult
from drkit.provision.resources import Plan, PlannedResource

# What is worth a glance per type; everything else is in --format json.
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "aws:ec2/instance:Instance": ("instanceType", "privateIp"),
    "aws:ebs/volume:Volume": ("type", "size", "encrypted"),
    "aws:ec2/subnet:Subnet": ("cidrBlock",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:lb/loadBalancer:LoadBalancer": ("loadBalancerType", "internal"),
    "aws:lb/listener:Listener": ("protocol", "port"),
    "aws:lb/targetGroup:TargetGroup": ("protocol", "port"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "fromPort",
        "cidrIpv4",
        "referencedSecurityGroupId",
        "prefixListId",
    ),
    "aws:s3/bucket:Bucket": ("bucket", "objectLockEnabled"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": ("bucket",),
    "aws:route53/healthCheck:HealthCheck": ("type", "requestInterval", "failureThreshold"),
    "gcp:compute/instance:Instance": ("machineType",),
    "gcp:compute/disk:Disk": ("type", "size"),
    "gcp:compute/subnetwork:Subnetwork": ("ipCidrRange",),
    "gcp:compute/forwardingRule:ForwardingRule": ("loadBalancingScheme", "ports", "ipAddress"),
    "gcp:compute/firewall:Firewall": ("sourceRanges", "sourceTags"),
    "gcp:storage/bucket:Bucket": ("name", "location", "retentionPolicy"),
    "aws:route53/record:Record": ("name", "type", "ttl", "setIdentifier"),
    "aws:globalaccelerator/endpointGroup:EndpointGroup": (
        "endpointGroupRegion",
        "healthCheckIntervalSeconds",
        "thresholdCount",
        "trafficDialPercentage",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName",),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": ("peerRegion",),
}
GLOBAL = "global"
REGIONAL = "regional"


def short_type(token: str) -> str:
    """aws:ec2/instance:Instance -> ec2.Instance; tls:index/privateKey:PrivateKey -> tls.PrivateKey."""
    package, module, kind = token.split(":")
    module = module.split("/")[0]
    return f"{package}.{kind}" if module == "index" else f"{module}.{kind}"


def key_properties(resource: PlannedResource) -> dict[str, Any]:
    names = KEY_PROPERTIES.get(resource.type, ())
    return {
        name: resource.props[name] for name in names if name in resource.props and name not in resource.secret_props
    }


def built(plan: Plan) -> list[PlannedResource]:
    """What the cloud would hold: providers and drkit's components are bookkeeping, not resources."""
    return [r for r in plan.resources if not r.type.startswith(("pulumi:providers:", "drkit:provision:"))]


@dataclass(frozen=True)
class Group:
    region: str
    az: str
    resources: tuple[PlannedResource, ...]


def grouped(plan: Plan, region_order: list[str]) -> list[Group]:
    buckets: dict[tuple[str, str], list[PlannedResource]] = {}
    for resource in built(plan):
        region = resource.region or GLOBAL
        az = resource.az if resource.az and resource.region else REGIONAL
        buckets.setdefault((region, az), []).append(resource)

    def order(key: tuple[str, str]) -> tuple[int, str, int, str]:
        region, az = key
        position = region_order.index(region) if region in region_order else len(region_order) + (region == GLOBAL)
        return (position, region, az == REGIONAL, az)

    return [
        Group(region, az, tuple(sorted(buckets[(region, az)], key=lambda r: (short_type(r.type), r.name))))
        for region, az in sorted(buckets, key=order)
    ]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():  # the engine's numbers are floats: 2379.0 is port 2379
        return str(int(value))
    return str(value)


def render_text(plan: Plan, region_order: list[str], results: tuple[RuleResult, ...]) -> str:
    groups = grouped(plan, region_order)
    total = sum(len(group.resources) for group in groups)
    lines = [f"plan for stack {plan.stack} (offline, Pulumi mocks): {total} resources"]
    current = None
    for group in groups:
        if group.region != current:
            current = group.region
            count = sum(len(g.resources) for g in groups if g.region == group.region)
            lines += ["", f"{group.region}  ({count} resources)"]
        lines.append(f"  {group.az}  ({len(group.resources)})")
        width = max(len(short_type(r.type)) for r in group.resources)
        for resource in group.resources:
            props = "  ".join(f"{k}={_value(v)}" for k, v in key_properties(resource).items())
            details = "  ".join(part for part in (props, " ".join(option_flags(resource))) if part)
            lines.append(f"    {short_type(resource.type).ljust(width)}  {resource.name}  {details}".rstrip())
    if plan.warnings:
        lines += ["", f"warnings ({len(plan.warnings)}):"] + [f"  {warning}" for warning in plan.warnings]
    lines += ["", render_rules(results)]
    return "\n".join(lines) + "\n"


def option_flags(resource: PlannedResource) -> list[str]:
    """What the resource's options do to `pulumi up` and `pulumi destroy`, in a few words for the text plan."""
    options = resource.options
    flags = [f"[{name}]" for name in ("protect", "retainOnDelete", "deleteBeforeReplace") if options.get(name)]
    if options.get("ignoreChanges"):
        flags.append(f"[ignoreChanges: {','.join(options['ignoreChanges'])}]")
    return flags


def render_rules(results: tuple[RuleResult, ...]) -> str:
    counts = {
        status: sum(1 for r in results if r.status == status) for status in ("pass", "fail", "waived", "advisory")
    }
    lines = [
        f"resource rules: {counts['pass']} passed, {counts['fail']} failed, {counts['waived']} waived,"
        f" {counts['advisory']} advisory"
    ]
    for result in results:
        if result.status == "pass":
            continue
        rule = result.rule
        lines.append(f"  {result.status.upper():<9} {rule.id} [{rule.severity}] {rule.name}")
        lines.extend(f"            {finding.message}" for finding in result.findings)
        if result.waiver is not None:
            lines.append(f"            waived until {result.waiver.expires}: {result.waiver.reason}")
        else:
            lines.append(f"            fix: {rule.remediation}")
    return "\n".join(lines)


def as_json(plan: Plan, region_order: list[str], results: tuple[RuleResult, ...]) -> dict[str, Any]:
    groups = grouped(plan, region_order)
    regions: dict[str, dict[str, int]] = {}
    for group in groups:
        regions.setdefault(group.region, {})[group.az] = len(group.resources)
    return {
        "stack": plan.stack,
        "count": sum(len(group.resources) for group in groups),
        "byRegion": regions,
        "resources": [
            {
                "type": resource.type,
                "name": resource.name,
                "region": group.region,
                "az": group.az,
                "properties": _jsonable(resource.props, resource.secret_props),
                "secretProperties": sorted(resource.secret_props),
                "options": {
                    "protect": bool(resource.options.get("protect")),
                    "retainOnDelete": bool(resource.options.get("retainOnDelete")),
                    "ignoreChanges": list(resource.options.get("ignoreChanges", [])),
                    "deleteBeforeReplace": bool(resource.options.get("deleteBeforeReplace")),
                },
            }
            for group in groups
            for resource in group.resources
        ],
        "warnings": list(plan.warnings),
        "rules": [
            {
                "id": result.rule.id,
                "name": result.rule.name,
                "severity": result.rule.severity,
                "status": result.status,
                "findings": [{"message": f.message, "urn": f.urn} for f in result.findings],
            }
            for result in results
        ],
    }


def _jsonable(props: Mapping[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    """Properties for tools; secret ones are shown as [secret], as `pulumi stack output` does."""
    return {key: "[secret]" if key in secret else value for key, value in props.items()}
