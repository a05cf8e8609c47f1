"""The Ansible inventory of a lab: the same group and host variable names the cloud inventory uses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from drkit.operate.inventory_contract import (
    EndpointVars,
    MemberVars,
    RsyncTargetVars,
    S3TargetVars,
    StackVars,
    host_vars,
)
from drkit.operate.schedule import backup_schedule_vars
from drkit.sandbox.interpreters import host_interpreter
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan


def _local(paths: LabPaths, host: str) -> dict[str, str]:
    # Modules run with drkit's own interpreter (no discovery, no warning), by a path of the host's own.
    return {"ansible_connection": "local", "ansible_python_interpreter": host_interpreter(paths, host)}


def inventory(plan: LabPlan, paths: LabPaths) -> dict[str, Any]:
    supervisorctl = f"{Path(sys.executable).with_name('supervisorctl')} -c {paths.supervisor_conf}"
    regions: dict[str, Any] = {}
    for region in plan.regions:
        hosts = {}
        for member in region.members:
            hosts[member.name] = {
                **_local(paths, member.name),
                **host_vars(
                    MemberVars(
                        drkit_member_name=member.name,
                        drkit_region=region.name,
                        drkit_region_role=region.role,
                        drkit_az=member.az,
                        drkit_client_url=member.client_url,
                        drkit_peer_url=member.peer_url,
                        drkit_initial_cluster=region.initial_cluster,
                        drkit_cluster_endpoints=region.client_endpoints,
                        drkit_data_dir=str(paths.member_data(member.name)),
                        drkit_etcd_config_file=str(paths.etcd_config(member.name)),
                        drkit_etcd_config_format="yaml",
                        drkit_etcd_bin=str(paths.member_bin(member.name) / "etcd"),
                        drkit_etcdctl_bin=str(paths.member_bin(member.name) / "etcdctl"),
                        drkit_etcdutl_bin=str(paths.member_bin(member.name) / "etcdutl"),
                        drkit_etcd_current_link=str(paths.member_bin(member.name)),
                        drkit_start_command=f"{supervisorctl} start {member.program}",
                        drkit_stop_command=f"{supervisorctl} stop {member.program}",
                    )
                ),
            }
        regions[f"region_{region.name.replace('-', '_')}"] = {"hosts": hosts}
    return {
        "all": {
            "vars": host_vars(
                StackVars(
                    drkit_stack=plan.stack,
                    drkit_etcd_version=plan.version,
                    drkit_etcd_releases_dir=str(paths.releases),
                    drkit_state_dir=str(paths.root),
                    drkit_ephemeral_prefixes=list(plan.ephemeral_prefixes),
                    drkit_lease_ttl=plan.lease_ttl_s,
                    drkit_backup_staging_dir=str(paths.staging),
                    drkit_backup_retention={
                        "hourly": plan.retention_hourly,
                        "daily": plan.retention_daily,
                        "weekly": plan.retention_weekly,
                    },
                )
            )
            | (host_vars(backup_schedule_vars(plan.backup_schedule)) if plan.backup_schedule else {}),
            "children": {
                "registry": {"children": regions},
                "backup_targets": {"hosts": backup_hosts(plan, paths)},
                "endpoint": {
                    "hosts": {
                        "lab-endpoint": {
                            **_local(paths, "lab-endpoint"),
                            **host_vars(
                                EndpointVars(
                                    drkit_endpoint_url=f"http://127.0.0.1:{plan.endpoint_port}",
                                    drkit_haproxy_socket=str(paths.haproxy_socket),
                                )
                            ),
                        }
                    }
                },
            },
        }
    }


# moto accepts any keys; these are not credentials, they only keep boto3 from looking for real ones.
LAB_S3_KEY = "drkit-lab"
LAB_S3_REGION = "us-east-1"


def backup_hosts(plan: LabPlan, paths: LabPaths) -> dict[str, Any]:
    """The rsync daemon and, when the spec has an s3 target, the lab's S3 endpoint: the same variables the
    cloud inventory gives its targets (drkit.provision.inventory), plus the endpoint URL override."""
    hosts: dict[str, Any] = {
        "lab-rsync": {
            **_local(paths, "lab-rsync"),
            **host_vars(
                RsyncTargetVars(
                    drkit_rsync_url=f"rsync://127.0.0.1:{plan.rsync_port}/{plan.rsync_module}{plan.rsync_path}",
                    drkit_backup_dir=str(paths.backups / plan.rsync_path.lstrip("/")),
                )
            ),
        }
    }
    if plan.s3_port:
        hosts["lab-s3"] = {
            **_local(paths, "lab-s3"),
            **host_vars(
                S3TargetVars(
                    drkit_s3_bucket=plan.s3_bucket,
                    drkit_s3_region=LAB_S3_REGION,
                    drkit_s3_endpoint_url=plan.s3_endpoint_url,
                    drkit_s3_object_lock_seconds=plan.s3_object_lock_seconds,
                    drkit_s3_object_lock_mode=plan.s3_object_lock_mode,
                    drkit_s3_access_key=LAB_S3_KEY,
                    drkit_s3_secret_key=LAB_S3_KEY,
                )
            ),
        }
    return hosts


def write_inventory(plan: LabPlan, paths: LabPaths) -> Path:
    header = f"# Written by `drkit sandbox up` for stack {plan.stack}; regenerated on every up.\n"
    body = yaml.safe_dump(inventory(plan, paths), sort_keys=False)
    paths.inventory.write_text(header + body, encoding="utf-8")
    return paths.inventory
