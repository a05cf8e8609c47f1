"""A GCP region's network: a custom-mode VPC network, one regional subnetwork, Cloud NAT for egress.

GCP subnetworks are regional, so one subnetwork serves every zone; the members' fixed addresses still come
from per-zone slices of its range (layout.created_subnets), so a member's address says its zone as on AWS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from drkit.provision import stack_config
from drkit.provision.errors import ProvisionError
from drkit.provision.layout import Subnet, created_subnets, resource_prefix, vpc_cidr
from drkit.spec.model import Region

# Google's ranges: its load balancers' health probes, and IAP's TCP forwarding (Ansible over IAP, SSH).
GOOGLE_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
IAP_TCP_RANGE = "35.235.240.0/20"


@dataclass(frozen=True)
class GcpNetwork:
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    cidr: str
    subnets: list[Subnet]  # one per zone: the zone and the slice of the range its members' addresses come from

    @property
    def zones(self) -> list[str]:
        return [subnet.az for subnet in self.subnets]


def gcp_zones(region: Region, provider: gcp.Provider) -> list[str]:
    """The zones named in the spec (regions[].zones), else the first `availabilityZones` zones that are UP
    now, with a warning: an incident changes that list, and the next `pulumi up` would move members."""
    if region.zones:
        return list(region.zones[: region.availability_zones])
    found = gcp.compute.get_zones(region=region.name, status="UP", opts=pulumi.InvokeOptions(provider=provider))
    names = sorted(found.names)
    if len(names) < region.availability_zones:
        raise ProvisionError(
            f"drkit:spec.regions[{region.index}].availabilityZones: {region.name} has {len(names)} zones up, the"
            f" spec asks for {region.availability_zones}: lower availabilityZones or pick another region"
        )
    chosen = names[: region.availability_zones]
    stack_config.warn(
        f"{region.name}: members placed in {', '.join(chosen)}, the first {len(chosen)} zones up now; name them in"
        f" the spec (regions[].zones), or a `pulumi up` during a zone outage moves members"
    )
    return chosen


def load_balancer_address(cidr: str) -> str:
    """The internal load balancer's fixed address, near the top of the range (no member slice reaches it),
    so certificates and the Route 53 record can name it before it exists."""
    return str(ipaddress.ip_network(cidr).broadcast_address - 5)


def create_gcp_network(
    stack: str, region: Region, zones: list[str], parent: pulumi.Resource, provider: gcp.Provider
) -> GcpNetwork:
    prefix = resource_prefix(stack, region.name)
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    cidr = vpc_cidr(region)
    network = gcp.compute.Network(
        f"{region.name}-network",
        name=prefix,
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        description=f"drkit {stack}: registry network in {region.name}",
        opts=opts,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{region.name}-subnetwork",
        name=prefix,
        region=region.name,
        network=network.id,
        ip_cidr_range=cidr,
        # Members reach Google APIs (Secret Manager, GCS, KMS) without a public address.
        private_ip_google_access=True,
        opts=opts,
    )
    router = gcp.compute.Router(f"{region.name}-router", name=prefix, region=region.name, network=network.id, opts=opts)
    # Egress only (the etcd release download at first boot): members have no external address.
    gcp.compute.RouterNat(
        f"{region.name}-nat",
        name=prefix,
        router=router.name,
        region=region.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        opts=opts,
    )
    private, _public = created_subnets(cidr, zones)
    return GcpNetwork(
        network, subnetwork, cidr, [Subnet(zone, slice_) for zone, slice_ in zip(zones, private, strict=True)]
    )
