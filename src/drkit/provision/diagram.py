"""A Mermaid topology diagram drawn from a plan: regions (AWS or GCP), AZs or zones and members, load
balancers, backup buckets (S3, GCS) and their replication, the mirror, and the global endpoint.
docs/topology.md is generated from these."""

from __future__ import annotations

import re

from drkit.provision import tags
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)


_INSTANCES = ("aws:ec2/instance:Instance", "gcp:compute/instance:Instance")


def _members(plan: Plan, region: str) -> list[PlannedResource]:
    found = [
        r for kind in _INSTANCES for r in plan.of_type(kind) if r.tags.get(tags.ROLE) == "member" and r.region == region
    ]
    return sorted(found, key=lambda r: int(r.name.rsplit("-", 1)[1]))


def _address(member: PlannedResource) -> str:
    """An EC2 member's privateIp, a GCE member's fixed networkIP."""
    return str(member.props.get("privateIp") or member.prop("networkInterfaces", 0, "networkIp"))


def mermaid(plan: Plan, spec: Spec) -> str:
    lines = ["flowchart LR"]
    registry = spec.registry
    buckets = sorted(plan.of_type("aws:s3/bucket:Bucket"), key=lambda b: b.name)
    gcs = sorted(plan.of_type("gcp:storage/bucket:Bucket"), key=lambda b: b.name)
    for region in spec.regions:
        name = region.name
        cloud = "GCP" if region.provider == "gcp" else "AWS"
        lines.append(f'  subgraph {_id(name)}["{cloud} {name} ({region.role})"]')
        members = _members(plan, name)
        for az in sorted({str(m.az) for m in members}):
            lines.append(f'    subgraph {_id(az)}["{az}"]')
            lines.extend(f'      {_id(m.name)}["{m.name}<br/>{_address(m)}"]' for m in members if m.az == az)
            lines.append("    end")
        balancer = "internal TCP LB" if region.provider == "gcp" else "internal NLB"
        lines.append(f'    {_id(name)}_nlb[["{balancer} :{registry.client_port}"]]')
        for bucket in buckets:
            if bucket.region == name:
                lock = ", Object Lock" if bucket.props.get("objectLockEnabled") else ""
                lines.append(f'    {_id(bucket.name)}[("{bucket.name}<br/>SSE-KMS{lock}")]')
        for bucket in gcs:
            if bucket.region == name:
                policy = bucket.props.get("retentionPolicy") or {}
                lock = ", locked" if policy.get("isLocked") else ""
                kept = f", retention {int(policy['retentionPeriod']) // 86400}d{lock}" if policy else ""
                physical = bucket.props.get("name", bucket.name)
                lines.append(f'    {_id(bucket.name)}[("{physical}<br/>CMEK{kept}")]')
        for mirror in plan.of_type("aws:ec2/instance:Instance"):
            if mirror.tags.get(tags.ROLE) == "mirror" and mirror.region == name:
                lines.append(f'    {_id(mirror.name)}(["{mirror.name}<br/>etcdctl make-mirror"])')
        lines.append("  end")
        lines.extend(f"  {_id(name)}_nlb --> {_id(m.name)}" for m in members)
    for replication in plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        for rule in replication.props.get("rules") or []:
            destination = str(rule["destination"]["bucket"]).removeprefix("arn:aws:s3:::")
            rtc = (
                " (RTC 15 min)" if (rule["destination"].get("replicationTime") or {}).get("status") == "Enabled" else ""
            )
            lines.append(f'  {_id(str(replication.props["bucket"]))} -- "S3 replication{rtc}" --> {_id(destination)}')
    for mirror in plan.of_type("aws:ec2/instance:Instance"):
        if mirror.tags.get(tags.ROLE) == "mirror":
            lines.append(f'  {_id(spec.primary.name)}_nlb -- "read (peering)" --> {_id(mirror.name)}')
            lines.append(f'  {_id(mirror.name)} -- "write" --> {_id(str(mirror.region))}_nlb')
    spec_regions = {region.name for region in spec.regions}
    for region_name in sorted({str(b.region) for b in buckets} - spec_regions):
        lines.append(f'  subgraph {_id(region_name)}["{region_name} (backup replica)"]')
        lines.extend(f'    {_id(b.name)}[("{b.name}<br/>SSE-KMS")]' for b in buckets if b.region == region_name)
        lines.append("  end")
    lines.extend(_witness(plan, spec))
    lines.extend(_endpoint(plan, spec))
    return "\n".join(lines) + "\n"


def _witness(plan: Plan, spec: Spec) -> list[str]:
    """Each witness member in its own region, and the guards' lease traffic to it from every region."""
    witness = spec.recovery.witness
    if witness is None:
        return []
    found = sorted(
        (i for i in plan.of_type("aws:ec2/instance:Instance") if i.tags.get(tags.ROLE) == "witness"),
        key=lambda i: i.name,
    )
    lines = []
    for member in found:
        lines.append(f'  subgraph {_id(str(member.region))}["{member.region} (witness)"]')
        lines.append(
            f'    {_id(member.name)}[/"{member.name}<br/>{member.props["privateIp"]}<br/>lease TTL'
            f' {int(witness.lease_ttl)}s"/]'
        )
        lines.append("  end")
        lines.extend(f'  {_id(region.name)}_nlb -. "guard lease" .-> {_id(member.name)}' for region in spec.regions)
    return lines


def _endpoint(plan: Plan, spec: Spec) -> list[str]:
    endpoint = spec.global_endpoint
    if endpoint is None:
        return []
    health = f"every {int(endpoint.health_check.interval)}s x {endpoint.health_check.failure_threshold}"
    if endpoint.type == "route53-failover":
        lines = [
            f'  endpoint{{{{"{endpoint.name}<br/>Route 53 failover, TTL {int(endpoint.ttl)}s<br/>checks {health}"}}}}'
        ]
        for record in sorted(plan.of_type("aws:route53/record:Record"), key=lambda r: r.name):
            failover = record.props["failoverRoutingPolicies"][0]["type"]
            lines.append(f'  endpoint -- "{failover}" --> {_id(str(record.props["setIdentifier"]))}_nlb')
        return lines
    lines = [f'  endpoint{{{{"Global Accelerator :{spec.registry.client_port}<br/>checks {health}"}}}}']
    for group in sorted(plan.of_type("aws:globalaccelerator/endpointGroup:EndpointGroup"), key=lambda g: g.name):
        region = str(group.props["endpointGroupRegion"])
        dial = group.props["trafficDialPercentage"]
        lines.extend(f'  endpoint -- "dial {int(dial)}%" --> {_id(m.name)}' for m in _members(plan, region)[:1])
    return lines
