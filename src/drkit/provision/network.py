"""A region's network: a new VPC with one private and one public subnet per AZ (NAT per AZ, so losing an AZ
leaves the others their egress), or an existing VPC's subnets looked up in AWS."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from drkit.provision import stack_config
from drkit.provision.errors import ProvisionError
from drkit.provision.layout import Subnet, created_subnets, vpc_cidr
from drkit.provision.tags import tags
from drkit.spec.model import Region


@dataclass
class Network:
    vpc_id: pulumi.Input[str]
    cidr: str
    subnets: list[Subnet]  # private, one per AZ in AZ order
    subnet_ids: list[pulumi.Input[str]]
    public_subnet_ids: list[pulumi.Input[str]] = field(default_factory=list)  # empty for an existing VPC
    private_route_table_ids: list[pulumi.Input[str]] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return bool(self.public_subnet_ids)


def available_azs(region: Region, provider: aws.Provider) -> list[str]:
    """The region's AZ names for subnets and members: the ones pinned in drkit:availabilityZones, else the first
    `availabilityZones` of those available now (with a warning: during an AZ incident that list changes, and
    the next `pulumi up` would move subnets and members)."""
    invoke = pulumi.InvokeOptions(provider=provider)
    pinned = stack_config.pinned_zones(region.name)
    if pinned is not None:
        return _pinned_azs(region, pinned, invoke)
    zones = aws.get_availability_zones(state="available", opts=invoke)
    names = sorted(zones.names)
    if len(names) < region.availability_zones:
        raise ProvisionError(
            f"drkit:spec.regions[{region.index}].availabilityZones: {region.name} has {len(names)} available AZs,"
            f" the spec asks for {region.availability_zones}: lower availabilityZones or pick another region"
        )
    chosen = names[: region.availability_zones]
    stack_config.warn(
        f"{region.name}: members placed in {', '.join(chosen)}, the first {len(chosen)} AZs available now; pin them"
        f" in the stack config (drkit:availabilityZones: {{{region.name}: [zone IDs]}}), or a `pulumi up` during an"
        " AZ outage moves subnets and members"
    )
    return chosen


def _pinned_azs(region: Region, pinned: list[str], invoke: pulumi.InvokeOptions) -> list[str]:
    key = f"drkit:availabilityZones.{region.name}"
    if len(pinned) != region.availability_zones:
        raise ProvisionError(
            f"{key} lists {len(pinned)} zones but drkit:spec.regions[{region.index}].availabilityZones is"
            f" {region.availability_zones}: list exactly one zone per AZ the spec asks for"
        )
    # Every zone of the region, whatever its state: a pinned zone in trouble keeps its members.
    every = aws.get_availability_zones(opts=invoke)
    by_id = dict(zip(every.zone_ids, every.names, strict=True))
    names = []
    for zone in pinned:
        name = zone if zone in every.names else by_id.get(zone)
        if name is None:
            raise ProvisionError(
                f"{key}: {zone} is neither an AZ name nor a zone ID of {region.name}"
                f" (names: {', '.join(sorted(every.names))}; IDs: {', '.join(sorted(every.zone_ids))})"
            )
        names.append(name)
    if len(set(names)) != len(names):
        raise ProvisionError(f"{key}: {', '.join(pinned)} names one AZ twice; list distinct zones")
    available = set(aws.get_availability_zones(state="available", opts=invoke).names)
    for name in names:
        if name not in available:
            stack_config.warn(
                f"{region.name}: pinned AZ {name} is not available now; its subnets and members stay where they are"
            )
    return names


def existing_network(region: Region, provider: aws.Provider) -> Network:
    ids = region.network.subnet_ids  # one per AZ: checked by drkit validate (drkit.spec.consistency)
    found = [aws.ec2.get_subnet(id=subnet_id, opts=pulumi.InvokeOptions(provider=provider)) for subnet_id in ids]
    azs = [subnet.availability_zone for subnet in found]
    if len(set(azs)) != len(azs):
        raise ProvisionError(
            f"drkit:spec.regions[{region.index}].network.subnetIds: two subnets share an AZ ({', '.join(azs)}):"
            " losing that AZ would take more members than the spec plans for; give one subnet per AZ"
        )
    vpc = aws.ec2.get_vpc(id=region.network.vpc_id, opts=pulumi.InvokeOptions(provider=provider))
    return Network(
        vpc_id=str(region.network.vpc_id),
        cidr=vpc.cidr_block,
        subnets=[Subnet(s.availability_zone, s.cidr_block, s.id) for s in found],
        subnet_ids=list(ids),
    )


def create_network(
    stack: str, region: Region, azs: list[str], parent: pulumi.Resource, provider: aws.Provider
) -> Network:
    def opts(*depends: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends))

    def tagged(name: str, **extra: str) -> dict[str, str]:
        return tags(stack, region.name, "network", name, **extra)

    prefix = region.name
    cidr = vpc_cidr(region)
    private_cidrs, public_cidrs = created_subnets(cidr, azs)
    vpc = aws.ec2.Vpc(
        f"{prefix}-vpc",
        cidr_block=cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=tagged(f"{prefix}-vpc"),
        opts=opts(),
    )
    gateway = aws.ec2.InternetGateway(f"{prefix}-igw", vpc_id=vpc.id, tags=tagged(f"{prefix}-igw"), opts=opts())
    public_table = aws.ec2.RouteTable(f"{prefix}-public", vpc_id=vpc.id, tags=tagged(f"{prefix}-public"), opts=opts())
    aws.ec2.Route(
        f"{prefix}-public-default",
        route_table_id=public_table.id,
        destination_cidr_block="0.0.0.0/0",
        gateway_id=gateway.id,
        opts=opts(),
    )
    private_ids: list[pulumi.Input[str]] = []
    public_ids: list[pulumi.Input[str]] = []
    private_tables: list[pulumi.Input[str]] = []
    for index, az in enumerate(azs):
        public = aws.ec2.Subnet(
            f"{prefix}-public-{az}",
            vpc_id=vpc.id,
            cidr_block=public_cidrs[index],
            availability_zone=az,
            tags=tagged(f"{prefix}-public-{az}", az=az),
            opts=opts(),
        )
        aws.ec2.RouteTableAssociation(
            f"{prefix}-public-{az}", subnet_id=public.id, route_table_id=public_table.id, opts=opts()
        )
        address = aws.ec2.Eip(f"{prefix}-nat-{az}", domain="vpc", tags=tagged(f"{prefix}-nat-{az}", az=az), opts=opts())
        nat = aws.ec2.NatGateway(
            f"{prefix}-nat-{az}",
            allocation_id=address.id,
            subnet_id=public.id,
            tags=tagged(f"{prefix}-nat-{az}", az=az),
            opts=opts(gateway),
        )
        private = aws.ec2.Subnet(
            f"{prefix}-private-{az}",
            vpc_id=vpc.id,
            cidr_block=private_cidrs[index],
            availability_zone=az,
            tags=tagged(f"{prefix}-private-{az}", az=az),
            opts=opts(),
        )
        table = aws.ec2.RouteTable(
            f"{prefix}-private-{az}", vpc_id=vpc.id, tags=tagged(f"{prefix}-private-{az}", az=az), opts=opts()
        )
        aws.ec2.Route(
            f"{prefix}-private-{az}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=opts(),
        )
        aws.ec2.RouteTableAssociation(
            f"{prefix}-private-{az}", subnet_id=private.id, route_table_id=table.id, opts=opts()
        )
        private_ids.append(private.id)
        public_ids.append(public.id)
        private_tables.append(table.id)
    # Snapshots go to S3 through a gateway endpoint: no NAT charges, and backups keep working without NAT.
    aws.ec2.VpcEndpoint(
        f"{prefix}-s3",
        vpc_id=vpc.id,
        service_name=f"com.amazonaws.{region.name}.s3",
        vpc_endpoint_type="Gateway",
        route_table_ids=private_tables,
        tags=tagged(f"{prefix}-s3"),
        opts=opts(),
    )
    return Network(
        vpc_id=vpc.id,
        cidr=cidr,
        subnets=[Subnet(az, private_cidrs[index]) for index, az in enumerate(azs)],
        subnet_ids=private_ids,
        public_subnet_ids=public_ids,
        private_route_table_ids=private_tables,
    )
