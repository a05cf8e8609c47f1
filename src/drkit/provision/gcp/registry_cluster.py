"""GcpRegistryCluster: one GCP region's etcd cluster on GCE, spread round-robin over >= 3 zones.

The AWS RegistryCluster's interface and layout on GCP: the same member names, fixed private addresses,
cloud-init (release directories, /opt/etcd/current, etcd.service, heartbeat) and TLS from the stack's CA;
persistent disks and boot disks encrypted with a Cloud KMS key of the region (CMEK); TLS material in Secret
Manager (CMEK too); an internal passthrough TCP load balancer on the client port; firewall rules that open the
peer port only among members, the client port only to registry.clientCidrs and the region's own range, the
metrics port only to Google's health probes (and Route 53's checkers, for route53-failover), and SSH only to
IAP's forwarding range. Nothing is open to 0.0.0.0/0 (DR405).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_gcp as gcp

from drkit.provision import cloud_init, tags
from drkit.provision.etcd_config import member_environment
from drkit.provision.gcp.network import (
    GOOGLE_HEALTH_CHECK_RANGES,
    IAP_TCP_RANGE,
    GcpNetwork,
    create_gcp_network,
    gcp_zones,
    load_balancer_address,
)
from drkit.provision.layout import (
    MemberPlacement,
    client_endpoints,
    joins_running_cluster,
    place_members,
    resource_prefix,
)
from drkit.provision.registry_cluster import RegistryClusterArgs, bootstrap_count
from drkit.provision.tls import IssuedCertificate, bundle, issue

TYPE = "drkit:provision:GcpRegistryCluster"
_GIB = 1024**3
IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64"  # ships cloud-init (reads the user-data metadata key) and python3
ARM_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-arm64"
DATA_DEVICE_NAME = "etcd-data"
# As on AWS: a change to these would restart (or replace) every member at once; they roll through playbooks.
MEMBER_IGNORED_CHANGES = ("metadata", "machineType", "bootDisk")
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def architecture(machine_type: str) -> str:
    """The etcd release a GCE machine type runs: arm64 on Tau T2A and Axion (C4A), amd64 otherwise."""
    return "arm64" if machine_type.startswith(("t2a-", "c4a-")) else "amd64"


def member_tag(stack: str) -> str:
    """The network tag the firewall rules target: the members of this stack, and nothing else."""
    return f"drkit-{stack}-member"[:63]


class GcpRegistryCluster(pulumi.ComponentResource):
    """The same attributes the program reads from RegistryCluster: args, provider, placements, instances,
    client_endpoint, bootstrap_members, tls_secret_arns (here Secret Manager names), transfer_bucket_name."""

    cloud = "gcp"
    network: GcpNetwork
    placements: list[MemberPlacement]
    instances: list[gcp.compute.Instance]
    kms_key: gcp.kms.CryptoKey

    def __init__(
        self,
        name: str,
        args: RegistryClusterArgs,
        provider: gcp.Provider,
        project: str,
        health_checker_cidrs: pulumi.Input[list[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`health_checker_cidrs`: Route 53's health checkers (route53-failover), the only sources besides
        Google's probes that may reach the metrics port, through the external health listener."""
        super().__init__(TYPE, name, None, opts)
        self.args, self.provider, self.project = args, provider, project
        region = args.region
        self.scheme = "https" if args.registry.tls else "http"
        self.prefix = resource_prefix(args.stack, region.name)
        self.tag = member_tag(args.stack)
        self.network = create_gcp_network(args.stack, region, gcp_zones(region, provider), self, provider)
        self.placements = place_members(region, self.network.subnets)
        self.bootstrap_members = bootstrap_count(region)
        self.lb_address = load_balancer_address(self.network.cidr)
        self.transfer_bucket_name = ""  # Ansible reaches GCE members over IAP/SSH, no transfer bucket
        self._kms()
        self.service_account = gcp.serviceaccount.Account(
            f"{region.name}-member",
            account_id=f"drkit-{args.stack}-{region.name}"[:30].rstrip("-"),
            display_name=f"drkit {args.stack} registry members in {region.name}",
            opts=self._opts(),
        )
        self._firewalls(health_checker_cidrs)
        secrets = self._tls_secrets()
        self.tls_secret_arns = [s.name for s in secrets]
        self._members(secrets)
        self._load_balancers(health_checker_cidrs is not None)
        self.register_outputs({"networkId": self.network.network.id, "clientAddress": self.lb_address})

    # --- the interface shared with the AWS cluster -------------------------------------------------------

    @property
    def client_endpoint(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(f"{self.scheme}://{self.lb_address}:{self.args.registry.client_port}")

    def dns_record(self) -> tuple[str, pulumi.Input[str]]:
        """What the global endpoint's record points at: the internal load balancer's address (an A record)."""
        return "A", self.lb_address

    def health_check_target(self) -> tuple[pulumi.Input[str] | None, pulumi.Input[str] | None]:
        """Where Route 53 checks this region's /health, as (fqdn, ip_address): the external health
        listener's address."""
        assert self.health_address is not None, "built only for route53-failover"
        return None, self.health_address.address

    @property
    def member_endpoints(self) -> str:
        return client_endpoints(self.placements, self.args.registry.client_port, self.scheme)

    # --- parts -----------------------------------------------------------------------------------------

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.provider, **kwargs)

    def _labels(self, **extra: str) -> dict[str, str]:
        return tags.labels(self.args.stack, self.args.region.name, "registry-cluster", **extra)

    def _kms(self) -> None:
        region = self.args.region.name
        ring = gcp.kms.KeyRing(
            f"{region}-keyring",
            name=self.prefix,
            location=region,
            # Key rings cannot be deleted in GCP; `pulumi destroy` forgets it.
            opts=self._opts(retain_on_delete=True),
        )
        self.kms_key = gcp.kms.CryptoKey(
            f"{region}-registry-key",
            name="registry",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period="7776000s",  # 90 days
            labels=self._labels(role="registry-key"),
            # The disks and TLS secrets are encrypted with it: kept by `pulumi destroy`, and a change that would
            # replace it stops at `protect` (as the AWS KMS key).
            opts=self._opts(protect=True, retain_on_delete=True),
        )
        number = gcp.organizations.get_project(
            project_id=self.project, opts=pulumi.InvokeOptions(provider=self.provider)
        )
        # Persistent disks and Secret Manager encrypt with the key as their service agents, which need the role.
        for agent, account in (
            ("compute", f"service-{number.number}@compute-system.iam.gserviceaccount.com"),
            ("secretmanager", f"service-{number.number}@gcp-sa-secretmanager.iam.gserviceaccount.com"),
        ):
            gcp.kms.CryptoKeyIAMMember(
                f"{region}-key-{agent}",
                crypto_key_id=self.kms_key.id,
                role=KMS_ROLE,
                member=f"serviceAccount:{account}",
                opts=self._opts(),
            )

    def _firewall(self, name: str, ports: list[int], **sources: Any) -> None:
        gcp.compute.Firewall(
            f"{self.args.region.name}-{name}",
            name=f"{self.prefix}-{name}",
            network=self.network.network.id,
            direction="INGRESS",
            allows=[{"protocol": "tcp", "ports": [str(port) for port in ports]}],
            target_tags=[self.tag],
            **sources,
            opts=self._opts(),
        )

    def _firewalls(self, health_checker_cidrs: pulumi.Input[list[str]] | None) -> None:
        registry = self.args.registry
        self._firewall("peer", [registry.peer_port], source_tags=[self.tag])
        # A passthrough load balancer keeps the client's address: the rule names the clients themselves.
        self._firewall("client", [registry.client_port], source_ranges=[*registry.client_cidrs, self.network.cidr])
        self._firewall(
            "metrics", [registry.metrics_port], source_ranges=[*GOOGLE_HEALTH_CHECK_RANGES, self.network.cidr]
        )
        if health_checker_cidrs is not None:
            self._firewall("route53-health", [registry.metrics_port], source_ranges=health_checker_cidrs)
        # Ansible over IAP TCP forwarding (no external address, no bastion): docs/provisioning.md.
        self._firewall("iap-ssh", [22], source_ranges=[IAP_TCP_RANGE])

    def _tls_secrets(self) -> list[gcp.secretmanager.Secret]:
        if not self.args.registry.tls or self.args.ca is None:
            return []
        ca = self.args.ca
        names: list[pulumi.Input[str]] = ["localhost"]
        if self.args.endpoint_name:
            names.append(self.args.endpoint_name)
        names.extend(self.args.extra_dns_names)
        holders = []
        for member in self.placements:
            issued = issue(
                member.name,
                ca,
                member.name,
                dns_names=[member.name, *names],
                ip_addresses=[member.private_ip, self.lb_address, "127.0.0.1"],
                server=True,
                parent=self,
            )
            holder = self.tls_secret(
                f"{member.name}-tls",
                f"{self.prefix}-{member.index + 1}-tls",
                issued,
                self._labels(role="tls-material", member=member.name),
                self._opts(),
            )
            # Each member may read its own secret only.
            gcp.secretmanager.SecretIamMember(
                f"{member.name}-tls-reader",
                secret_id=holder.id,
                role="roles/secretmanager.secretAccessor",
                member=self.service_account.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=self._opts(),
            )
            holders.append(holder)
        return holders

    def tls_secret(
        self, name: str, secret_id: str, issued: IssuedCertificate, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> gcp.secretmanager.Secret:
        """A Secret Manager secret in this region holding JSON ca, cert, key (as drkit-fetch-tls reads it),
        encrypted with the region's key; the value is a Pulumi secret (DR406)."""
        assert self.args.ca is not None
        ca = self.args.ca
        holder = gcp.secretmanager.Secret(
            name,
            secret_id=secret_id,
            replication={
                "user_managed": {
                    "replicas": [
                        {
                            "location": self.args.region.name,
                            "customer_managed_encryption": {"kms_key_name": self.kms_key.id},
                        }
                    ]
                }
            },
            labels=labels,
            opts=opts,
        )
        gcp.secretmanager.SecretVersion(
            f"{name}-value",
            secret=holder.id,
            secret_data=bundle(ca, issued),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["secretData"])),
        )
        return holder

    def _members(self, secrets: list[gcp.secretmanager.Secret]) -> None:
        region, registry = self.args.region, self.args.registry
        size_gib = max(20, math.ceil(4 * registry.quota_backend_bytes / _GIB))  # as on AWS: db, WAL, snapshot
        image = ARM_IMAGE if architecture(region.instance_type) == "arm64" else IMAGE
        self.instances = []
        for member in self.placements:
            disk = gcp.compute.Disk(
                f"{member.name}-data",
                name=f"{self.prefix}-{member.index + 1}-data",
                zone=member.az,
                type="pd-balanced",
                size=size_gib,
                disk_encryption_key={"kms_key_self_link": self.kms_key.id},
                labels=self._labels(role="data", member=member.name, az=member.az),
                # As on AWS: a member's data outlives the stack.
                opts=self._opts(retain_on_delete=True),
            )
            secret_name: pulumi.Input[str] = secrets[member.index].name if secrets else ""
            user_data = pulumi.Output.from_input(secret_name).apply(self._user_data(member))
            instance = gcp.compute.Instance(
                member.name,
                name=f"{self.prefix}-{member.index + 1}",
                machine_type=region.instance_type,
                zone=member.az,
                boot_disk={
                    "initialize_params": {"image": image, "size": 20, "type": "pd-balanced"},
                    "kms_key_self_link": self.kms_key.id,
                },
                attached_disks=[{"source": disk.self_link, "device_name": DATA_DEVICE_NAME}],
                # No access_configs: no external address; egress through Cloud NAT.
                network_interfaces=[{"subnetwork": self.network.subnetwork.id, "network_ip": member.private_ip}],
                metadata={"user-data": user_data, "enable-oslogin": "TRUE"},
                service_account={"email": self.service_account.email, "scopes": ["cloud-platform"]},
                shielded_instance_config={
                    "enable_secure_boot": True,
                    "enable_vtpm": True,
                    "enable_integrity_monitoring": True,
                },
                # GCE restarts a member that crashes or whose host fails (AWS: the auto-recovery alarm).
                scheduling={"automatic_restart": True, "on_host_maintenance": "MIGRATE"},
                tags=[self.tag],
                labels=self._labels(role="member", member=member.name, az=member.az, cluster_role=region.role),
                opts=self._opts(ignore_changes=list(MEMBER_IGNORED_CHANGES), delete_before_replace=True),
            )
            self.instances.append(instance)

    def _user_data(self, member: MemberPlacement) -> Callable[[str], str]:
        def render(secret_name: str) -> str:
            boot = cloud_init.MemberBoot(
                stack=self.args.stack,
                region=self.args.region.name,
                version=self.args.registry.version,
                arch=architecture(self.args.region.instance_type),
                tls_secret_id=secret_name,
                data_device=f"/dev/disk/by-id/google-{DATA_DEVICE_NAME}",
                etcd_env=self._etcd_environment(member),
                role=self.args.region.role,
                joining=joins_running_cluster(member, self.bootstrap_members),
                cloud="gcp",
            )
            return cloud_init.member_user_data(boot)

        return render

    def _etcd_environment(self, member: MemberPlacement) -> dict[str, str]:
        """As on AWS (drkit.provision.etcd_config): the clouds differ in where members are, not in etcd's flags."""
        return member_environment(
            self.args.registry,
            self.args.stack,
            self.args.region.name,
            self.scheme,
            self.placements,
            self.bootstrap_members,
            member,
        )

    def _groups(self) -> list[gcp.compute.InstanceGroup]:
        """One unmanaged instance group per zone: a backend service balances over groups, not instances."""
        groups = []
        for zone in self.network.zones:
            members = [i for i, p in zip(self.instances, self.placements, strict=True) if p.az == zone]
            groups.append(
                gcp.compute.InstanceGroup(
                    f"{zone}-members",
                    name=f"{self.prefix}-{zone.rsplit('-', 1)[-1]}",
                    zone=zone,
                    network=self.network.network.id,
                    instances=[instance.self_link for instance in members],
                    opts=self._opts(),
                )
            )
        return groups

    def _health_check(self, name: str) -> gcp.compute.RegionHealthCheck:
        endpoint_path = "/health"
        return gcp.compute.RegionHealthCheck(
            f"{self.args.region.name}-{name}",
            name=f"{self.prefix}-{name}",
            region=self.args.region.name,
            check_interval_sec=5,
            timeout_sec=5,
            http_health_check={"port": self.args.registry.metrics_port, "request_path": endpoint_path},
            opts=self._opts(),
        )

    def _load_balancers(self, public_health: bool) -> None:
        region, registry = self.args.region.name, self.args.registry
        groups = self._groups()
        backends = [
            gcp.compute.RegionBackendServiceBackendArgs(group=group.self_link, balancing_mode="CONNECTION")
            for group in groups
        ]
        client_service = gcp.compute.RegionBackendService(
            f"{region}-client",
            name=f"{self.prefix}-client",
            region=region,
            load_balancing_scheme="INTERNAL",
            protocol="TCP",
            health_checks=self._health_check("client-health").id,
            backends=backends,
            opts=self._opts(),
        )
        address = gcp.compute.Address(
            f"{region}-client",
            name=f"{self.prefix}-client",
            region=region,
            address_type="INTERNAL",
            address=self.lb_address,
            subnetwork=self.network.subnetwork.id,
            opts=self._opts(),
        )
        self.client_lb = gcp.compute.ForwardingRule(
            f"{region}-client",
            name=f"{self.prefix}-client",
            region=region,
            load_balancing_scheme="INTERNAL",
            ip_protocol="TCP",
            ports=[str(registry.client_port)],
            ip_address=address.address,
            network=self.network.network.id,
            subnetwork=self.network.subnetwork.id,
            backend_service=client_service.id,
            # Clients in other regions of a peered network or over Interconnect/VPN reach it too.
            allow_global_access=True,
            labels=self._labels(role=tags.CLIENT_LB_ROLE),
            opts=self._opts(),
        )
        self.health_address: gcp.compute.Address | None = None
        if not public_health:
            return
        # Route 53's checkers run on the internet and cannot reach the internal address: an external listener
        # on the metrics port alone (etcd's /health, no keys), open only to them (the route53-health rule).
        self.health_address = gcp.compute.Address(
            f"{region}-health",
            name=f"{self.prefix}-health",
            region=region,
            address_type="EXTERNAL",
            opts=self._opts(),
        )
        health_service = gcp.compute.RegionBackendService(
            f"{region}-health",
            name=f"{self.prefix}-health",
            region=region,
            load_balancing_scheme="EXTERNAL",
            protocol="TCP",
            health_checks=self._health_check("health-health").id,
            backends=backends,
            opts=self._opts(),
        )
        gcp.compute.ForwardingRule(
            f"{region}-health",
            name=f"{self.prefix}-health",
            region=region,
            load_balancing_scheme="EXTERNAL",
            ip_protocol="TCP",
            ports=[str(registry.metrics_port)],
            ip_address=self.health_address.address,
            backend_service=health_service.id,
            labels=self._labels(role="health-lb"),
            opts=self._opts(),
        )

    def grant_backup_writes(self, buckets: list[pulumi.Input[str]]) -> None:
        """Members write and read snapshots in the GCS backup buckets, never delete (as the AWS profile)."""
        for index, bucket in enumerate(buckets):
            for role in ("roles/storage.objectCreator", "roles/storage.objectViewer"):
                gcp.storage.BucketIAMMember(
                    f"{self.args.region.name}-backups-{index}-{role.rsplit('.', 1)[-1].lower()}",
                    bucket=bucket,
                    role=role,
                    member=self.service_account.email.apply(lambda email: f"serviceAccount:{email}"),
                    opts=self._opts(),
                )
