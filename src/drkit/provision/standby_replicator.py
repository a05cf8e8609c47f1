"""StandbyReplicator: keeps a standby region's cluster a copy of the primary's with `etcdctl make-mirror`.

A small instance in the standby VPC runs one systemd unit per mirrored prefix, reading from the primary's
internal NLB over an inter-region VPC peering and writing to the standby's NLB, with a client certificate
from the stack's CA. It is not a member: members stay identical in every region, and stopping the mirror
(the first step of a promotion) touches no member.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from drkit.provision import cloud_init, tags
from drkit.provision.cloud_init import mirrored_prefixes
from drkit.provision.machine import amazon_linux, architecture, assume_role_policy, recovery_alarm
from drkit.provision.registry_cluster import RegistryCluster, member_policy
from drkit.provision.tls import CertificateAuthority, issue
from drkit.provision.tls_delivery import tls_secret
from drkit.spec.model import Registry, Replication

TYPE = "drkit:provision:StandbyReplicator"
MIRROR_INSTANCE_TYPE = "t3.small"  # make-mirror is one watch stream; a member-sized instance would idle


@dataclass(frozen=True)
class StandbyReplicatorArgs:
    stack: str
    registry: Registry
    replication: Replication
    ca: CertificateAuthority | None  # None only when registry.tls is false
    primary: RegistryCluster
    standby: RegistryCluster


class StandbyReplicator(pulumi.ComponentResource):
    instance: aws.ec2.Instance
    private_ip: pulumi.Output[str]

    def __init__(self, name: str, args: StandbyReplicatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        self.args = args
        primary, standby = args.primary, args.standby
        self.region = standby.args.region.name
        self._peering(primary, standby)
        mirror_sg = self._security(primary, standby)
        self._mirror(name, mirror_sg)
        self.register_outputs(
            {
                "mirrorInstanceId": self.instance.id,
                "source": primary.client_endpoint,
                "destination": standby.client_endpoint,
            }
        )

    def _opts(self, provider: aws.Provider, *depends: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends))

    def _tags(self, region: str, name: str, **extra: str) -> dict[str, str]:
        return tags.tags(self.args.stack, region, "standby-replicator", name, **extra)

    def _peering(self, primary: RegistryCluster, standby: RegistryCluster) -> None:
        """Inter-region peering between the VPCs drkit created; with existing VPCs, connectivity is yours."""
        if not (primary.network.created and standby.network.created):
            return
        source, target = primary.args.region.name, standby.args.region.name
        name = f"{source}-to-{target}"
        peering = aws.ec2.VpcPeeringConnection(
            name,
            vpc_id=primary.network.vpc_id,
            peer_vpc_id=standby.network.vpc_id,
            peer_region=target,
            auto_accept=False,
            tags=self._tags(source, name),
            opts=self._opts(primary.provider),
        )
        accepter = aws.ec2.VpcPeeringConnectionAccepter(
            name,
            vpc_peering_connection_id=peering.id,
            auto_accept=True,
            tags=self._tags(target, name),
            opts=self._opts(standby.provider),
        )
        for cluster, other in ((primary, standby), (standby, primary)):
            for index, table in enumerate(cluster.network.private_route_table_ids):
                aws.ec2.Route(
                    f"{cluster.args.region.name}-{index}-to-{other.args.region.name}",
                    route_table_id=table,
                    destination_cidr_block=other.network.cidr,
                    vpc_peering_connection_id=peering.id,
                    opts=self._opts(cluster.provider, accepter),
                )

    def _security(self, primary: RegistryCluster, standby: RegistryCluster) -> aws.ec2.SecurityGroup:
        port = self.args.registry.client_port
        region = standby.args.region.name
        mirror_sg = aws.ec2.SecurityGroup(
            f"{region}-mirror",
            vpc_id=standby.network.vpc_id,
            description="drkit make-mirror (no inbound)",
            tags=self._tags(region, f"{region}-mirror"),
            opts=self._opts(standby.provider),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{primary.args.region.name}-lb-from-{region}-mirror",
            security_group_id=primary.client_lb_sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=standby.network.cidr,
            description=f"make-mirror from {region} over the peering",
            opts=self._opts(primary.provider),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{region}-lb-from-mirror",
            security_group_id=standby.client_lb_sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=mirror_sg.id,
            description="make-mirror writes",
            opts=self._opts(standby.provider),
        )
        for label, cidr, low, high, protocol in (
            ("to-primary", primary.network.cidr, port, port, "tcp"),
            ("to-vpc", standby.network.cidr, None, None, "-1"),
            ("to-https", "0.0.0.0/0", 443, 443, "tcp"),
        ):
            aws.vpc.SecurityGroupEgressRule(
                f"{region}-mirror-{label}",
                security_group_id=mirror_sg.id,
                ip_protocol=protocol,
                from_port=low,
                to_port=high,
                cidr_ipv4=cidr,
                description=f"make-mirror {label}",
                opts=self._opts(standby.provider),
            )
        return mirror_sg

    def _mirror(self, name: str, mirror_sg: aws.ec2.SecurityGroup) -> None:
        args = self.args
        standby = args.standby
        provider = standby.provider
        region = self.region
        secret_arn: pulumi.Input[str] = ""
        secrets = []
        if args.registry.tls and args.ca is not None:
            issued = issue(f"{name}", args.ca, f"{name} (make-mirror)", server=False, parent=self)
            secret = tls_secret(
                f"{name}-tls", issued, args.ca, standby.kms_key, self._tags(region, f"{name}-tls"), self._opts(provider)
            )
            secrets.append(secret)
            secret_arn = secret.arn
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy(),
            tags=self._tags(region, name),
            opts=self._opts(provider),
        )
        aws.iam.RolePolicy(
            f"{name}-role",
            role=role.id,
            policy=pulumi.Output.all(standby.kms_key.arn, [s.arn for s in secrets]).apply(
                lambda parts: member_policy([], [parts[0]], parts[1])
            ),
            opts=self._opts(provider),
        )
        # A failover stops and re-points the mirror through SSM Run Command (drkit.failover.aws): the agent on
        # the instance needs Systems Manager's managed-instance permissions, as members have.
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=self._opts(provider),
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=self._opts(provider))
        placement = standby.placements[0]
        prefixes = mirrored_prefixes(args.replication)
        user_data = pulumi.Output.all(
            source=args.primary.client_endpoint, destination=standby.client_endpoint, secret=secret_arn
        ).apply(
            lambda parts: cloud_init.mirror_user_data(
                cloud_init.MirrorBoot(
                    stack=args.stack,
                    region=region,
                    version=args.registry.version,
                    arch=architecture(MIRROR_INSTANCE_TYPE),
                    tls_secret_id=parts["secret"],
                    mirror_arguments=tuple(
                        cloud_init.mirror_arguments(parts["source"], parts["destination"], prefix, args.registry.tls)
                        for prefix in prefixes
                    ),
                )
            )
        )
        image = amazon_linux(MIRROR_INSTANCE_TYPE, provider)
        self.instance = aws.ec2.Instance(
            name,
            ami=image.id,
            instance_type=MIRROR_INSTANCE_TYPE,
            subnet_id=standby.network.subnet_ids[0],
            availability_zone=placement.az,
            vpc_security_group_ids=[mirror_sg.id],
            iam_instance_profile=profile.name,
            user_data=user_data,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 1},
            root_block_device={
                "encrypted": True,
                "volume_type": "gp3",
                "volume_size": 16,
                "kms_key_id": standby.kms_key.arn,
            },
            tags=self._tags(region, name, role="mirror", az=placement.az),
            opts=self._opts(provider).merge(pulumi.ResourceOptions(ignore_changes=["ami"])),
        )
        self.private_ip = self.instance.private_ip
        recovery_alarm(
            f"{name}-recover", region, self.instance, self._tags(region, f"{name}-recover"), self._opts(provider)
        )
