"""The inventory contract: the host variables every drkit inventory gives the playbooks, as types.

Two writers (the lab's inventory, drkit.sandbox.inventory; the cloud's, drkit.provision.inventory, from the
Pulumi outputs) and one reader that checks them before anything runs (the drkit_validate_inventory role)
must agree on the names. They did not: two dict literals and a YAML list drifted apart. Here each group's
variables are one dataclass, so a writer that forgets one is a type error (mypy) rather than a failed
play, and the role's lists are generated from these fields (`python -m drkit.docgen`, checked by
`make lint`). A field with no default is required and checked by the role; the others have the value a
writer may leave out. How hosts are reached (ansible_connection, ansible_host, the interpreter) is each
inventory's own business and not part of the contract.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import yaml


@dataclass(frozen=True)
class StackVars:
    """`all.vars`: the stack every member belongs to, its etcd release and its registry's settings."""

    drkit_stack: str
    drkit_etcd_version: str
    drkit_etcd_releases_dir: str
    drkit_ephemeral_prefixes: list[str]
    drkit_lease_ttl: int  # seconds: the registrations' lease TTL after a re-bind
    drkit_backup_staging_dir: str
    drkit_tls: bool = False
    # Only with TLS: the files etcdctl and drkit's modules authenticate with.
    drkit_etcd_cacert: str | None = None
    drkit_etcd_cert: str | None = None
    drkit_etcd_key: str | None = None
    # The cloud's members install a release with it; the lab's releases are unpacked by the lab.
    drkit_etcd_install_command: str | None = None
    drkit_state_dir: str | None = None  # the lab's own state (lab.json, logs); the cloud has none
    # With backups in the spec: retention counts (hourly, daily, weekly).
    drkit_backup_retention: dict[str, int] | None = None


@dataclass(frozen=True)
class BackupScheduleVars:
    """`all.vars` too, with backups in the spec: the schedule as cron and as systemd calendars
    (drkit.operate.schedule). The members' job runs drkit's runtime, pinned by its constraints.txt."""

    drkit_backup_schedule: str
    drkit_backup_on_calendar: list[str]  # empty when a timer cannot express the schedule: then the problem
    drkit_backup_schedule_problem: str


@dataclass(frozen=True)
class MemberVars:
    """A registry member: hosts of `registry`, one child group per region."""

    drkit_member_name: str
    drkit_region: str
    drkit_region_role: str  # primary or standby (as booted; the epoch names the primary after a promotion)
    drkit_az: str
    drkit_client_url: str
    drkit_peer_url: str
    drkit_initial_cluster: str
    drkit_cluster_endpoints: str
    drkit_data_dir: str
    drkit_etcd_config_file: str
    drkit_etcd_config_format: str  # yaml (the lab) or env (ETCD_* lines: the cloud)
    # Through the member's release link, so they follow it through an upgrade (etcdutl exists from 3.5 on;
    # the playbooks look for it before using it).
    drkit_etcd_bin: str
    drkit_etcdctl_bin: str
    drkit_etcdutl_bin: str
    drkit_etcd_current_link: str
    drkit_start_command: str
    drkit_stop_command: str
    # TLS stacks on the cloud: re-fetch this member's key and certificate (certificate rotation).
    drkit_tls_refresh_command: str | None = None
    # On the cloud a member added to a running cluster waits for this file before its etcd starts: the member
    # playbook writes it once the member is `member add`ed (drkit.provision.cloud_init.MEMBER_ADDED_MARKER).
    drkit_member_added_marker: str | None = None


@dataclass(frozen=True)
class RsyncTargetVars:
    """A backup target of type rsync: a daemon URL (rsync://host:port/module/path) or host:path over ssh."""

    drkit_rsync_url: str
    drkit_backup_dir: str
    drkit_backup_type: Literal["rsync"] = "rsync"


@dataclass(frozen=True)
class S3TargetVars:
    """A backup target of type s3: the bucket in its region, its replica, the key and lock it uploads with."""

    drkit_s3_bucket: str
    drkit_s3_region: str
    drkit_backup_type: Literal["s3"] = "s3"
    drkit_s3_endpoint_url: str = ""  # only the lab overrides S3's endpoint (its moto server)
    drkit_s3_kms_key: str = ""  # SSE-KMS with this key; empty: the bucket's default encryption
    drkit_s3_replica_bucket: str = ""
    drkit_s3_replica_region: str = ""
    drkit_s3_object_lock_seconds: float = 0
    drkit_s3_object_lock_mode: str = "compliance"  # or governance
    # Only where no instance role or profile gives credentials (the lab's moto server takes any).
    drkit_s3_access_key: str | None = None
    drkit_s3_secret_key: str | None = None


@dataclass(frozen=True)
class EndpointVars:
    """The host of `endpoint`: where clients connect (the lab's HAProxy, the cloud's global name)."""

    drkit_endpoint_url: str
    drkit_haproxy_socket: str | None = None  # the lab's HAProxy admin socket (drains and enables regions)


@dataclass(frozen=True)
class MirrorVars:
    """A host of `mirrors` (the cloud's make-mirror instances): its systemd units."""

    drkit_region: str
    drkit_mirror_units: list[str]
    drkit_start_command: str
    drkit_stop_command: str


TARGET_TYPES: dict[str, type[RsyncTargetVars] | type[S3TargetVars]] = {
    "rsync": RsyncTargetVars,
    "s3": S3TargetVars,
}


def host_vars(
    values: StackVars | BackupScheduleVars | MemberVars | RsyncTargetVars | S3TargetVars | EndpointVars | MirrorVars,
) -> dict[str, Any]:
    """The variables as an inventory writes them: optional ones left out when a writer has no value."""
    return {name: value for name, value in dataclasses.asdict(values).items() if value is not None}


def required(kind: type[Any]) -> list[str]:
    return [
        field.name
        for field in dataclasses.fields(kind)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]


class _PlaybookStyle(yaml.SafeDumper):
    """Lists indented under their key, as the playbooks are written (and yamllint expects)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


VALIDATE_DEFAULTS = "playbooks/roles/drkit_validate_inventory/defaults/main.yml"


def validate_role_defaults() -> str:
    """The drkit_validate_inventory role's defaults, generated from the contract. drkit_stack is in
    `all.vars` but checked on each member, where the role looks (hostvars include the group's)."""
    document = {
        "drkit_validate_inventory_needs_targets": False,
        "drkit_validate_inventory_member_vars": ["drkit_stack", *required(MemberVars)],
        "drkit_validate_inventory_target_vars": {name: required(kind) for name, kind in TARGET_TYPES.items()},
    }
    header = (
        "---\n"
        "# Generated by `python -m drkit.docgen` from drkit.operate.inventory_contract (the one description of\n"
        "# the inventory variables both the lab and the cloud write): edit the dataclasses there, not this file.\n"
        "# needs_targets: whether the play needs a host in backup_targets (backup and restore do); member_vars:\n"
        "# what every registry member must have; target_vars: what a backup target must have, by its\n"
        "# drkit_backup_type (rsync when unset).\n"
    )
    return header + yaml.dump(document, Dumper=_PlaybookStyle, sort_keys=False)
