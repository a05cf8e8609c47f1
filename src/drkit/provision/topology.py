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
from drkit.provision.client_access import ClientAccess, client_access_output
from drkit.provision.cloud_init import mirrored_prefixes
from drkit.provision.errors import ProvisionError
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
        if region.provider != "aws":
            raise ProvisionError(
                f"drkit:spec.regions[{region.index}].provider is {region.provider}: drkit provisions aws regions"
                " only so far; use provider: aws"
            )
    endpoint = spec.global_endpoint
    if endpoint is not None and endpoint.type == "haproxy":
        raise ProvisionError(
            "drkit:spec.globalEndpoint.type is haproxy, the lab's endpoint: use route53-failover or"
            " global-accelerator for a cloud stack"
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
    ca: CertificateAuthority | None = certificate_authority(stack) if spec.registry.tls else None
    vaults = []
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
    endpoint = spec.global_endpoint
    guard = guard_boot(spec)
    accelerator = None
    if endpoint is not None and endpoint.type == "global-accelerator":
        accelerator = create_accelerator(stack, spec.primary.name, provider(ACCELERATOR_REGION))
    clusters = []
    for region in (spec.primary, *spec.standbys):
        clusters.append(
            RegistryCluster(
                region.name,
                RegistryClusterArgs(
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
                ),
                provider(region.name),
            )
        )
    mirrors = []
    if spec.replication.mode == "mirror":
        for standby in clusters[1:]:
            mirrors.append(
                StandbyReplicator(
                    f"{standby.args.region.name}-mirror",
                    StandbyReplicatorArgs(stack, spec.registry, spec.replication, ca, clusters[0], standby),
                )
            )
    witness = None
    spec_witness = spec.recovery.witness
    if spec_witness is not None and spec_witness.placement in ("region", "cluster"):
        witness = Witness("witness", WitnessArgs(stack, spec_witness, spec.registry, ca, clusters), provider)
    global_endpoint = None
    if endpoint is not None:
        home = provider(ACCELERATOR_REGION) if endpoint.type == "global-accelerator" else clusters[0].provider
        global_endpoint = GlobalEndpoint(
            "endpoint", GlobalEndpointArgs(stack, endpoint, spec.registry, clusters, accelerator), home
        )
    access = ClientAccess(stack, spec.registry.clients, ca, clusters) if ca and spec.registry.clients else None
    outputs = _outputs(spec, stack, clusters, vaults, mirrors, global_endpoint)
    outputs["clientAccess"] = client_access_output(
        global_endpoint.url if global_endpoint else None, ca, clusters, access
    )
    # Where the guards renew and read the primary's lease (drkit.failover.guard --endpoints), by region.
    outputs["witnessEndpoints"] = witness.endpoints if witness else {}
    return outputs


def _outputs(
    spec: Spec,
    stack: str,
    clusters: list[RegistryCluster],
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
        instances=[[instance.id for instance in cluster.instances] for cluster in clusters],
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
