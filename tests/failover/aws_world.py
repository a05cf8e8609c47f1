"""The AWS control-plane tests' world: a stack as `pulumi up` leaves it on AWS, built in moto (in process,
no network) with the same tags.

Two regions (us-east-1 primary, us-west-2 standby), each with a VPC, a members' security group (peer port
from itself; client port from itself and from the client NLB's group; metrics from the NLB's group), three
tagged member instances, an internal client NLB tagged client-lb; a mirror instance in the standby; and
instances that must never be touched: an untagged one, another stack's member and this stack's non-member,
all in the members' group. Route 53: a zone, per region an HTTP check, a control check (CALCULATED, no
children, threshold 0, Disabled; the primary's serving, the standby's Inverted) and the calculated check
over both, which the PRIMARY and SECONDARY records use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from drkit.failover.aws import AwsControlPlane, MirrorSettings

STACK = "prod"
OTHER_STACK = "staging"
PRIMARY, STANDBY = "us-east-1", "us-west-2"
CLIENT_PORT, PEER_PORT, METRICS_PORT = 2379, 2380, 2381
AMI = "ami-12c6146b"  # one of moto's stock images


@dataclass
class Region:
    name: str
    vpc_id: str = ""
    members_sg: str = ""
    lb_sg: str = ""
    members: list[str] = field(default_factory=list)
    bystanders: list[str] = field(default_factory=list)  # untagged, or another stack's
    mirrors: list[str] = field(default_factory=list)
    lb_dns: str = ""
    control_check: str = ""


@dataclass
class World:
    regions: dict[str, Region]
    zone_id: str

    def plane(self, **options: Any) -> AwsControlPlane:
        """A control plane as a new process would build it: nothing shared with earlier ones but AWS."""
        settings: dict[str, Any] = {
            "endpoint_type": "route53-failover",
            "clients": boto3.session.Session(),
            "mirror": MirrorSettings(prefixes=("",), tls=True),
            "sleep": _no_sleep,
            **options,
        }
        return AwsControlPlane(
            stack=STACK, regions={PRIMARY: PRIMARY, STANDBY: STANDBY}, client_port=CLIENT_PORT, **settings
        )


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds}s: moto answers every invocation at once")


def tags(name: str, region: str, stack: str = STACK, **extra: str) -> list[dict[str, str]]:
    values = {"Name": name, "drkit:stack": stack, "drkit:region": region, **extra}
    return [{"Key": key, "Value": value} for key, value in values.items()]


def _instances(ec2: Any, subnet: str, group: str, count: int, tag_list: list[dict[str, str]] | None) -> list[str]:
    arguments: dict[str, Any] = {
        "ImageId": AMI,
        "MinCount": count,
        "MaxCount": count,
        "SubnetId": subnet,
        "SecurityGroupIds": [group],
    }
    if tag_list:
        arguments["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tag_list}]
    return [instance["InstanceId"] for instance in ec2.run_instances(**arguments)["Instances"]]


def _region(name: str, index: int, role: str) -> Region:
    region = Region(name)
    ec2 = boto3.client("ec2", region_name=name)
    region.vpc_id = ec2.create_vpc(CidrBlock=f"10.{40 + index}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=region.vpc_id, CidrBlock=f"10.{40 + index}.1.0/24")["Subnet"]["SubnetId"]
    region.members_sg = ec2.create_security_group(
        GroupName=f"{name}-members", Description="drkit registry members", VpcId=region.vpc_id
    )["GroupId"]
    region.lb_sg = ec2.create_security_group(
        GroupName=f"{name}-client-lb", Description="drkit registry client load balancer", VpcId=region.vpc_id
    )["GroupId"]
    ec2.create_tags(Resources=[region.members_sg], Tags=tags(f"{name}-members", name))

    def from_group(port: int, group: str, description: str) -> dict[str, Any]:
        pair = {"GroupId": group, "Description": description}
        return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [pair]}

    for permission in (
        from_group(PEER_PORT, region.members_sg, "raft between members"),
        from_group(CLIENT_PORT, region.members_sg, "etcdctl between members"),
        from_group(CLIENT_PORT, region.lb_sg, "clients through the NLB"),
        from_group(METRICS_PORT, region.lb_sg, "NLB health checks"),
    ):
        ec2.authorize_security_group_ingress(GroupId=region.members_sg, IpPermissions=[permission])
    region.members = []
    for number in (1, 2, 3):
        member = f"{name}-{number}"
        extra = {"drkit:role": "member", "drkit:cluster-role": role, "drkit:member": member}
        region.members += _instances(ec2, subnet, region.members_sg, 1, tags(member, name, **extra))
    region.bystanders = _instances(ec2, subnet, region.members_sg, 1, None)
    other = tags(f"{name}-member", name, stack=OTHER_STACK, **{"drkit:role": "member"})
    region.bystanders += _instances(ec2, subnet, region.members_sg, 1, other)
    not_a_member = tags(f"{name}-bastion", name, **{"drkit:role": "bastion"})  # this stack and region, not a member
    region.bystanders += _instances(ec2, subnet, region.members_sg, 1, not_a_member)
    if role == "standby":
        mirror_tags = tags(f"{name}-mirror", name, **{"drkit:role": "mirror"})
        region.mirrors = _instances(ec2, subnet, region.lb_sg, 1, mirror_tags)
    elbv2 = boto3.client("elbv2", region_name=name)
    for lb_name, role_tag in ((f"{name}-client", "client-lb"), (f"{name}-health", None)):
        lb_tags = [t for t in tags(lb_name, name) if t["Key"] != "drkit:role"]
        if role_tag:
            lb_tags.append({"Key": "drkit:role", "Value": role_tag})
        balancer = elbv2.create_load_balancer(
            Name=lb_name, Subnets=[subnet], Scheme="internal", Type="network", Tags=lb_tags
        )["LoadBalancers"][0]
        if role_tag:
            region.lb_dns = balancer["DNSName"]
    return region


def _endpoint(world: World) -> None:
    route53 = boto3.client("route53", region_name=PRIMARY)
    for index, (name, region) in enumerate(world.regions.items()):
        reachable = route53.create_health_check(
            CallerReference=f"{name}-health",
            HealthCheckConfig={
                "Type": "HTTP",
                "FullyQualifiedDomainName": f"{name}-health.elb.amazonaws.com",
                "Port": METRICS_PORT,
                "ResourcePath": "/health",
                "RequestInterval": 10,
                "FailureThreshold": 3,
            },
        )["HealthCheck"]["Id"]
        control = route53.create_health_check(
            CallerReference=f"{name}-control",
            HealthCheckConfig={
                "Type": "CALCULATED",
                "ChildHealthChecks": [],
                "HealthThreshold": 0,
                "Disabled": True,
                "Inverted": index != 0,  # the primary serves, standbys do not
            },
        )["HealthCheck"]["Id"]
        region.control_check = control
        serving = route53.create_health_check(
            CallerReference=f"{name}-serving",
            HealthCheckConfig={"Type": "CALCULATED", "ChildHealthChecks": [reachable, control], "HealthThreshold": 2},
        )["HealthCheck"]["Id"]
        for check, label, role in (
            (reachable, f"{name}-health", None),
            (control, f"{name}-control", "endpoint-control"),
            (serving, f"{name}-serving", None),
        ):
            check_tags = [t for t in tags(label, name) if role or t["Key"] != "drkit:role"]
            if role:
                check_tags.append({"Key": "drkit:role", "Value": role})
            route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check, AddTags=check_tags)
        route53.change_resource_record_sets(
            HostedZoneId=world.zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": "registry.example.com",
                            "Type": "CNAME",
                            "TTL": 30,
                            "SetIdentifier": name,
                            "Failover": "PRIMARY" if index == 0 else "SECONDARY",
                            "HealthCheckId": serving,
                            "ResourceRecords": [{"Value": region.lb_dns}],
                        },
                    }
                ]
            },
        )
    # A control check of another stack, tagged alike but for staging: it must never be flipped.
    other = route53.create_health_check(
        CallerReference="staging-control",
        HealthCheckConfig={"Type": "CALCULATED", "ChildHealthChecks": [], "HealthThreshold": 0, "Disabled": True},
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=other,
        AddTags=[*tags("control", STANDBY, stack=OTHER_STACK), {"Key": "drkit:role", "Value": "endpoint-control"}],
    )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        zone = boto3.client("route53", region_name=PRIMARY).create_hosted_zone(
            Name="example.com", CallerReference="zone"
        )["HostedZone"]["Id"]
        built = World({PRIMARY: _region(PRIMARY, 0, "primary"), STANDBY: _region(STANDBY, 1, "standby")}, zone)
        _endpoint(built)
        yield built
