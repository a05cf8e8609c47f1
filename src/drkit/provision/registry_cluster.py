"""RegistryCluster: one region's etcd cluster on EC2, spread round-robin over the region's AZs.

Network (new or existing VPC), security groups (peer port only from the cluster itself, client port only
from the declared CIDRs and groups and the load balancer, nothing from 0.0.0.0/0), one instance per member
at a fixed private IP with an encrypted gp3 data volume, an instance profile that may write backups, an
auto-recovery alarm, cloud-init installing the spec's etcd under systemd with TLS, and an internal NLB.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from drkit.provision import cloud_init, stack_config, tags
from drkit.provision.backup_vault import account_prefix
from drkit.provision.errors import ProvisionError
from drkit.provision.etcd_config import member_environment
from drkit.provision.layout import (
    MemberPlacement,
    client_endpoints,
    joins_running_cluster,
    place_members,
)
from drkit.provision.machine import amazon_linux, architecture, assume_role_policy, recovery_alarm
from drkit.provision.network import Network, available_azs, create_network, existing_network
from drkit.provision.ssm_transfer import transfer_bucket, transfer_bucket_name
from drkit.provision.tls import CertificateAuthority, issue
from drkit.provision.tls_delivery import tls_secret
from drkit.spec.model import Region, Registry

TYPE = "drkit:provision:RegistryCluster"
_GIB = 1024**3
# Member properties AWS can change only by stopping (or replacing) the instance: never all members at once.
MEMBER_IGNORED_CHANGES = ("ami", "userData", "instanceType")


def route53_health_checkers(region: str) -> str:
    """Route 53's health checkers, as the AWS-managed prefix list each region has under its own name."""
    return f"com.amazonaws.{region}.route53-healthchecks"


@dataclass(frozen=True)
class RegistryClusterArgs:
    stack: str
    region: Region
    registry: Registry
    ca: CertificateAuthority | None  # None only when registry.tls is false
    endpoint_type: str | None  # route53-failover needs a public health listener; None: no global endpoint
    endpoint_name: str | None = None  # the global DNS name clients use, added to the members' certificates
    # Other names clients reach the members by (the Global Accelerator's DNS name), in their certificates too.
    extra_dns_names: list[pulumi.Input[str]] = field(default_factory=list)
    backup_bucket_arns: list[pulumi.Input[str]] = field(default_factory=list)
    backup_key_arns: list[pulumi.Input[str]] = field(default_factory=list)
    # Automatic promotion: the guards' witness and timing (topology builds it from recovery.witness); each
    # member's guard also gets its region's member URLs here.
    guard: cloud_init.GuardBoot | None = None


class RegistryCluster(pulumi.ComponentResource):
    cloud = "aws"
    network: Network
    placements: list[MemberPlacement]
    instances: list[aws.ec2.Instance]
    member_sg: aws.ec2.SecurityGroup
    client_lb_sg: aws.ec2.SecurityGroup
    client_lb: aws.lb.LoadBalancer
    health_lb: aws.lb.LoadBalancer | None
    kms_key: aws.kms.Key

    def __init__(
        self, name: str, args: RegistryClusterArgs, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.args = args
        self.provider = provider
        region = args.region
        self.scheme = "https" if args.registry.tls else "http"
        if region.network.vpc_id:
            # The existing subnets decide the AZs; no look-up that an AZ incident could change.
            self.network = existing_network(region, provider)
        else:
            self.network = create_network(args.stack, region, available_azs(region, provider), self, provider)
        if args.endpoint_type == "route53-failover" and not self.network.created:
            raise ProvisionError(
                f"drkit:spec.regions[{region.index}].network: route53-failover health checks reach each region"
                " through a public health listener, which drkit builds only in a VPC it creates: drop vpcId/subnetIds"
                " or use globalEndpoint.type: global-accelerator"
            )
        self.placements = place_members(region, self.network.subnets)
        self.bootstrap_members = self._bootstrap_members()
        self.kms_key = aws.kms.Key(
            f"{region.name}-registry-key",
            description=f"drkit {args.stack}: registry data volumes and TLS secrets in {region.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=self._tags(f"{region.name}-registry-key"),
            # The data volumes and TLS secrets are encrypted with it: `pulumi destroy` leaves it (teardown:
            # docs/provisioning.md), and a change that would replace it stops at `protect`.
            opts=self._opts(protect=True, retain_on_delete=True),
        )
        # Ansible reaches the members over SSM (no SSH port, no public address): files go through this bucket.
        prefix = account_prefix(args.stack, provider)
        self.transfer_bucket_name = transfer_bucket_name(prefix, region.name)
        transfer_bucket(args.stack, region.name, prefix, self.kms_key.arn, self, provider)
        self._security_groups()
        self._load_balancers()
        secrets = self._tls_secrets()
        self.tls_secret_arns = [secret.arn for secret in secrets]  # by member index (the inventory's refresh)
        profile = self._instance_profile(secrets)
        self._members(secrets, profile)
        self.register_outputs(
            {
                "vpcId": self.network.vpc_id,
                "clientEndpoint": self.client_endpoint,
                "memberIps": [member.private_ip for member in self.placements],
                "instanceIds": [instance.id for instance in self.instances],
                "ssmTransferBucket": self.transfer_bucket_name,
                # Write this down as drkit:bootstrapMembers after the first `pulumi up` (docs/provisioning.md).
                "bootstrapMembers": self.bootstrap_members,
            }
        )

    # Helpers -------------------------------------------------------------------------------------------------

    def _bootstrap_members(self) -> int:
        return bootstrap_count(self.args.region)

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.provider, **kwargs)

    def _tags(self, name: str, **extra: str) -> dict[str, str]:
        return tags.tags(self.args.stack, self.args.region.name, "registry-cluster", name, **extra)

    @property
    def client_endpoint(self) -> pulumi.Output[str]:
        """The cluster's client URL through its internal NLB."""
        port = self.args.registry.client_port
        return pulumi.Output.concat(self.scheme, "://", self.client_lb.dns_name, f":{port}")

    @property
    def cluster_role(self) -> str:
        return self.args.region.role

    def _ingress(
        self,
        name: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        *,
        cidr_ipv4: str | None = None,
        referenced_security_group_id: pulumi.Input[str] | None = None,
        prefix_list_id: str | None = None,
    ) -> None:
        """One port, from exactly one source: a CIDR, a security group or a managed prefix list."""
        aws.vpc.SecurityGroupIngressRule(
            name,
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            cidr_ipv4=cidr_ipv4,
            referenced_security_group_id=referenced_security_group_id,
            prefix_list_id=prefix_list_id,
            opts=self._opts(),
        )

    # Security groups -----------------------------------------------------------------------------------------

    def _security_groups(self) -> None:
        prefix = self.args.region.name
        registry = self.args.registry
        network = self.network
        self.member_sg = aws.ec2.SecurityGroup(
            f"{prefix}-members",
            vpc_id=network.vpc_id,
            description="drkit registry members",
            tags=self._tags(f"{prefix}-members"),
            opts=self._opts(),
        )
        self.client_lb_sg = aws.ec2.SecurityGroup(
            f"{prefix}-client-lb",
            vpc_id=network.vpc_id,
            description="drkit registry client load balancer",
            tags=self._tags(f"{prefix}-client-lb"),
            opts=self._opts(),
        )
        members, client_lb = self.member_sg, self.client_lb_sg
        self._ingress(
            f"{prefix}-peer-from-members",
            members,
            registry.peer_port,
            "raft between members",
            referenced_security_group_id=members.id,
        )
        self._ingress(
            f"{prefix}-client-from-members",
            members,
            registry.client_port,
            "etcdctl between members",
            referenced_security_group_id=members.id,
        )
        self._ingress(
            f"{prefix}-client-from-lb",
            members,
            registry.client_port,
            "clients through the NLB",
            referenced_security_group_id=client_lb.id,
        )
        self._ingress(
            f"{prefix}-metrics-from-lb",
            members,
            registry.metrics_port,
            "NLB health checks",
            referenced_security_group_id=client_lb.id,
        )
        self._ingress(
            f"{prefix}-lb-from-members",
            client_lb,
            registry.client_port,
            "members through the NLB",
            referenced_security_group_id=members.id,
        )
        for index, cidr in enumerate(registry.client_cidrs):
            self._ingress(
                f"{prefix}-lb-from-cidr-{index}",
                client_lb,
                registry.client_port,
                "declared client network",
                cidr_ipv4=cidr,
            )
            if self.args.endpoint_type == "global-accelerator":
                # Global Accelerator keeps the client's address and reaches the instances directly.
                self._ingress(
                    f"{prefix}-client-from-cidr-{index}",
                    members,
                    registry.client_port,
                    "declared client network via Global Accelerator",
                    cidr_ipv4=cidr,
                )
        for index, group_id in enumerate(self.args.region.network.client_security_group_ids):
            self._ingress(
                f"{prefix}-lb-from-group-{index}",
                client_lb,
                registry.client_port,
                "declared client group",
                referenced_security_group_id=group_id,
            )
        if self.args.endpoint_type == "global-accelerator":
            # Global Accelerator health-checks instance endpoints from its interfaces inside the VPC.
            self._ingress(
                f"{prefix}-metrics-from-vpc",
                members,
                registry.metrics_port,
                "accelerator health checks",
                cidr_ipv4=network.cidr,
            )
            # Health checks of EC2 instance endpoints come from Route 53's health checkers (AWS's Global
            # Accelerator guide, "Health check options"): their regional prefix list, etcd's plain /health only.
            checkers = aws.ec2.get_managed_prefix_list(
                name=route53_health_checkers(self.args.region.name), opts=pulumi.InvokeOptions(provider=self.provider)
            )
            self._ingress(
                f"{prefix}-metrics-from-route53",
                members,
                registry.metrics_port,
                "accelerator health checks from Route 53 health checkers",
                prefix_list_id=checkers.id,
            )
        for group, label in ((members, "members"), (client_lb, "client-lb")):
            aws.vpc.SecurityGroupEgressRule(
                f"{prefix}-{label}-to-vpc",
                security_group_id=group.id,
                ip_protocol="-1",
                cidr_ipv4=network.cidr,
                description="inside the VPC",
                opts=self._opts(),
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{prefix}-members-to-https",
            security_group_id=members.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="AWS APIs and the etcd release download",
            opts=self._opts(),
        )

    # Load balancers ------------------------------------------------------------------------------------------

    def _load_balancers(self) -> None:
        prefix = self.args.region.name
        registry = self.args.registry
        self.client_lb = aws.lb.LoadBalancer(
            f"{prefix}-client",
            internal=True,
            load_balancer_type="network",
            subnets=self.network.subnet_ids,
            security_groups=[self.client_lb_sg.id],
            enable_cross_zone_load_balancing=True,
            # The failover control plane finds a region's client endpoint by this role (to re-point a mirror).
            tags=self._tags(f"{prefix}-client", role=tags.CLIENT_LB_ROLE),
            opts=self._opts(),
        )
        self.client_targets = self._target_group(f"{prefix}-client", registry.client_port)
        aws.lb.Listener(
            f"{prefix}-client",
            load_balancer_arn=self.client_lb.arn,
            port=registry.client_port,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": self.client_targets.arn}],
            opts=self._opts(),
        )
        self.health_lb = None
        self.health_targets: aws.lb.TargetGroup | None = None
        if self.args.endpoint_type != "route53-failover":
            return
        # Route 53 health checkers live on the internet: they reach only etcd's plain-HTTP /health listener, through
        # a public NLB whose group admits Route 53's own address ranges. Registry ports stay internal.
        health_sg = aws.ec2.SecurityGroup(
            f"{prefix}-health-lb",
            vpc_id=self.network.vpc_id,
            description="drkit registry health listener",
            tags=self._tags(f"{prefix}-health-lb"),
            opts=self._opts(),
        )
        checkers = aws.ec2.get_managed_prefix_list(
            name=route53_health_checkers(self.args.region.name), opts=pulumi.InvokeOptions(provider=self.provider)
        )
        self._ingress(
            f"{prefix}-health-from-route53",
            health_sg,
            registry.metrics_port,
            "Route 53 health checkers",
            prefix_list_id=checkers.id,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{prefix}-health-lb-to-vpc",
            security_group_id=health_sg.id,
            ip_protocol="-1",
            cidr_ipv4=self.network.cidr,
            description="inside the VPC",
            opts=self._opts(),
        )
        self._ingress(
            f"{prefix}-metrics-from-health-lb",
            self.member_sg,
            registry.metrics_port,
            "Route 53 health checks through the health NLB",
            referenced_security_group_id=health_sg.id,
        )
        self.health_lb = aws.lb.LoadBalancer(
            f"{prefix}-health",
            internal=False,
            load_balancer_type="network",
            subnets=self.network.public_subnet_ids,
            security_groups=[health_sg.id],
            enable_cross_zone_load_balancing=True,
            tags=self._tags(f"{prefix}-health"),
            opts=self._opts(),
        )
        self.health_targets = self._target_group(f"{prefix}-health", registry.metrics_port)
        aws.lb.Listener(
            f"{prefix}-health",
            load_balancer_arn=self.health_lb.arn,
            port=registry.metrics_port,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": self.health_targets.arn}],
            opts=self._opts(),
        )

    def _target_group(self, name: str, port: int) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            name,
            port=port,
            protocol="TCP",
            vpc_id=self.network.vpc_id,
            target_type="instance",
            deregistration_delay=10,
            health_check={
                "protocol": "HTTP",
                "port": str(self.args.registry.metrics_port),
                "path": "/health",
                "interval": 10,
                "healthy_threshold": 2,
                "unhealthy_threshold": 2,
            },
            tags=self._tags(name),
            opts=self._opts(),
        )

    # TLS, identity and members -------------------------------------------------------------------------------

    def _tls_secrets(self) -> list[aws.secretsmanager.Secret]:
        if not self.args.registry.tls or self.args.ca is None:
            return []
        dns_names: list[pulumi.Input[str]] = ["localhost", self.client_lb.dns_name]
        if self.args.endpoint_name:
            dns_names.append(self.args.endpoint_name)
        dns_names.extend(self.args.extra_dns_names)
        ca = self.args.ca
        secrets = []
        for member in self.placements:
            issued = issue(
                member.name,
                ca,
                member.name,
                dns_names=[member.name, *dns_names],
                ip_addresses=[member.private_ip, "127.0.0.1"],
                server=True,
                parent=self,
            )
            secrets.append(
                tls_secret(
                    f"{member.name}-tls",
                    issued,
                    self.args.ca,
                    self.kms_key,
                    self._tags(f"{member.name}-tls", member=member.name),
                    self._opts(),
                )
            )
        return secrets

    def _instance_profile(self, secrets: list[aws.secretsmanager.Secret]) -> aws.iam.InstanceProfile:
        prefix = self.args.region.name
        role = aws.iam.Role(
            f"{prefix}-member",
            assume_role_policy=assume_role_policy(),
            tags=self._tags(f"{prefix}-member"),
            opts=self._opts(),
        )
        policy = pulumi.Output.all(
            buckets=self.args.backup_bucket_arns,
            keys=[*self.args.backup_key_arns, self.kms_key.arn],
            secrets=[secret.arn for secret in secrets],
        ).apply(
            lambda parts: member_policy(
                parts["buckets"], parts["keys"], parts["secrets"], self.args.stack if self.args.guard else ""
            )
        )
        aws.iam.RolePolicy(f"{prefix}-member", role=role.id, policy=policy, opts=self._opts())
        aws.iam.RolePolicyAttachment(
            f"{prefix}-member-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=self._opts(),
        )
        return aws.iam.InstanceProfile(f"{prefix}-member", role=role.name, opts=self._opts())

    def _members(self, secrets: list[aws.secretsmanager.Secret], profile: aws.iam.InstanceProfile) -> None:
        region = self.args.region
        registry = self.args.registry
        image = amazon_linux(region.instance_type, self.provider)
        size_gib = max(20, math.ceil(4 * registry.quota_backend_bytes / _GIB))  # db, WAL and snapshot headroom
        self.instances = []
        for member in self.placements:
            member_tags = self._tags(
                member.name, role="member", member=member.name, az=member.az, cluster_role=region.role
            )
            volume = aws.ebs.Volume(
                f"{member.name}-data",
                availability_zone=member.az,
                size=size_gib,
                type="gp3",
                iops=3000,
                throughput=125,
                encrypted=True,
                kms_key_id=self.kms_key.arn,
                tags=self._tags(f"{member.name}-data", role="data", member=member.name, az=member.az),
                # A member's data outlives the stack: `pulumi destroy` (or removing the member) detaches and
                # forgets the volume, it does not delete it.
                opts=self._opts(retain_on_delete=True),
            )
            secret_id: pulumi.Input[str] = secrets[member.index].arn if secrets else ""
            user_data = pulumi.Output.all(volume=volume.id, secret=secret_id).apply(self._user_data(member))
            instance = aws.ec2.Instance(
                member.name,
                ami=image.id,
                instance_type=region.instance_type,
                subnet_id=self.network.subnet_ids[member.az_index],
                availability_zone=member.az,
                private_ip=member.private_ip,
                vpc_security_group_ids=[self.member_sg.id],
                iam_instance_profile=profile.name,
                user_data=user_data,
                metadata_options={
                    "http_tokens": "required",
                    "http_endpoint": "enabled",
                    "http_put_response_hop_limit": 1,
                },
                root_block_device={
                    "encrypted": True,
                    "volume_type": "gp3",
                    "volume_size": 16,
                    "kms_key_id": self.kms_key.arn,
                },
                tags=member_tags,
                # cloud-init runs the user data at first boot only, and AWS applies a change to it (and to the
                # instance type) by stopping the instance: a new registry.version or instanceType in the spec
                # would stop every member at once. A new release (or image) reaches members through the
                # rolling-upgrade playbook, a new instance type one member at a time (docs/provisioning.md).
                # Its private IP is fixed (peers know it by it): a replacement cannot be created while the old
                # instance holds the address, so the old one goes first (the data volume is kept and re-attached).
                opts=self._opts(ignore_changes=list(MEMBER_IGNORED_CHANGES), delete_before_replace=True),
            )
            aws.ec2.VolumeAttachment(
                f"{member.name}-data",
                device_name="/dev/sdf",
                volume_id=volume.id,
                instance_id=instance.id,
                stop_instance_before_detaching=True,
                opts=self._opts(),
            )
            recovery_alarm(
                f"{member.name}-recover", region.name, instance, self._tags(f"{member.name}-recover"), self._opts()
            )
            aws.lb.TargetGroupAttachment(
                f"{member.name}-client",
                target_group_arn=self.client_targets.arn,
                target_id=instance.id,
                port=registry.client_port,
                opts=self._opts(),
            )
            if self.health_targets is not None:
                aws.lb.TargetGroupAttachment(
                    f"{member.name}-health",
                    target_group_arn=self.health_targets.arn,
                    target_id=instance.id,
                    port=registry.metrics_port,
                    opts=self._opts(),
                )
            self.instances.append(instance)

    def _user_data(self, member: MemberPlacement) -> Callable[[dict[str, str]], str]:
        def render(parts: dict[str, str]) -> str:
            return cloud_init.member_user_data(self._boot(member, parts["volume"], parts["secret"]))

        return render

    def _boot(self, member: MemberPlacement, volume_id: str, secret_id: str) -> cloud_init.MemberBoot:
        return cloud_init.MemberBoot(
            stack=self.args.stack,
            region=self.args.region.name,
            version=self.args.registry.version,
            arch=architecture(self.args.region.instance_type),
            tls_secret_id=secret_id,
            data_device=f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}",
            etcd_env=self.etcd_environment(member),
            role=self.args.region.role,
            joining=joins_running_cluster(member, self.bootstrap_members),
            guard=(
                dataclasses.replace(self.args.guard, members=tuple(self.member_endpoints.split(",")))
                if self.args.guard
                else None
            ),
        )

    def etcd_environment(self, member: MemberPlacement) -> dict[str, str]:
        """etcd's configuration as ETCD_* variables (etcd reads them as its flags)."""
        return member_environment(
            self.args.registry,
            self.args.stack,
            self.args.region.name,
            self.scheme,
            self.placements,
            self.bootstrap_members,
            member,
        )

    def dns_record(self) -> tuple[str, pulumi.Input[str]]:
        """What the global endpoint's record points at: the internal client NLB (a CNAME to its DNS name)."""
        return "CNAME", self.client_lb.dns_name

    def health_check_target(self) -> tuple[pulumi.Input[str] | None, pulumi.Input[str] | None]:
        """Where Route 53 checks this region's /health, as (fqdn, ip_address): the public health NLB's name."""
        assert self.health_lb is not None, "built for every cluster when the endpoint is route53-failover"
        return self.health_lb.dns_name, None

    @property
    def member_endpoints(self) -> str:
        return client_endpoints(self.placements, self.args.registry.client_port, self.scheme)


def bootstrap_count(region: Region) -> int:
    """How many members formed the region's cluster: drkit:bootstrapMembers once written down, else (the
    stack's first `pulumi up`) every member the spec asks for. The same on AWS and GCP."""
    recorded = stack_config.bootstrap_members(region.name)
    if recorded is None:
        return region.members
    if recorded > region.members:
        raise ProvisionError(
            f"drkit:bootstrapMembers.{region.name} is {recorded} but drkit:spec.regions[{region.index}].members is"
            f" {region.members}: members are removed with `etcdctl member remove` first, and the bootstrap"
            " count never changes after the first `pulumi up`; lower regions[].members only down to it"
        )
    return recorded


def member_policy(buckets: list[str], keys: list[str], secrets: list[str], promoting_stack: str = "") -> str:
    """What a member may do: write and read snapshots (never delete: lifecycle and Object Lock decide), use the
    KMS keys they are encrypted with, and read the cluster's TLS secrets."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": keys},
    ]
    if buckets:
        statements.append({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": buckets})
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [f"{bucket}/*" for bucket in buckets],
            }
        )
    if secrets:
        statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    if promoting_stack:
        statements.extend(promotion_statements(promoting_stack))
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def promotion_statements(stack: str) -> list[dict[str, Any]]:
    """What a standby's guard needs to promote through the failover engine (drkit.failover.aws): change only
    this stack's tagged instances and security groups, its Route 53 health checks and Global Accelerator
    endpoint groups, its SSM parameters under /drkit/<stack>/, and run commands on its own tagged instances.
    Reads (Describe*, List*) cannot be scoped by tag in IAM; changes to EC2 and SSM commands are."""
    tagged = {"StringEquals": {"aws:ResourceTag/drkit:stack": stack}}
    return [
        {
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeTags",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "route53:ListHealthChecks",
                "route53:ListTagsForResources",
                "globalaccelerator:ListAccelerators",
                "globalaccelerator:ListListeners",
                "globalaccelerator:ListEndpointGroups",
                "ssm:GetCommandInvocation",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:StopInstances",
                "ec2:StartInstances",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            "Resource": "*",
            "Condition": tagged,
        },
        {"Effect": "Allow", "Action": ["ssm:SendCommand"], "Resource": "*", "Condition": tagged},
        {
            "Effect": "Allow",
            "Action": ["ssm:SendCommand"],
            "Resource": "arn:aws:ssm:*::document/AWS-RunShellScript",
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter"],
            "Resource": f"arn:aws:ssm:*:*:parameter/drkit/{stack}/*",
        },
        # Route 53 and Global Accelerator take no resource-tag conditions: scoped to their resource types only.
        {"Effect": "Allow", "Action": ["route53:UpdateHealthCheck"], "Resource": "arn:aws:route53:::healthcheck/*"},
        {
            "Effect": "Allow",
            "Action": ["globalaccelerator:UpdateEndpointGroup"],
            "Resource": "arn:aws:globalaccelerator::*:accelerator/*",
        },
    ]
