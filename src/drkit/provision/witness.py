"""Witness: the third place the guards ask before a promotion (drkit.failover.guard), on EC2.

placement region builds one witness etcd member in a region apart from the primary and the standbys;
placement cluster builds three, one per listed region, joined into one etcd cluster (it survives losing one
place). Each member lives in a small VPC of its own (10.39.0.0/16, one /20 per witness region), peered with
every registry region's VPC as the mirror's VPCs are peered, and its security group opens the client port
only to the registry regions' VPC ranges (where the guards run, next to the members) and the peer port only to
the other witness members. An encrypted data volume, TLS from the stack's CA, and the registry members'
cloud-init layout (release directories and the current link) make it upgradable the same way.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from drkit.provision import cloud_init, stack_config, tags
from drkit.provision.errors import ProvisionError
from drkit.provision.layout import created_subnets
from drkit.provision.machine import amazon_linux, architecture, assume_role_policy, recovery_alarm
from drkit.provision.network import Network, available_azs, create_network
from drkit.provision.registry_cluster import RegistryCluster, member_policy
from drkit.provision.tls import CertificateAuthority, issue
from drkit.provision.tls_delivery import tls_secret
from drkit.spec import model
from drkit.spec.consistency import witness_vpc_cidr

TYPE = "drkit:provision:Witness"
WITNESS_INSTANCE_TYPE = "t3.small"  # one lease key renewed every loopWait: a member-sized instance would idle
WITNESS_ROLE = "witness"
_DATA_GIB = 20
# The witness member's address in its private subnet, as registry members start at .10 (layout.py).
_FIRST_HOST = 10


@dataclass(frozen=True)
class WitnessArgs:
    stack: str
    witness: model.Witness
    registry: model.Registry
    ca: CertificateAuthority | None  # None only when registry.tls is false
    clusters: list[RegistryCluster]  # the primary's and the standbys': the guards run beside their members


@dataclass(frozen=True)
class WitnessMember:
    region: str
    name: str
    az: str
    private_ip: str


class Witness(pulumi.ComponentResource):
    """Every witness member of the stack, in its own region and VPC."""

    members: list[WitnessMember]
    networks: list[Network]
    groups: list[aws.ec2.SecurityGroup]
    instances: list[aws.ec2.Instance]

    def __init__(
        self,
        name: str,
        args: WitnessArgs,
        provider: Callable[[str], aws.Provider],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.args = args
        self.provider = provider
        self.scheme = "https" if args.registry.tls else "http"
        self.members, self.networks = [], []
        for index, region in enumerate(args.witness.regions):
            network = create_network(
                args.stack, _witness_region(region, index), self._azs(region, index), self, provider(region)
            )
            subnet = network.subnets[0]
            self.members.append(WitnessMember(region, f"witness-{region}", subnet.az, witness_address(index)))
            self.networks.append(network)
        self._peerings()
        self.groups = [self._security_group(index) for index in range(len(self.members))]
        self.instances = [self._member(index) for index in range(len(self.members))]
        self.register_outputs({"endpoints": self.endpoints})

    # Helpers -------------------------------------------------------------------------------------------------

    def _opts(self, region: str, *depends: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.provider(region), depends_on=list(depends))

    def _tags(self, region: str, name: str, **extra: str) -> dict[str, str]:
        return tags.tags(self.args.stack, region, "witness", name, **extra)

    def _azs(self, region: str, index: int) -> list[str]:
        """One AZ: the witness is one member per region (for placement cluster, its cluster spans regions).
        Pinned like a registry region's (drkit:availabilityZones), with one zone."""
        pinned = stack_config.pinned_zones(region)
        if pinned is not None and len(pinned) != 1:
            raise ProvisionError(
                f"drkit:availabilityZones.{region} lists {len(pinned)} zones, but {region} is a witness region"
                f" (drkit:spec.recovery.witness.regions[{index}]) with one member: list exactly one zone"
            )
        return available_azs(_witness_region(region, index), self.provider(region))

    @property
    def endpoints(self) -> dict[str, str]:
        """Each witness member's client URL by region: what the guards are pointed at (--endpoints)."""
        port = self.args.registry.client_port
        return {member.region: f"{self.scheme}://{member.private_ip}:{port}" for member in self.members}

    # Network -------------------------------------------------------------------------------------------------

    def _peerings(self) -> None:
        """The witness VPC peered with every registry VPC drkit created (as the mirror peers primary and
        standby), and for placement cluster with the other witness VPCs, routes both ways."""
        for index, member in enumerate(self.members):
            for cluster in self.args.clusters:
                if cluster.network.created:
                    self._peer((member.region, self.networks[index]), (cluster.args.region.name, cluster.network))
            for other in range(index + 1, len(self.members)):
                self._peer((member.region, self.networks[index]), (self.members[other].region, self.networks[other]))

    def _peer(self, requester: tuple[str, Network], accepter_side: tuple[str, Network]) -> None:
        (source, mine), (target, theirs) = requester, accepter_side
        name = f"witness-{source}-to-{target}"
        peering = aws.ec2.VpcPeeringConnection(
            name,
            vpc_id=mine.vpc_id,
            peer_vpc_id=theirs.vpc_id,
            peer_region=target,
            auto_accept=False,
            tags=self._tags(source, name),
            opts=self._opts(source),
        )
        accepter = aws.ec2.VpcPeeringConnectionAccepter(
            name,
            vpc_peering_connection_id=peering.id,
            auto_accept=True,
            tags=self._tags(target, name),
            opts=self._opts(target),
        )
        for region, network, other in ((source, mine, theirs), (target, theirs, mine)):
            for table_index, table in enumerate(network.private_route_table_ids):
                aws.ec2.Route(
                    f"{name}-{region}-{table_index}",
                    route_table_id=table,
                    destination_cidr_block=other.cidr,
                    vpc_peering_connection_id=peering.id,
                    opts=self._opts(region, accepter),
                )

    def _security_group(self, index: int) -> aws.ec2.SecurityGroup:
        member, network = self.members[index], self.networks[index]
        registry = self.args.registry
        region = member.region
        group = aws.ec2.SecurityGroup(
            f"{member.name}-sg",
            vpc_id=network.vpc_id,
            description="drkit witness: client port from the registry regions' VPCs only",
            tags=self._tags(region, f"{member.name}-sg"),
            opts=self._opts(region),
        )

        def ingress(label: str, port: int, cidr: str, description: str) -> None:
            aws.vpc.SecurityGroupIngressRule(
                f"{member.name}-{label}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
                description=description,
                opts=self._opts(region),
            )

        def egress(label: str, cidr: str, port: int | None, description: str) -> None:
            aws.vpc.SecurityGroupEgressRule(
                f"{member.name}-{label}",
                security_group_id=group.id,
                ip_protocol="tcp" if port else "-1",
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
                description=description,
                opts=self._opts(region),
            )

        for cluster in self.args.clusters:
            name = cluster.args.region.name
            # The guards run on the members: the members' VPC range is where the lease is renewed from.
            ingress(f"client-from-{name}", registry.client_port, cluster.network.cidr, f"guards in {name}")
            # And the members' group may reach the witness (its egress is otherwise the VPC and HTTPS only).
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-members-to-{member.name}",
                security_group_id=cluster.member_sg.id,
                ip_protocol="tcp",
                from_port=registry.client_port,
                to_port=registry.client_port,
                cidr_ipv4=network.cidr,
                description=f"guard to the witness in {region}",
                opts=self._opts(name),
            )
        for other, other_network in zip(self.members, self.networks, strict=True):
            if other is member:
                continue
            ingress(f"peer-from-{other.region}", registry.peer_port, other_network.cidr, f"raft with {other.name}")
            egress(f"peer-to-{other.region}", other_network.cidr, registry.peer_port, f"raft with {other.name}")
        egress("to-vpc", network.cidr, None, "inside the VPC")
        egress("to-https", "0.0.0.0/0", 443, "AWS APIs and the etcd release download")
        return group

    # The member ----------------------------------------------------------------------------------------------

    def _member(self, index: int) -> aws.ec2.Instance:
        args, member, network = self.args, self.members[index], self.networks[index]
        region = member.region
        key = aws.kms.Key(
            f"{member.name}-key",
            description=f"drkit {args.stack}: the witness's data volume and TLS secret in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=self._tags(region, f"{member.name}-key"),
            opts=self._opts(region),
        )
        secret_arn: pulumi.Input[str] = ""
        secrets = []
        if args.registry.tls and args.ca is not None:
            issued = issue(
                member.name,
                args.ca,
                member.name,
                dns_names=[member.name, "localhost"],
                ip_addresses=[member.private_ip, "127.0.0.1"],
                server=True,
                parent=self,
            )
            secret = tls_secret(
                f"{member.name}-tls",
                issued,
                args.ca,
                key,
                self._tags(region, f"{member.name}-tls"),
                self._opts(region),
            )
            secrets.append(secret)
            secret_arn = secret.arn
        role = aws.iam.Role(
            f"{member.name}-role",
            assume_role_policy=assume_role_policy(),
            tags=self._tags(region, member.name),
            opts=self._opts(region),
        )
        aws.iam.RolePolicy(
            f"{member.name}-role",
            role=role.id,
            policy=pulumi.Output.all(key.arn, [s.arn for s in secrets]).apply(
                lambda parts: member_policy([], [parts[0]], parts[1])
            ),
            opts=self._opts(region),
        )
        aws.iam.RolePolicyAttachment(
            f"{member.name}-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=self._opts(region),
        )
        profile = aws.iam.InstanceProfile(f"{member.name}-profile", role=role.name, opts=self._opts(region))
        volume = aws.ebs.Volume(
            f"{member.name}-data",
            availability_zone=member.az,
            size=max(_DATA_GIB, math.ceil(args.registry.quota_backend_bytes / 1024**3)),
            type="gp3",
            encrypted=True,
            kms_key_id=key.arn,
            tags=self._tags(region, f"{member.name}-data", role="data", az=member.az),
            # The witness's data outlives the stack, as a member's does (detached and forgotten, not deleted).
            opts=self._opts(region).merge(pulumi.ResourceOptions(retain_on_delete=True)),
        )
        user_data = pulumi.Output.all(volume=volume.id, secret=secret_arn).apply(
            lambda parts: cloud_init.witness_user_data(self._boot(member, parts["volume"], parts["secret"]))
        )
        instance = aws.ec2.Instance(
            member.name,
            ami=amazon_linux(WITNESS_INSTANCE_TYPE, self.provider(region)).id,
            instance_type=WITNESS_INSTANCE_TYPE,
            subnet_id=network.subnet_ids[0],
            availability_zone=member.az,
            private_ip=member.private_ip,
            vpc_security_group_ids=[self.groups[index].id],
            iam_instance_profile=profile.name,
            user_data=user_data,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 1},
            root_block_device={"encrypted": True, "volume_type": "gp3", "volume_size": 16, "kms_key_id": key.arn},
            tags=self._tags(region, member.name, role=WITNESS_ROLE, member=member.name, az=member.az),
            # As for registry members: a new release reaches the witness through the rolling-upgrade path.
            # Fixed private IP, like the members: the old instance must free the address before its replacement.
            opts=self._opts(region).merge(
                pulumi.ResourceOptions(ignore_changes=["ami", "userData", "instanceType"], delete_before_replace=True)
            ),
        )
        aws.ec2.VolumeAttachment(
            f"{member.name}-data",
            device_name="/dev/sdf",
            volume_id=volume.id,
            instance_id=instance.id,
            stop_instance_before_detaching=True,
            opts=self._opts(region),
        )
        recovery_alarm(
            f"{member.name}-recover", region, instance, self._tags(region, f"{member.name}-recover"), self._opts(region)
        )
        return instance

    def _boot(self, member: WitnessMember, volume_id: str, secret_id: str) -> cloud_init.MemberBoot:
        return cloud_init.MemberBoot(
            stack=self.args.stack,
            region=member.region,
            version=self.args.registry.version,
            arch=architecture(WITNESS_INSTANCE_TYPE),
            tls_secret_id=secret_id,
            data_device=f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}",
            etcd_env=self.etcd_environment(member),
            role=WITNESS_ROLE,
        )

    def etcd_environment(self, member: WitnessMember) -> dict[str, str]:
        """The witness's etcd flags as ETCD_* variables; for placement cluster, one cluster of every member."""
        registry, scheme = self.args.registry, self.scheme
        peers = ",".join(f"{m.name}={scheme}://{m.private_ip}:{registry.peer_port}" for m in self.members)
        env = {
            "ETCD_NAME": member.name,
            "ETCD_DATA_DIR": cloud_init.DATA_DIR,
            "ETCD_LISTEN_PEER_URLS": f"{scheme}://0.0.0.0:{registry.peer_port}",
            "ETCD_LISTEN_CLIENT_URLS": f"{scheme}://0.0.0.0:{registry.client_port}",
            "ETCD_ADVERTISE_CLIENT_URLS": f"{scheme}://{member.private_ip}:{registry.client_port}",
            "ETCD_INITIAL_ADVERTISE_PEER_URLS": f"{scheme}://{member.private_ip}:{registry.peer_port}",
            "ETCD_INITIAL_CLUSTER": peers,
            "ETCD_INITIAL_CLUSTER_STATE": "new",
            "ETCD_INITIAL_CLUSTER_TOKEN": f"drkit-{self.args.stack}-witness",
            # Raft between witness regions crosses a continent: etcd's advice for wide-area clusters is a
            # heartbeat near the round trip and an election timeout of at least ten of them.
            "ETCD_HEARTBEAT_INTERVAL": "250" if len(self.members) > 1 else "100",
            "ETCD_ELECTION_TIMEOUT": "2500" if len(self.members) > 1 else "1000",
        }
        if registry.tls:
            env |= cloud_init.etcd_tls_env()
        return env


def witness_address(index: int) -> str:
    """The n-th witness member's fixed private address: the first subnet of its VPC, as create_network cuts
    it (layout.created_subnets), plus _FIRST_HOST. Known before anything exists, so the registry members'
    cloud-init can name the witness before the witness's own resources are created."""
    private, _public = created_subnets(witness_vpc_cidr(index), ["one-az"])
    return str(ipaddress.ip_network(private[0]).network_address + _FIRST_HOST)


def witness_urls(witness: model.Witness, registry: model.Registry) -> tuple[str, ...]:
    """The client URLs the guards are pointed at (the witnessEndpoints output holds the same ones)."""
    scheme = "https" if registry.tls else "http"
    return tuple(f"{scheme}://{witness_address(index)}:{registry.client_port}" for index in range(len(witness.regions)))


def _witness_region(name: str, index: int) -> model.Region:
    """The witness region as the network module takes a region: one AZ, its own /20 from the witness block."""
    return model.Region(
        index=index,
        name=name,
        provider="aws",
        role=WITNESS_ROLE,
        availability_zones=1,
        instance_type=WITNESS_INSTANCE_TYPE,
        members=1,
        members_overridden=False,
        network=model.Network(cidr=witness_vpc_cidr(index), vpc_id=None, subnet_ids=(), client_security_group_ids=()),
    )
