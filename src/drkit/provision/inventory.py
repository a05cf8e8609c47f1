"""The Ansible inventory of a provisioned stack, exported as the stack output `inventory`.

Group and host variable names are the lab's (drkit.sandbox.inventory), so one set of playbooks serves the lab
and the cloud: a group per region under `registry`, plus `backup_targets` and `endpoint`; the cloud adds
`mirrors` (the make-mirror instances) and the TLS file paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drkit.operate.inventory_contract import (
    EndpointVars,
    MemberVars,
    MirrorVars,
    RsyncTargetVars,
    S3TargetVars,
    StackVars,
    host_vars,
)
from drkit.operate.schedule import backup_schedule_vars
from drkit.provision import cloud_init
from drkit.provision.layout import MemberPlacement, client_endpoints, initial_cluster
from drkit.spec.model import Spec

_SYSTEMCTL = "sudo systemctl"


@dataclass(frozen=True)
class ClusterFacts:
    region: str
    role: str
    placements: tuple[MemberPlacement, ...]
    client_endpoint: str  # through the region's NLB
    instance_ids: tuple[str, ...] = ()  # in placement order
    transfer_bucket: str = ""  # the region's SSM transfer bucket (drkit.provision.ssm_transfer)
    tls_secret_arns: tuple[str, ...] = ()  # each member's TLS secret, in placement order (TLS stacks)
    cloud: str = "aws"  # aws: instance_ids are EC2 IDs (SSM); gcp: GCE instance names (IAP), in `project`
    project: str = ""


@dataclass(frozen=True)
class BackupFacts:
    bucket: str
    region: str
    replica_bucket: str | None
    replica_region: str | None
    kms_key: str | None = None  # the vault's key ARN (SSE-KMS on every upload)
    object_lock_seconds: float | None = None  # the spec's objectLock
    object_lock_mode: str | None = None


@dataclass(frozen=True)
class MirrorFacts:
    name: str
    region: str
    private_ip: str
    units: tuple[str, ...]
    instance_id: str = ""
    transfer_bucket: str = ""


def ssm_connection(instance_id: str, region: str, bucket: str) -> dict[str, Any]:
    """How Ansible reaches a cloud instance: Session Manager (amazon.aws.aws_ssm), files through the region's
    transfer bucket, as root (become: the playbooks write under /var/lib/drkit and read root-only TLS keys).
    ansible_host stays the private address, for users who reach the VPC another way (docs/provisioning.md)."""
    return {
        "ansible_connection": "amazon.aws.aws_ssm",
        "ansible_aws_ssm_instance_id": instance_id,
        "ansible_aws_ssm_region": region,
        "ansible_aws_ssm_bucket_name": bucket,
        "ansible_become": True,
    }


def iap_connection(instance: str, zone: str, project: str) -> dict[str, Any]:
    """How Ansible reaches a GCE member: SSH through an IAP TCP tunnel (gcloud's ProxyCommand), as root. The
    members have no external address and accept SSH only from IAP's range (drkit.provision.gcp); who may log
    in is IAM's (OS Login is on). ansible_host stays the private address, for those who reach it over a VPN."""
    tunnel = (
        f"gcloud compute start-iap-tunnel {instance} 22 --listen-on-stdin --zone={zone} --project={project}"
        " --verbosity=warning"
    )
    return {
        "ansible_connection": "ssh",
        "ansible_ssh_common_args": f"-o ProxyCommand='{tunnel}' -o StrictHostKeyChecking=accept-new",
        "ansible_become": True,
    }


def _connection(cluster: ClusterFacts, member: MemberPlacement) -> dict[str, Any]:
    instance = cluster.instance_ids[member.index] if cluster.instance_ids else ""
    if cluster.cloud == "gcp":
        return iap_connection(instance, member.az, cluster.project)
    return ssm_connection(instance, cluster.region, cluster.transfer_bucket)


def group_name(region: str) -> str:
    return f"region_{region.replace('-', '_')}"


def inventory_document(
    stack: str,
    spec: Spec,
    clusters: list[ClusterFacts],
    backups: list[BackupFacts],
    endpoint_url: str | None,
    mirrors: list[MirrorFacts],
) -> dict[str, Any]:
    registry = spec.registry
    scheme = "https" if registry.tls else "http"
    regions: dict[str, Any] = {}
    for cluster in clusters:
        placements = list(cluster.placements)
        hosts = {
            member.name: {
                "ansible_host": member.private_ip,
                **_connection(cluster, member),
                **host_vars(
                    MemberVars(
                        drkit_member_name=member.name,
                        drkit_region=cluster.region,
                        drkit_region_role=cluster.role,
                        drkit_az=member.az,
                        drkit_client_url=f"{scheme}://{member.private_ip}:{registry.client_port}",
                        drkit_peer_url=f"{scheme}://{member.private_ip}:{registry.peer_port}",
                        drkit_initial_cluster=initial_cluster(placements, registry.peer_port, scheme),
                        drkit_cluster_endpoints=client_endpoints(placements, registry.client_port, scheme),
                        drkit_data_dir=cloud_init.DATA_DIR,
                        # etcd's settings as ETCD_* lines; member-replace edits ETCD_INITIAL_CLUSTER_STATE there.
                        drkit_etcd_config_file="/etc/drkit/etcd.env",
                        drkit_etcd_config_format="env",
                        drkit_etcd_bin=f"{cloud_init.BIN_DIR}/etcd",
                        drkit_etcdctl_bin=f"{cloud_init.BIN_DIR}/etcdctl",
                        drkit_etcdutl_bin=f"{cloud_init.BIN_DIR}/etcdutl",
                        drkit_etcd_current_link=cloud_init.CURRENT_LINK,
                        drkit_start_command=f"{_SYSTEMCTL} start etcd",
                        drkit_stop_command=f"{_SYSTEMCTL} stop etcd",
                        drkit_member_added_marker=cloud_init.MEMBER_ADDED_MARKER,
                        drkit_tls_refresh_command=(
                            f"{cloud_init.FETCH_TLS} {cluster.tls_secret_arns[member.index]} {cluster.region}"
                            if cluster.tls_secret_arns
                            else None
                        ),
                    )
                ),
            }
            for member in placements
        }
        regions[group_name(cluster.region)] = {
            "hosts": hosts,
            "vars": {"drkit_region_endpoint": cluster.client_endpoint},
        }
    retention = spec.backups.retention if spec.backups else None
    global_vars = host_vars(
        StackVars(
            drkit_stack=stack,
            drkit_etcd_version=registry.version,
            drkit_etcd_releases_dir=cloud_init.RELEASES_DIR,
            drkit_etcd_install_command=cloud_init.INSTALL_ETCD,
            drkit_tls=registry.tls,
            drkit_ephemeral_prefixes=list(registry.ephemeral_prefixes),
            drkit_lease_ttl=max(1, round(registry.lease_ttl)),
            drkit_backup_staging_dir="/var/lib/drkit/staging",
            # The names the playbooks' drkit_etcd role reads for etcdctl and drkit's modules.
            drkit_etcd_cacert=f"{cloud_init.PKI_DIR}/ca.crt" if registry.tls else None,
            drkit_etcd_cert=f"{cloud_init.PKI_DIR}/server.crt" if registry.tls else None,
            drkit_etcd_key=f"{cloud_init.PKI_DIR}/server.key" if registry.tls else None,
            drkit_backup_retention=(
                {"hourly": retention.hourly, "daily": retention.daily, "weekly": retention.weekly}
                if retention
                else None
            ),
        )
    )
    if spec.backups:
        global_vars |= host_vars(backup_schedule_vars(spec.backups.schedule))
    children: dict[str, Any] = {
        "registry": {"children": regions},
        "backup_targets": {"hosts": _backup_hosts(spec, backups)},
    }
    if endpoint_url:
        children["endpoint"] = {
            "hosts": {
                "endpoint": {"ansible_connection": "local", **host_vars(EndpointVars(drkit_endpoint_url=endpoint_url))}
            }
        }
    if mirrors:
        children["mirrors"] = {
            "hosts": {
                mirror.name: {
                    "ansible_host": mirror.private_ip,
                    **ssm_connection(mirror.instance_id, mirror.region, mirror.transfer_bucket),
                    **host_vars(
                        MirrorVars(
                            drkit_region=mirror.region,
                            drkit_mirror_units=list(mirror.units),
                            drkit_start_command=f"{_SYSTEMCTL} start {' '.join(mirror.units)}",
                            drkit_stop_command=f"{_SYSTEMCTL} stop {' '.join(mirror.units)}",
                        )
                    ),
                }
                for mirror in mirrors
            }
        }
    return {"all": {"vars": global_vars, "children": children}}


def _backup_hosts(spec: Spec, backups: list[BackupFacts]) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for backup in backups:
        hosts[f"s3-{backup.bucket}"] = {
            "ansible_connection": "local",
            **host_vars(
                S3TargetVars(
                    drkit_s3_bucket=backup.bucket,
                    drkit_s3_region=backup.region,
                    drkit_s3_replica_bucket=backup.replica_bucket or "",
                    drkit_s3_replica_region=backup.replica_region or "",
                    drkit_s3_kms_key=backup.kms_key or "",
                    drkit_s3_object_lock_seconds=backup.object_lock_seconds or 0,
                    drkit_s3_object_lock_mode=backup.object_lock_mode or "compliance",
                )
            ),
        }
    for target in spec.backups.targets if spec.backups else ():
        if target.type != "rsync" or target.host is None or target.path is None:
            continue
        if target.transport == "daemon":
            port = f":{target.port}" if target.port else ""
            url = f"rsync://{target.host}{port}/{target.module}{target.path}"
        else:
            url = f"{target.host}:{target.path}"
        hosts[target.host] = host_vars(RsyncTargetVars(drkit_rsync_url=url, drkit_backup_dir=target.path))
    return hosts
