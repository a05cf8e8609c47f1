"""The cloud-config each instance boots with: install the spec's etcd, fetch its TLS material, run under systemd.

Plain text from plain values (the caller resolves Outputs first), so tests can read exactly what a member
will run. Nothing secret goes in here: the TLS key is fetched from Secrets Manager at boot (tls_delivery).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from drkit.spec.model import Replication

# etcd's own release downloads; the SHA256SUMS published beside each release is checked before installing.
ETCD_RELEASES = "https://github.com/etcd-io/etcd/releases/download"
PKI_DIR = "/etc/etcd/pki"
DATA_DIR = "/var/lib/etcd"
# Every etcd release a host has lives in its own directory, and etcd runs through one link to the current
# one: the rolling-upgrade playbook installs the next release beside it and re-points the link member by
# member (the lab's layout is the same, drkit.sandbox.releases).
RELEASES_DIR = "/opt/etcd/releases"
CURRENT_LINK = "/opt/etcd/current"
BIN_DIR = CURRENT_LINK
INSTALL_ETCD = "/usr/local/sbin/drkit-install-etcd"

_INSTALL_ETCD_TEMPLATE = """#!/bin/sh
# drkit-install-etcd VERSION [ARCH] [BASE]: install etcd VERSION into @RELEASES@/VERSION after checking the
# release tarball against its SHA256SUMS. Only on first boot is @CURRENT@ pointed at it: afterwards the
# rolling-upgrade playbook re-points the link, one member at a time. An installed release is left alone.
set -eu
version="$1"
case "$(uname -m)" in aarch64|arm64) arch=arm64 ;; *) arch=amd64 ;; esac
arch="${2:-$arch}"; base="${3:-@BASE@}"
dest="@RELEASES@/${version}"
if [ ! -x "$dest/etcd" ]; then
  tarball="etcd-v${version}-linux-${arch}.tar.gz"
  work="$(mktemp -d)"; cd "$work"
  curl -fsSLO --retry 5 "${base}/v${version}/${tarball}"
  curl -fsSLO --retry 5 "${base}/v${version}/SHA256SUMS"
  grep " ${tarball}\\$" SHA256SUMS | sha256sum -c -
  into="$dest.partial"
  install -d "$into"
  tar -xzf "$tarball" --strip-components=1 -C "$into" --wildcards '*/etcd' '*/etcdctl' '*/etcdutl' 2>/dev/null \\
    || tar -xzf "$tarball" --strip-components=1 -C "$into" --wildcards '*/etcd' '*/etcdctl'
  mv "$into" "$dest"
  cd /; rm -rf "$work"
fi
[ -e @CURRENT@ ] || ln -s "$dest" @CURRENT@
# Operators' etcdctl on PATH follows the member's release (etcdutl exists from 3.5 on).
for tool in etcd etcdctl etcdutl; do [ -e "@PATH@/$tool" ] || ln -sf "@CURRENT@/$tool" "@PATH@/$tool"; done
"""

# Writes the instance's CA, certificate and key from its secret: at boot, and again to rotate certificates.
FETCH_TLS = "/usr/local/sbin/drkit-fetch-tls"
_FETCH_TLS = """#!/bin/sh
# Write this instance's CA, certificate and key from its Secrets Manager secret (JSON: ca, cert, key).
set -eu
secret="$1"; region="$2"; dir="@PKI@"
install -d -m 0750 "$dir"
aws secretsmanager get-secret-value --region "$region" --secret-id "$secret" --query SecretString --output text \\
  | python3 -c 'import json,sys,os
d = json.load(sys.stdin)
for name, value in (("ca.crt", d["ca"]), ("server.crt", d["cert"]), ("server.key", d["key"])):
    path = os.path.join(sys.argv[1], name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(value)' "$dir"
"""

_PREPARE_DATA = """#!/bin/sh
# Format the data volume on first boot only (never over existing data) and mount it at the data dir.
set -eu
device="$1"; mountpoint="$2"
while [ ! -e "$device" ]; do sleep 1; done
blkid "$device" >/dev/null 2>&1 || mkfs.xfs -L etcd-data "$device"
install -d -m 0700 "$mountpoint"
grep -q " $mountpoint " /etc/fstab || echo "$device $mountpoint xfs defaults,nofail 0 2" >> /etc/fstab
mountpoint -q "$mountpoint" || mount "$mountpoint"
"""

_ETCD_UNIT = """[Unit]
Description=etcd registry member (drkit)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
EnvironmentFile=/etc/drkit/etcd.env
ExecStart=@BIN@/etcd
Restart=always
RestartSec=5s
LimitNOFILE=65536
TimeoutStopSec=30s

[Install]
WantedBy=multi-user.target
"""

# The primary's heartbeat (the lab runs drkit.failover.heartbeat): the wall time at /drkit/heartbeat every
# second, which the mirror carries to the standbys; a failover reads the newest one the standby holds as its
# RPO bound. Every member runs it, but only the leader of the region /drkit/epoch names as primary writes
# (before any promotion: the region that booted as primary). A standby's members therefore stay silent (its
# /drkit/epoch, mirrored in, names the primary), and after a promotion the new primary's leader takes over.
HEARTBEAT_KEY = "/drkit/heartbeat"
EPOCH_KEY = "/drkit/epoch"

_HEARTBEAT = """#!/usr/bin/env python3
# drkit-heartbeat REGION BOOT_ROLE [ENV_FILE] (see cloud_init.py in drkit for why it works this way)
import json, subprocess, sys, time
region, boot_role = sys.argv[1], sys.argv[2]
env_file = sys.argv[3] if len(sys.argv) > 3 else "/etc/drkit/etcd.env"
env = dict(line.rstrip("\\n").split("=", 1) for line in open(env_file) if "=" in line)
url = env["ETCD_ADVERTISE_CLIENT_URLS"].split(",")[0]
tls = ["--cacert=@PKI@/ca.crt", "--cert=@PKI@/server.crt", "--key=@PKI@/server.key"] if url.startswith("https") else []

def ctl(*args):
    command = ["@BIN@/etcdctl", "--endpoints=" + url, "--command-timeout=2s", *tls, *args]
    # check=True: an epoch that could not be read must never pass for "no epoch yet".
    return subprocess.run(command, capture_output=True, text=True, timeout=5, check=True).stdout.strip()

while True:
    try:
        status = json.loads(ctl("endpoint", "status", "-w", "json"))[0]["Status"]
        leads = status["leader"] == status["header"]["member_id"]
        epoch = ctl("get", "@EPOCH@", "--print-value-only")
        primary = json.loads(epoch)["primary"] if epoch else (region if boot_role == "primary" else "")
        if leads and primary == region:
            ctl("put", "@HEARTBEAT@", "%.3f" % time.time())
    except (ValueError, KeyError, IndexError, OSError, subprocess.SubprocessError):
        pass  # the member is down or has no leader: try again next second
    time.sleep(1)
"""

_HEARTBEAT_UNIT = """[Unit]
Description=drkit heartbeat of the primary region (RPO bound for failovers)
After=etcd.service

[Service]
ExecStart=/usr/local/sbin/drkit-heartbeat @REGION@ @ROLE@
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
"""

# The mirror's systemd units and their environment files: one definition, used by cloud-init at first boot and
# by the AWS failover control plane (drkit.failover.aws) when it stops, re-points or starts a mirror.
MIRROR_UNIT_TEMPLATE = "drkit-mirror@.service"
MIRROR_ENV_DIR = "/etc/drkit"


def mirror_unit(index: int) -> str:
    """The systemd unit mirroring the `index`th mirrored prefix."""
    return f"drkit-mirror@{index}.service"


def mirror_env_file(index: int) -> str:
    """Where that unit's etcdctl arguments live (the unit reads MIRROR_ARGS from it)."""
    return f"{MIRROR_ENV_DIR}/mirror-{index}.env"


def mirror_env(arguments: str) -> str:
    """The content of a mirror's environment file, for mirror_arguments()."""
    return f"MIRROR_ARGS={arguments}\n"


def mirrored_prefixes(replication: Replication) -> list[str]:
    """One make-mirror per prefix; "" stands for every key (as in the lab)."""
    return [""] if replication.mirrors_everything else list(replication.prefixes)


_MIRROR_UNIT = """[Unit]
Description=etcdctl make-mirror from the primary region into this standby (drkit), prefix %I
Wants=network-online.target
After=network-online.target

[Service]
EnvironmentFile=@ENV_DIR@/mirror-%i.env
ExecStart=@BIN@/etcdctl $MIRROR_ARGS
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Boot:
    """What every drkit instance needs at boot: etcd installed, its TLS material, and who it is."""

    stack: str
    region: str
    version: str
    arch: str  # amd64 or arm64
    tls_secret_id: str


@dataclass(frozen=True)
class MemberBoot(Boot):
    data_device: str
    etcd_env: dict[str, str] = field(default_factory=dict)
    role: str = "standby"  # the region's role at first boot: the heartbeat's default before any promotion


@dataclass(frozen=True)
class MirrorBoot(Boot):
    mirror_arguments: tuple[str, ...] = ()  # one etcdctl command line per mirrored prefix (mirror_arguments())


def mirror_arguments(source: str, destination: str, prefix: str, tls: bool) -> str:
    """etcdctl arguments mirroring `prefix` ("" for every key) from the primary's endpoint into the standby's.

    The lab runs the same command under supervisord (drkit.sandbox.configs.mirror_command)."""
    certs = f"--cacert={PKI_DIR}/ca.crt --cert={PKI_DIR}/server.crt --key={PKI_DIR}/server.key " if tls else ""
    dest_certs = (
        f"--dest-cacert={PKI_DIR}/ca.crt --dest-cert={PKI_DIR}/server.crt --dest-key={PKI_DIR}/server.key "
        if tls
        else ""
    )
    selection = f"--prefix={prefix} " if prefix else ""
    return f"--endpoints={source} {certs}make-mirror {selection}{dest_certs}{destination}"


def _fill(template: str, **values: str) -> str:
    """Replace @NAME@ placeholders (shell scripts are full of braces and dollars, so no str.format)."""
    for key, value in values.items():
        template = template.replace(f"@{key.upper()}@", value)
    return template


def install_etcd_script(
    releases: str = RELEASES_DIR, current: str = CURRENT_LINK, base: str = ETCD_RELEASES, path: str = "/usr/local/bin"
) -> str:
    """drkit-install-etcd, for these directories (tests run it against a temporary tree and a file:// base)."""
    return _fill(_INSTALL_ETCD_TEMPLATE, releases=releases, current=current, base=base, path=path)


_INSTALL_ETCD = install_etcd_script()
_FETCH_TLS = _fill(_FETCH_TLS, pki=PKI_DIR)
_ETCD_UNIT = _fill(_ETCD_UNIT, bin=BIN_DIR)
_MIRROR_UNIT = _fill(_MIRROR_UNIT, bin=BIN_DIR, env_dir=MIRROR_ENV_DIR)


def heartbeat_script(bin_dir: str = BIN_DIR, pki: str = PKI_DIR) -> str:
    """drkit-heartbeat for these directories (a test runs it against a real etcd and the lab's etcdctl)."""
    return _fill(_HEARTBEAT, bin=bin_dir, pki=pki, epoch=EPOCH_KEY, heartbeat=HEARTBEAT_KEY)


def _file(path: str, content: str, permissions: str = "0644") -> dict[str, str]:
    return {"path": path, "content": content, "permissions": permissions, "owner": "root:root"}


def _common_files(boot: Boot) -> list[dict[str, str]]:
    return [
        _file(INSTALL_ETCD, _INSTALL_ETCD, "0755"),
        _file(FETCH_TLS, _FETCH_TLS, "0755"),
    ]


def _common_commands(boot: Boot) -> list[list[str]]:
    return [
        [INSTALL_ETCD, boot.version, boot.arch, ETCD_RELEASES],
        [FETCH_TLS, boot.tls_secret_id, boot.region],
    ]


def _render(files: list[dict[str, str]], commands: list[list[str]]) -> str:
    body = yaml.safe_dump({"write_files": files, "runcmd": commands}, sort_keys=False, width=1000)
    return "#cloud-config\n" + body


def member_user_data(boot: MemberBoot) -> str:
    env = "".join(f"{key}={value}\n" for key, value in sorted(boot.etcd_env.items()))
    files = [
        *_common_files(boot),
        _file("/usr/local/sbin/drkit-prepare-data", _PREPARE_DATA, "0755"),
        _file("/etc/drkit/etcd.env", env, "0600"),
        _file("/etc/systemd/system/etcd.service", _ETCD_UNIT),
        _file("/usr/local/sbin/drkit-heartbeat", _HEARTBEAT, "0755"),
        _file(
            "/etc/systemd/system/drkit-heartbeat.service", _fill(_HEARTBEAT_UNIT, region=boot.region, role=boot.role)
        ),
    ]
    commands = [
        ["/usr/local/sbin/drkit-prepare-data", boot.data_device, DATA_DIR],
        *_common_commands(boot),
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "etcd.service", "drkit-heartbeat.service"],
    ]
    return _render(files, commands)


def witness_user_data(boot: MemberBoot) -> str:
    """A witness member: the registry members' layout (release directories, the current link, TLS from
    Secrets Manager, the data volume, etcd under systemd), without the heartbeat: a witness holds only the
    guards' lease key, never registry data."""
    env = "".join(f"{key}={value}\n" for key, value in sorted(boot.etcd_env.items()))
    files = [
        *_common_files(boot),
        _file("/usr/local/sbin/drkit-prepare-data", _PREPARE_DATA, "0755"),
        _file("/etc/drkit/etcd.env", env, "0600"),
        _file("/etc/systemd/system/etcd.service", _ETCD_UNIT),
    ]
    commands = [
        ["/usr/local/sbin/drkit-prepare-data", boot.data_device, DATA_DIR],
        *_common_commands(boot),
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "etcd.service"],
    ]
    return _render(files, commands)


def mirror_user_data(boot: MirrorBoot) -> str:
    files = [*_common_files(boot), _file(f"/etc/systemd/system/{MIRROR_UNIT_TEMPLATE}", _MIRROR_UNIT)]
    units = []
    for index, arguments in enumerate(boot.mirror_arguments):
        files.append(_file(mirror_env_file(index), mirror_env(arguments), "0600"))
        units.append(mirror_unit(index))
    commands = [*_common_commands(boot), ["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", *units]]
    return _render(files, commands)
