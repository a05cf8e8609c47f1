"""Where each member goes: AZ round-robin, subnet CIDRs carved from the VPC, fixed private IPs, names.

Pure functions over the spec, so the placement the program builds, the inventory it exports and the
tests' expectations all come from one place.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from drkit.spec.consistency import DEFAULT_VPC_BASE
from drkit.spec.model import Region

# Member addresses start here inside their subnet: AWS reserves the first four, and a gap keeps room for
# hand-placed helpers.
_FIRST_HOST = 10
# Each subnet is 1/16 of the VPC: private subnets take slots 0-5, public ones (NAT) slots 8-13.
_SUBNET_BITS = 4
_PUBLIC_SLOT = 8


@dataclass(frozen=True)
class Subnet:
    """One AZ's private subnet: created (cidr known, id None) or existing (id and cidr from AWS)."""

    az: str
    cidr: str
    existing_id: str | None = None


@dataclass(frozen=True)
class MemberPlacement:
    index: int  # 0-based position in the region's cluster
    name: str
    az_index: int
    az: str
    private_ip: str


def vpc_cidr(region: Region) -> str:
    """The VPC of the n-th region in the spec when it names no CIDR: 10.40.0.0/16, 10.41.0.0/16, ... distinct, so
    the primary and standby VPCs can be peered for the mirror (drkit validate checks written ones overlap none)."""
    return region.network.cidr or f"10.{DEFAULT_VPC_BASE + region.index}.0.0/16"


def created_subnets(cidr: str, azs: list[str]) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one each per AZ, carved from the VPC CIDR."""
    slices = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=_SUBNET_BITS))
    private = [str(slices[index]) for index in range(len(azs))]
    public = [str(slices[_PUBLIC_SLOT + index]) for index in range(len(azs))]
    return private, public


def member_name(region: Region, index: int) -> str:
    """Same names as the lab's members (`drkit sandbox`), so playbooks and drills address both alike."""
    return f"{region.name}-{index + 1}"


def place_members(region: Region, subnets: list[Subnet]) -> list[MemberPlacement]:
    """Members round-robin over the subnets (one per AZ): member i in AZ i mod n, at a fixed private IP."""
    placements = []
    for index in range(region.members):
        az_index = index % len(subnets)
        subnet = subnets[az_index]
        ordinal = index // len(subnets)
        address = ipaddress.ip_network(subnet.cidr).network_address + _FIRST_HOST + ordinal
        placements.append(MemberPlacement(index, member_name(region, index), az_index, subnet.az, str(address)))
    return placements


def initial_cluster(placements: list[MemberPlacement], peer_port: int, scheme: str) -> str:
    return ",".join(f"{member.name}={scheme}://{member.private_ip}:{peer_port}" for member in placements)


def joins_running_cluster(member: MemberPlacement, bootstrap_members: int) -> bool:
    """Whether `member` was added after the cluster formed: it must be `etcdctl member add`ed and start with
    `initial-cluster-state existing`, never bootstrap a cluster of its own."""
    return member.index >= bootstrap_members


def join_initial_cluster(
    placements: list[MemberPlacement], member: MemberPlacement, peer_port: int, scheme: str
) -> str:
    """The initial cluster a joining member starts with: what `etcdctl member add` answers when members join
    one at a time in index order (every member before it, and itself)."""
    return initial_cluster(placements[: member.index + 1], peer_port, scheme)


def client_endpoints(placements: list[MemberPlacement], client_port: int, scheme: str) -> str:
    return ",".join(f"{scheme}://{member.private_ip}:{client_port}" for member in placements)


def resource_prefix(stack: str, region_name: str) -> str:
    """Physical names (buckets, NLBs, roles) carry the stack so two stacks can share an account."""
    return f"drkit-{stack}-{region_name}"
