"""Configuration files of the lab's real components: etcd, supervisord, HAProxy and the rsync daemon."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from drkit.sandbox.binaries import EtcdBinaries
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan, Member


def etcd_config(plan: LabPlan, member: Member, paths: LabPaths) -> dict[str, Any]:
    """The member's etcd configuration file (etcd's own YAML keys). A file rather than flags, because
    replacing a member means starting it once with `initial-cluster-state: existing`: the member-replace
    playbook edits this file, as it edits /etc/etcd/etcd.conf.yml on a cloud host."""
    region = plan.region(member.region)
    assert region is not None
    return {
        "name": member.name,
        "data-dir": str(paths.member_data(member.name)),
        "listen-client-urls": member.client_url,
        "advertise-client-urls": member.client_url,
        "listen-peer-urls": member.peer_url,
        "initial-advertise-peer-urls": member.peer_url,
        "initial-cluster": region.initial_cluster,
        "initial-cluster-token": region.cluster_token,
        "initial-cluster-state": "new",  # ignored once the data dir holds a member
        "heartbeat-interval": plan.heartbeat_ms,
        "election-timeout": plan.election_ms,
        "quota-backend-bytes": plan.quota_backend_bytes,
        "logger": "zap",
        "log-outputs": ["stderr"],
        # The flag defaults to true, but a config file leaves it false: drkit's probes use the gateway.
        "enable-grpc-gateway": True,
    }


def write_etcd_configs(plan: LabPlan, paths: LabPaths, members: tuple[Member, ...] | None = None) -> None:
    """Every member's config (or only `members`'), as the plan says: `initial-cluster-state: new`, which
    undoes a member-replace's `existing` (a member whose data dir is gone must boot with its region, not join)."""
    paths.etc.mkdir(parents=True, exist_ok=True)
    for member in plan.members if members is None else members:
        header = f"# Written by drkit sandbox for {member.name}; regenerated on every `up`.\n"
        body = yaml.safe_dump(etcd_config(plan, member, paths), sort_keys=False)
        paths.etcd_config(member.name).write_text(header + body, encoding="utf-8")


def etcd_command(member: Member, paths: LabPaths) -> list[str]:
    # Through the member's release link, so an upgrade is re-pointing the link and restarting the program.
    return [str(paths.member_bin(member.name) / "etcd"), f"--config-file={paths.etcd_config(member.name)}"]


def member_program_command(plan: LabPlan, member: Member, paths: LabPaths) -> list[str]:
    """The member's supervisor command: etcd, inside its region's namespace when the lab has them."""
    command = etcd_command(member, paths)
    region = plan.region(member.region)
    assert region is not None
    if region.link is None:
        return command
    # In its region's namespace; supervisord's PATH may lack /usr/sbin, so ip is named in full.
    return [*region.link.exec_prefix(shutil.which("ip") or "/usr/sbin/ip"), *command]


def _python() -> str:
    """This interpreter by an absolute path, links kept (a venv's python is a link to the system's): every
    process that rewrites supervisord.conf must write the same command, or a reload restarts the program."""
    return os.path.abspath(sys.executable)  # noqa: PTH100  (Path.resolve would follow the venv link)


def witness_command(plan: LabPlan, paths: LabPaths, binaries: EtcdBinaries) -> list[str]:
    """A one-member etcd in the root namespace: a third place both regions reach over their own links."""
    urls = ",".join(plan.witness_urls())
    peer = f"http://127.0.0.1:{plan.witness_port + 1}"
    return [
        str(binaries.etcd),
        "--name=witness",
        f"--data-dir={paths.data / 'witness'}",
        f"--listen-client-urls={urls}",
        f"--advertise-client-urls=http://127.0.0.1:{plan.witness_port}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=witness={peer}",
        f"--initial-cluster-token=drkit-{plan.stack}-witness",
    ]


def guard_command(plan: LabPlan, region: str, paths: LabPaths) -> list[str]:
    """The region's guard, inside the region's namespace when the lab has them: what cuts the region off
    cuts its guard off too, as a guard next to the members would be."""
    host, port = plan.guard_metrics_address(region)
    command = [
        _python(),
        "-m",
        "drkit.failover.guard",
        f"--state-dir={paths.root}",
        f"--region={region}",
        f"--metrics-address={host}:{port}",
        # The spec's recovery.witness timing (drkit validate checked it, DR008); the guard checks it again.
        f"--ttl={plan.witness_ttl_s}",
        f"--loop-wait={plan.witness_loop_wait_s:g}",
        f"--retry-timeout={plan.witness_retry_timeout_s:g}",
    ]
    where = plan.region(region)
    if where is None or where.link is None:
        return command
    return [*where.link.exec_prefix(shutil.which("ip") or "/usr/sbin/ip"), *command]


def mirror_command(plan: LabPlan, standby_index: int, prefix: str, binaries: EtcdBinaries) -> list[str]:
    """etcdctl make-mirror from the primary's members into the standby (one destination endpoint)."""
    standby = plan.standbys[standby_index]
    command = [str(binaries.etcdctl), f"--endpoints={plan.primary.client_endpoints}", "make-mirror"]
    if prefix:
        command.append(f"--prefix={prefix}")
    command.append(standby.members[0].client_url)
    return command


def _quote(argument: str) -> str:
    # supervisord splits `command` with shlex; the lab's arguments hold no quotes or spaces, but paths might.
    return f'"{argument}"' if " " in argument else argument


SCHEDULER_PROGRAM = "backup-scheduler"


def _program(name: str, command: list[str], log: Path, *, autostart: bool, autorestart: bool, env: str = "") -> str:
    lines = [
        f"[program:{name}]",
        "command=" + " ".join(_quote(part) for part in command),
        f"autostart={str(autostart).lower()}",
        # Members are not restarted: a killed member must stay down, or the lab's faults would be fake.
        f"autorestart={str(autorestart).lower()}",
        "startsecs=1",
        "startretries=1000",
        "stopwaitsecs=30",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=1",
    ]
    if env:
        lines.append(f"environment={env}")
    return "\n".join(lines) + "\n"


def mirror_programs(plan: LabPlan, binaries: EtcdBinaries) -> dict[str, list[str]]:
    """Supervisor program name -> command for every mirror (one per standby and prefix)."""
    programs = {}
    for standby_index, standby in enumerate(plan.standbys):
        for prefix_index, prefix in enumerate(plan.mirror_prefixes):
            suffix = f"-{prefix_index}" if len(plan.mirror_prefixes) > 1 else ""
            programs[f"mirror-{standby.name}{suffix}"] = mirror_command(plan, standby_index, prefix, binaries)
    return programs


def supervisord_conf(plan: LabPlan, binaries: EtcdBinaries, paths: LabPaths) -> str:
    sections = [
        f"""; Written by drkit sandbox for stack {plan.stack}. Regenerated on every `up`.
[unix_http_server]
file={paths.supervisor_socket}
chmod=0700

[supervisord]
pidfile={paths.supervisor_pid}
logfile={paths.logs / "supervisord.log"}
childlogdir={paths.logs}
directory={paths.root}
identifier=drkit-{plan.stack}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{paths.supervisor_socket}
"""
    ]
    for member in plan.members:
        sections.append(
            _program(
                member.program,
                member_program_command(plan, member, paths),
                paths.logs / f"{member.program}.log",
                # Started by the lab, not by supervisord: a region fenced by a failover must not come back
                # by itself (and its program must not change when roles do, or a reload would restart it).
                autostart=False,
                autorestart=False,
                env=f'DRKIT_REGION="{member.region}",DRKIT_AZ="{member.az}"',
            )
        )
    for name, command in mirror_programs(plan, binaries).items():
        # Mirrors start once both clusters are healthy, and are restarted whenever they die.
        sections.append(_program(name, command, paths.logs / f"{name}.log", autostart=False, autorestart=True))
    # The primary's heartbeat (drkit.failover.heartbeat): the RPO bound a failover reports. It follows the
    # primary: a promotion rewrites this program's endpoints.
    sections.append(
        _program(
            "heartbeat",
            [_python(), "-m", "drkit.failover.heartbeat", f"--endpoints={plan.primary.client_endpoints}"],
            paths.logs / "heartbeat.log",
            autostart=True,
            autorestart=True,
        )
    )
    # Automatic promotion (drkit.failover.guard): the witness and one guard per region. Started on request
    # (`drkit sandbox guards start`): a lab without them promotes only when a person says so.
    sections.append(
        _program(
            "witness",
            witness_command(plan, paths, binaries),
            paths.logs / "witness.log",
            autostart=False,
            autorestart=False,
        )
    )
    for region in plan.regions:
        sections.append(
            _program(
                f"guard-{region.name}",
                guard_command(plan, region.name, paths),
                paths.logs / f"guard-{region.name}.log",
                autostart=False,
                autorestart=True,
            )
        )
    if plan.backup_schedule:
        # The backup schedule (drkit.sandbox.scheduler): the lab's stand-in for the members' systemd timers.
        # Started on request (`drkit sandbox schedule start`), so other work on the lab is never interleaved
        # with a backup nobody asked for.
        sections.append(
            _program(
                SCHEDULER_PROGRAM,
                [_python(), "-m", "drkit.sandbox.scheduler", f"--state-dir={paths.root}"],
                paths.logs / f"{SCHEDULER_PROGRAM}.log",
                autostart=False,
                autorestart=True,
            )
        )
    sections.append(
        _program(
            "haproxy",
            ["/usr/sbin/haproxy", "-db", "-f", str(paths.haproxy_conf)],
            paths.logs / "haproxy.log",
            autostart=True,
            autorestart=True,
        )
    )
    sections.append(
        _program(
            "rsyncd",
            [
                "/usr/bin/rsync",
                "--daemon",
                "--no-detach",
                f"--config={paths.rsyncd_conf}",
                "--address=127.0.0.1",
                f"--port={plan.rsync_port}",
            ],
            paths.logs / "rsyncd.log",
            autostart=True,
            autorestart=True,
        )
    )
    if plan.s3_port:
        # The spec's s3 target: moto's S3 server, on loopback only. It keeps buckets in memory: a lab `stop`
        # loses them (`up` creates the bucket again, empty).
        sections.append(
            _program(
                "s3",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(plan.s3_port)],
                paths.logs / "s3.log",
                autostart=True,
                autorestart=True,
            )
        )
    return "\n".join(sections)


def haproxy_cfg(plan: LabPlan, paths: LabPaths, serving: set[str]) -> str:
    """One TCP frontend; every member is a server, only those of the `serving` regions in rotation."""
    interval, fall = plan.check_interval_ms, plan.check_fall
    lines = [
        f"# Written by drkit sandbox for stack {plan.stack}: the lab's global endpoint.",
        "global",
        f"    stats socket {paths.haproxy_socket} mode 600 level admin",
        "defaults",
        "    mode tcp",
        "    timeout connect 2s",
        "    timeout client 1h",
        "    timeout server 1h",
        "frontend registry",
        f"    bind 127.0.0.1:{plan.endpoint_port}",
        "    default_backend registry",
        "backend registry",
        "    option httpchk",
        "    http-check send meth GET uri /health",
        "    http-check expect status 200",
        # A region taken out of rotation must drop its clients' sessions, or gRPC streams would stay on it.
        f"    default-server inter {interval}ms fall {fall} rise 1 on-marked-down shutdown-sessions"
        " on-marked-up shutdown-backup-sessions",
    ]
    for member in plan.members:
        state = "" if member.region in serving else " disabled"
        lines.append(f"    server {member.name} {member.host}:{member.client_port} check{state}")
    return "\n".join(lines) + "\n"


def rsyncd_conf(plan: LabPlan, paths: LabPaths) -> str:
    return f"""# Written by drkit sandbox for stack {plan.stack}: the lab's backup target, on loopback only.
use chroot = no
uid = {os.getuid()}
gid = {os.getgid()}
log file = {paths.logs / "rsyncd-transfers.log"}
pid file = {paths.run / "rsyncd.pid"}

[{plan.rsync_module}]
    path = {paths.backups}
    comment = drkit lab backup target ({plan.stack})
    read only = no
    list = yes
"""
