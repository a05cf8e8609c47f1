"""The whole program body: a validated spec in, per-region providers and the four components out, plus the
stack outputs (endpoints, buckets, inventory). `pulumi up` runs it through `entry`; `drkit plan` and the tests
run it under mocks through `offline`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws

from drkit.provision import cloud_init
from drkit.provision.backup_vault import BackupVault, BackupVaultArgs
from drkit.provision.client_access import AnyCluster, ClientAccess, client_access_output
from drkit.provision.cloud_init import mirrored_prefixes
from drkit.provision.errors import ProvisionError
from drkit.provision.gcp.backup_vault import GcsBackupVault, GcsBackupVaultArgs
from drkit.provision.gcp.providers import GcpProviders
from drkit.provision.gcp.registry_cluster import GcpRegistryCluster
from drkit.provision.global_endpoint import GlobalEndpoint, GlobalEndpointArgs, create_accelerator
from drkit.provision.inventory import BackupFacts, ClusterFacts, MirrorFacts, inventory_document
from drkit.provision.registry_cluster import RegistryCluster, RegistryClusterArgs
from drkit.provision.standby_replicator import StandbyReplicator, StandbyReplicatorArgs
from drkit.provision.tls import CertificateAuthority, certificate_authority
from drkit.provision.witness import Witness, WitnessArgs, witness_urls
from drkit.spec.model import Spec

# Global Accelerator's API is served from us-west-2 only, whatever regions its endpoints are in.
ACCELERATOR_REGION = "us-west-2"


def _check_buildable(spec: Spec) -> None:
    for region in spec.regions:
        if region.provider == "local":
            raise ProvisionError(
                f"drkit:spec.regions[{region.index}].provider is local: this stack is the DR lab's; run"
                " `drkit sandbox up --stack <stack>` for it, not `pulumi up`"
            )
    gcp_regions = [region for region in spec.regions if region.provider == "gcp"]
    if gcp_regions:
        _check_gcp_buildable(spec, gcp_regions[0].index)
    endpoint = spec.global_endpoint
    if endpoint is not None and endpoint.type == "haproxy":
        raise ProvisionError(
            "drkit:spec.globalEndpoint.type is haproxy, the lab's endpoint: use route53-failover or"
            " global-accelerator for a cloud stack"
        )


def _check_gcp_buildable(spec: Spec, index: int) -> None:
    """What drkit does not build on GCP yet, refused before anything is created (docs/provisioning.md)."""
    where = f"drkit:spec.regions[{index}].provider is gcp"
    endpoint = spec.global_endpoint
    if endpoint is not None and endpoint.type == "global-accelerator":
        raise ProvisionError(f"{where}: Global Accelerator cannot send clients to GCP; use route53-failover")
    if spec.replication.mode == "mirror":
        raise ProvisionError(
            f"{where}: the make-mirror across clouds is not built yet (it needs a VPN between the VPCs); use"
            " replication.mode: none (the standby is loaded from backups) or an aws standby"
        )
    if spec.recovery.promotion == "automatic" or spec.recovery.witness is not None:
        raise ProvisionError(
            f"{where}: automatic promotion's guards and the cloud witness run on AWS members only so far; use"
            " recovery.promotion: manual"
        )


def guard_boot(spec: Spec) -> cloud_init.GuardBoot | None:
    """The guards every member runs for automatic promotion, pointed at the cloud witness (its addresses are
    fixed, so members can name it before it exists); None for manual promotion or without a cloud witness."""
    witness = spec.recovery.witness
    if spec.recovery.promotion != "automatic" or witness is None or witness.placement not in ("region", "cluster"):
        return None
    return cloud_init.GuardBoot(
        witness_urls=witness_urls(witness, spec.registry),
        ttl=round(witness.lease_ttl),
        loop_wait=witness.loop_wait,
        retry_timeout=witness.retry_timeout,
    )


def route53_health_checkers_cidrs(provider: aws.Provider) -> pulumi.Output[list[str]]:
    """Route 53's health checkers' addresses (AWS publishes them): the only internet sources a GCP region's
    firewall lets reach its external health listener. On AWS a managed prefix list names the same ranges."""
    ranges = aws.get_ip_ranges_output(services=["route53_healthchecks"], opts=pulumi.InvokeOptions(provider=provider))
    return ranges.cidr_blocks.apply(sorted)


def gcs_outputs(vaults: list[GcsBackupVault]) -> list[dict[str, Any]]:
    """The gcs targets in the stack output backupBuckets, beside the s3 ones (a GCS bucket has no replica)."""
    return [
        {"bucket": v.bucket_name, "region": v.region, "replicaBucket": None, "replicaRegion": None, "cloud": "gcp"}
        for v in vaults
    ]


class Providers:
    """One explicit aws.Provider per region, made on first use; nothing relies on the default provider."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self._by_region: dict[str, aws.Provider] = {}

    def __call__(self, region: str) -> aws.Provider:
        if region not in self._by_region:
            self._by_region[region] = aws.Provider(
                f"aws-{region}",
                region=region,
                default_tags={"tags": {"drkit:stack": self.stack, "drkit:managed-by": "pulumi"}},
            )
        return self._by_region[region]


def build(spec: Spec, stack: str) -> dict[str, Any]:
    """Every resource of the stack; returns the stack outputs."""
    _check_buildable(spec)
    provider = Providers(stack)
    gcp_provider = GcpProviders(stack)
    ca: CertificateAuthority | None = certificate_authority(stack) if spec.registry.tls else None
    vaults = []
    gcs_vaults = []
    if spec.backups is not None:
        vaults = [
            BackupVault(
                f"backups-{target.index}",
                BackupVaultArgs(stack, target, spec.backups.retention),
                provider(target.region),
                provider(target.replica_region) if target.replica_region else None,
            )
            for target in spec.backups.targets
            if target.type == "s3"
        ]
        gcs_vaults = [
            GcsBackupVault(
                f"backups-{target.index}",
                GcsBackupVaultArgs(stack, target, spec.backups.retention, gcp_provider.project),
                gcp_provider(target.region),
            )
            for target in spec.backups.targets
            if target.type == "gcs"
        ]
    endpoint = spec.global_endpoint
    guard = guard_boot(spec)
    accelerator = None
    if endpoint is not None and endpoint.type == "global-accelerator":
        accelerator = create_accelerator(stack, spec.primary.name, provider(ACCELERATOR_REGION))
    # Route 53 is global: its resources go through the primary's provider, or us-east-1's when that is GCP.
    route53_home = provider(spec.primary.name if spec.primary.provider == "aws" else "us-east-1")
    clusters: list[AnyCluster] = []
    for region in (spec.primary, *spec.standbys):
        args = RegistryClusterArgs(
            stack=stack,
            region=region,
            registry=spec.registry,
            ca=ca,
            endpoint_type=endpoint.type if endpoint else None,
            endpoint_name=endpoint.name if endpoint else None,
            extra_dns_names=[accelerator.dns_name] if accelerator else [],
            backup_bucket_arns=[vault.bucket_arn for vault in vaults],
            backup_key_arns=[vault.key.arn for vault in vaults],
            guard=guard,
        )
        if region.provider == "gcp":
            gcp_cluster = GcpRegistryCluster(
                region.name,
                args,
                gcp_provider(region.name),
                gcp_provider.project,
                health_checker_cidrs=(
                    route53_health_checkers_cidrs(route53_home)
                    if endpoint is not None and endpoint.type == "route53-failover"
                    else None
                ),
            )
            gcp_cluster.grant_backup_writes([vault.bucket.name for vault in gcs_vaults])
            clusters.append(gcp_cluster)
        else:
            clusters.append(RegistryCluster(region.name, args, provider(region.name)))
    # The mirror and the witness are AWS-only (_check_gcp_buildable refuses them with a GCP region).
    aws_clusters = [cluster for cluster in clusters if isinstance(cluster, RegistryCluster)]
    mirrors = []
    if spec.replication.mode == "mirror":
        for standby in aws_clusters[1:]:
            mirrors.append(
                StandbyReplicator(
                    f"{standby.args.region.name}-mirror",
                    StandbyReplicatorArgs(stack, spec.registry, spec.replication, ca, aws_clusters[0], standby),
                )
            )
    witness = None
    spec_witness = spec.recovery.witness
    if spec_witness is not None and spec_witness.placement in ("region", "cluster"):
        witness = Witness("witness", WitnessArgs(stack, spec_witness, spec.registry, ca, aws_clusters), provider)
    global_endpoint = None
    if endpoint is not None:
        home = provider(ACCELERATOR_REGION) if endpoint.type == "global-accelerator" else route53_home
        global_endpoint = GlobalEndpoint(
            "endpoint", GlobalEndpointArgs(stack, endpoint, spec.registry, clusters, accelerator), home
        )
    access = ClientAccess(stack, spec.registry.clients, ca, clusters) if ca and spec.registry.clients else None
    outputs = _outputs(spec, stack, clusters, vaults, mirrors, global_endpoint)
    outputs["backupBuckets"] = [*outputs["backupBuckets"], *gcs_outputs(gcs_vaults)]
    outputs["clientAccess"] = client_access_output(
        global_endpoint.url if global_endpoint else None, ca, clusters, access
    )
    # Where the guards renew and read the primary's lease (drkit.failover.guard --endpoints), by region.
    outputs["witnessEndpoints"] = witness.endpoints if witness else {}
    return outputs


def _outputs(
    spec: Spec,
    stack: str,
    clusters: list[AnyCluster],
    vaults: list[BackupVault],
    mirrors: list[StandbyReplicator],
    endpoint: GlobalEndpoint | None,
) -> dict[str, Any]:
    units = tuple(cloud_init.mirror_unit(index) for index in range(len(mirrored_prefixes(spec.replication))))
    backups = [
        BackupFacts(v.bucket_name, v.region, v.replica_bucket_name, v.args.target.replica_region) for v in vaults
    ]

    def backup_facts(keys: list[str]) -> list[BackupFacts]:
        return [
            replace(
                facts,
                kms_key=keys[i],
                object_lock_seconds=vaults[i].args.target.object_lock,
                object_lock_mode=vaults[i].args.target.object_lock_mode,
            )
            for i, facts in enumerate(backups)
        ]

    def document(parts: dict[str, Any]) -> dict[str, Any]:
        facts = [
            ClusterFacts(
                c.args.region.name,
                c.args.region.role,
                tuple(c.placements),
                parts["endpoints"][i],
                tuple(parts["instances"][i]),
                c.transfer_bucket_name,
                tuple(parts["tls"][i]),
                cloud=c.cloud,
                project=c.project if isinstance(c, GcpRegistryCluster) else "",
            )
            for i, c in enumerate(clusters)
        ]
        transfer = {c.args.region.name: c.transfer_bucket_name for c in clusters}
        mirror_facts = [
            MirrorFacts(
                f"{m.region}-mirror", m.region, parts["mirrors"][i], units, parts["mirror_ids"][i], transfer[m.region]
            )
            for i, m in enumerate(mirrors)
        ]
        return inventory_document(stack, spec, facts, backup_facts(parts["keys"]), parts["endpoint"], mirror_facts)

    inventory = pulumi.Output.all(
        endpoints=[cluster.client_endpoint for cluster in clusters],
        mirrors=[mirror.private_ip for mirror in mirrors],
        # AWS: instance IDs (SSM targets them); GCP: instance names (IAP tunnels name them).
        instances=[
            [instance.name for instance in cluster.instances]
            if isinstance(cluster, GcpRegistryCluster)
            else [instance.id for instance in cluster.instances]
            for cluster in clusters
        ],
        tls=[cluster.tls_secret_arns for cluster in clusters],
        mirror_ids=[mirror.instance.id for mirror in mirrors],
        endpoint=endpoint.url if endpoint else None,
        keys=[vault.key.arn for vault in vaults],
    ).apply(document)
    return {
        "regionEndpoints": {cluster.args.region.name: cluster.client_endpoint for cluster in clusters},
        "globalEndpoint": endpoint.url if endpoint else None,
        "backupBuckets": [
            {
                "bucket": b.bucket,
                "region": b.region,
                "replicaBucket": b.replica_bucket,
                "replicaRegion": b.replica_region,
            }
            for b in backups
        ],
        "inventory": inventory,
        # The value for drkit:bootstrapMembers: write it into the stack config after the first `pulumi up`, so
        # members added later join the running cluster instead of booting a new one (docs/provisioning.md).
        "bootstrapMembers": {cluster.args.region.name: cluster.bootstrap_members for cluster in clusters},
    }
