"""The cloud-config each instance boots with: install the spec's etcd, fetch its TLS material, run under systemd.

Plain text from plain values (the caller resolves Outputs first), so tests can read exactly what a member
will run. Nothing secret goes in here: the TLS key is fetched from Secrets Manager at boot (tls_delivery).
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field

import yaml

from drkit import lease_timing
from drkit.spec.model import Replication

# etcd's own release downloads; the SHA256SUMS published beside each release is checked before installing.
ETCD_RELEASES = "https://github.com/etcd-io/etcd/releases/download"
PKI_DIR = "/etc/etcd/pki"
# The data volume is mounted here, and etcd keeps its data in a directory on it: the member playbook moves
# a replaced member's data aside (DATA_DIR.replaced-<time>) on the same volume, which a mount point cannot be.
DATA_MOUNT = "/var/lib/etcd"
DATA_DIR = f"{DATA_MOUNT}/data"
# A member added to a running cluster must be `etcdctl member add`ed before its etcd starts: its unit waits
# for this file, which the member playbook writes once the member is added (docs/runbooks/members.md).
MEMBER_ADDED_MARKER = "/etc/drkit/member-added"
# etcd's settings as ETCD_* lines (the unit's EnvironmentFile); the member playbook and failback edit it.
ETCD_ENV = "/etc/drkit/etcd.env"
_WAIT_FOR_MEMBER_ADD = f"""[Unit]
# This member joins a running cluster: it starts only after the member playbook has run `etcdctl member add`
# for it and written {MEMBER_ADDED_MARKER}; it never bootstraps a cluster of its own.
ConditionPathExists={MEMBER_ADDED_MARKER}
"""
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

# The same command on GCE members (drkit-fetch-tls SECRET REGION), from Secret Manager: the secret's full
# resource name, read with the instance's service account token from the metadata server (no gcloud needed).
_FETCH_TLS_GCP = """#!/bin/sh
# Write this instance's CA, certificate and key from its Secret Manager secret (JSON: ca, cert, key).
set -eu
secret="$1"; dir="@PKI@"
install -d -m 0750 "$dir"
token=$(curl -sf -H 'Metadata-Flavor: Google' \\
  http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token \\
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -H "Authorization: Bearer $token" "https://secretmanager.googleapis.com/v1/$secret/versions/latest:access" \\
  | python3 -c 'import base64,json,sys,os
d = json.loads(base64.b64decode(json.load(sys.stdin)["payload"]["data"]))
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

# Automatic promotion's guards (drkit.failover.guard, docs/runbooks/failover.md): on every member,
# - drkit-guard-fence, standard library only like drkit-heartbeat: the fence path. While the region is the
#   primary (its /drkit/epoch, or the boot role before one exists) it watches the witness key its region's
#   leader renews, and stops this member's etcd before the lease can lapse (ttl - 2 x retry_timeout after
#   the last renewal it can prove). No AWS API, no drkit package: it fences a region cut off from both. It
#   never writes to the witness; it arms itself only once it has seen its region hold the key (so without a
#   renewing guard it stays inert), and starts etcd again only when its region holds the key again.
# - drkit-guard.service: the full guard (python -m drkit.failover.guard_aws: renewal on the leader,
#   promotion through the failover engine over boto3). It needs drkit's runtime, which cloud-init does not
#   install (a member boots before anyone has run the playbooks): playbooks/install-drkit.yml unpacks the
#   package's source and the project under /opt/drkit with a virtualenv of its few libraries and starts the
#   unit; until then only the fence path runs.
# Both read /etc/drkit/guard.env.
GUARD_ENV = "/etc/drkit/guard.env"
GUARD_FENCE = "/usr/local/sbin/drkit-guard-fence"
GUARD_STATE_DIR = "/var/lib/drkit/guard"
DRKIT_HOME = "/opt/drkit"  # drkit_runtime_home in playbooks/roles/drkit_runtime
DRKIT_VENV = f"{DRKIT_HOME}/venv"

_GUARD_FENCE = """#!/usr/bin/env python3
# drkit-guard-fence [GUARD_ENV] [ETCD_ENV] (see cloud_init.py in drkit for why it works this way)
import base64, json, os, ssl, subprocess, sys, time, urllib.request
guard_env = sys.argv[1] if len(sys.argv) > 1 else "@GUARD_ENV@"
etcd_env = sys.argv[2] if len(sys.argv) > 2 else "/etc/drkit/etcd.env"
def read_env(path):
    return dict(line.rstrip("\\n").split("=", 1) for line in open(path) if "=" in line)
env, etcd = read_env(guard_env), read_env(etcd_env)
stack, region, boot_role = env["DRKIT_STACK"], env["DRKIT_REGION"], env["DRKIT_BOOT_ROLE"]
witness = [url for url in env["DRKIT_WITNESS"].split(",") if url]
ttl, loop_wait = float(env["DRKIT_GUARD_TTL"]), float(env["DRKIT_GUARD_LOOP_WAIT"])
retry = float(env["DRKIT_GUARD_RETRY_TIMEOUT"])
state_file = os.path.join(env.get("DRKIT_GUARD_STATE_DIR", "@STATE_DIR@"), "fence.json")
local = etcd["ETCD_ADVERTISE_CLIENT_URLS"].split(",")[0]
key = "/drkit/witness/%s/primary" % stack
context = None
if local.startswith("https") or any(url.startswith("https") for url in witness):
    context = ssl.create_default_context(cafile="@PKI@/ca.crt")
    context.load_cert_chain("@PKI@/server.crt", "@PKI@/server.key")

def call(url, path, body, timeout):
    request = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        return json.loads(response.read())

def b64(text):
    return base64.b64encode(text.encode()).decode()

def witness_record():
    # The key's record and its lease's whole seconds left (etcd truncates, and answers -1 under one second).
    errors = []
    for url in witness:
        try:
            kvs = call(url, "/v3/kv/range", {"key": b64(key)}, retry / len(witness)).get("kvs", [])
            if not kvs:
                return None, -1
            record = json.loads(base64.b64decode(kvs[0].get("value", "")))
            lease = kvs[0].get("lease", "0")
            left = call(url, "/v3/lease/timetolive", {"ID": lease}, retry / len(witness)).get("TTL", -1)
            return record, int(left) if int(lease) else -1
        except (OSError, ValueError, KeyError) as error:
            errors.append(str(error))
    raise OSError("; ".join(errors))

def primary_of_region(known):
    # The region /drkit/epoch names (an epoch that cannot be read is never taken for "no epoch yet").
    try:
        kvs = call(local, "/v3/kv/range", {"key": b64("@EPOCH@")}, 1.0).get("kvs", [])
    except (OSError, ValueError):
        return known
    if not kvs:
        return region if boot_role == "primary" else ""
    try:
        return json.loads(base64.b64decode(kvs[0].get("value", "")))["primary"]
    except (ValueError, KeyError, TypeError):
        return known

def systemctl(action):
    subprocess.run(["@SYSTEMCTL@", action, "etcd.service"], check=True, timeout=60)

try:
    state = json.load(open(state_file))
except (OSError, ValueError):
    state = {"primary": region if boot_role == "primary" else "", "armed": False, "fenced": False}
last = time.time()  # as if the lease had been seen renewed at start: a member that cannot see it fences
while True:
    started = time.time()
    state["primary"] = primary_of_region(state["primary"])
    if state["primary"] != region:
        decision = "standby: nothing to fence"
    else:
        decision = "primary: watching"
        if state["armed"] and not state["fenced"] and started - last >= ttl - 2 * retry:
            # Overdue: fence first, before spending up to retry_timeout on another read.
            try:
                systemctl("stop")
                state["fenced"] = True
                decision = "primary: self-fenced (lease not seen renewed for %.1fs)" % (started - last)
            except (OSError, subprocess.SubprocessError) as error:
                decision = "primary: self-fence FAILED: %s" % error
        try:
            record, left = witness_record()
        except OSError:
            record, left = None, -1
            decision += "; the witness does not answer"
        if record is not None and record.get("region") == region and left >= 1:
            # The lease lapses no sooner than `left` seconds after this read was sent.
            state["armed"] = True
            last = max(last, started + left - ttl)
            if state["fenced"]:
                try:
                    systemctl("start")
                    state["fenced"] = False
                    decision = "primary: the region holds the key again: etcd started"
                except (OSError, subprocess.SubprocessError) as error:
                    decision = "primary: start FAILED: %s" % error
        elif record is not None and record.get("region") != region and state["armed"] and not state["fenced"]:
            try:
                systemctl("stop")
                state["fenced"] = True
                decision = "primary: self-fenced (%s holds the key)" % record.get("region")
            except (OSError, subprocess.SubprocessError) as error:
                decision = "primary: self-fence FAILED: %s" % error
    state["decision"], state["at"] = decision, started
    try:
        os.makedirs(os.path.dirname(state_file), exist_ok=True)
        with open(state_file + ".partial", "w") as out:
            json.dump(state, out)
        os.replace(state_file + ".partial", state_file)
    except OSError:
        pass
    time.sleep(max(0.0, loop_wait - (time.time() - started)))
"""

_GUARD_FENCE_UNIT = """[Unit]
Description=drkit guard, fence path: stop this member's etcd when its primary region loses the witness lease
After=etcd.service

[Service]
ExecStart=@FENCE@ @GUARD_ENV@
Restart=always
RestartSec=1s

[Install]
WantedBy=multi-user.target
"""

_GUARD_UNIT = """[Unit]
Description=drkit guard: renew the witness lease (leader), promote this standby through the failover engine
After=etcd.service
# drkit's runtime comes from install-drkit.yml, not cloud-init: until it is there only the fence path runs.
ConditionPathExists=@VENV@/bin/python
ConditionPathExists=@HOME@/src/drkit

[Service]
EnvironmentFile=@GUARD_ENV@
# The package's source as unpacked with the project (it finds its playbooks beside it, as in a checkout).
Environment=PYTHONPATH=@HOME@/src
ExecStart=@VENV@/bin/python -m drkit.failover.guard_aws --stack ${DRKIT_STACK} --region ${DRKIT_REGION} \\
  --boot-role ${DRKIT_BOOT_ROLE} --local-url ${DRKIT_LOCAL_URL} --members ${DRKIT_MEMBERS} \\
  --witness ${DRKIT_WITNESS} --inventory ${DRKIT_INVENTORY} --state-dir ${DRKIT_GUARD_STATE_DIR} \\
  --ttl ${DRKIT_GUARD_TTL} --loop-wait ${DRKIT_GUARD_LOOP_WAIT} --retry-timeout ${DRKIT_GUARD_RETRY_TIMEOUT} \\
  --cacert @PKI@/ca.crt --cert @PKI@/server.crt --key @PKI@/server.key --project @HOME@
WorkingDirectory=@HOME@
Restart=always
RestartSec=1s

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class GuardBoot:
    """The guard's parameters, as plain values: the witness's client URLs and the lease timing. The topology
    builds it from the spec's recovery.witness and the witness's fixed addresses (topology.guard_boot), and
    RegistryCluster._boot adds the region's member URLs. Patroni's rule (drkit.lease_timing) is checked again
    here (DR008 checks the spec): cloud-init must never write timing a guard would refuse."""

    witness_urls: tuple[str, ...]
    ttl: int = 5
    loop_wait: float = 1.0
    retry_timeout: float = 1.0
    members: tuple[str, ...] = ()  # every member's client URL in the region
    inventory: str = f"{DRKIT_HOME}/inventory.yml"

    def __post_init__(self) -> None:
        if not self.witness_urls:
            raise ValueError("a guard needs the witness's client URLs")
        if not lease_timing.fits(self.ttl, self.loop_wait, self.retry_timeout):
            raise ValueError(
                f"loop_wait {self.loop_wait:g}s + 2 x retry_timeout {self.retry_timeout:g}s must not exceed the"
                f" ttl {self.ttl}s"
            )


def guard_env(stack: str, region: str, role: str, local_url: str, guard: GuardBoot) -> str:
    """The content of /etc/drkit/guard.env, read by both guard units."""
    values = {
        "DRKIT_STACK": stack,
        "DRKIT_REGION": region,
        "DRKIT_BOOT_ROLE": role,
        "DRKIT_LOCAL_URL": local_url,
        "DRKIT_MEMBERS": ",".join(guard.members) or local_url,
        "DRKIT_WITNESS": ",".join(guard.witness_urls),
        "DRKIT_INVENTORY": guard.inventory,
        "DRKIT_GUARD_STATE_DIR": GUARD_STATE_DIR,
        "DRKIT_GUARD_TTL": str(guard.ttl),
        "DRKIT_GUARD_LOOP_WAIT": f"{guard.loop_wait:g}",
        "DRKIT_GUARD_RETRY_TIMEOUT": f"{guard.retry_timeout:g}",
    }
    return "".join(f"{name}={value}\n" for name, value in values.items())


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
    # aws: TLS from Secrets Manager with the aws CLI; gcp: from Secret Manager over its REST API.
    cloud: str = field(default="aws", kw_only=True)


@dataclass(frozen=True)
class MemberBoot(Boot):
    data_device: str
    etcd_env: dict[str, str] = field(default_factory=dict)
    role: str = "standby"  # the region's role at first boot: the heartbeat's default before any promotion
    joining: bool = False  # added to a running cluster: etcd waits for the member playbook's `member add`
    guard: GuardBoot | None = None  # automatic promotion's guards on this member (None: none, promotion by hand)


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


def etcd_tls_env() -> dict[str, str]:
    """etcd's TLS settings for an instance whose CA, certificate and key drkit-fetch-tls wrote under PKI_DIR:
    clients and peers both need a certificate from the stack's CA."""
    return {
        "ETCD_CERT_FILE": f"{PKI_DIR}/server.crt",
        "ETCD_KEY_FILE": f"{PKI_DIR}/server.key",
        "ETCD_TRUSTED_CA_FILE": f"{PKI_DIR}/ca.crt",
        "ETCD_CLIENT_CERT_AUTH": "true",
        "ETCD_PEER_CERT_FILE": f"{PKI_DIR}/server.crt",
        "ETCD_PEER_KEY_FILE": f"{PKI_DIR}/server.key",
        "ETCD_PEER_TRUSTED_CA_FILE": f"{PKI_DIR}/ca.crt",
        "ETCD_PEER_CLIENT_CERT_AUTH": "true",
    }


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
_FETCH_TLS_GCP = _fill(_FETCH_TLS_GCP, pki=PKI_DIR)
_ETCD_UNIT = _fill(_ETCD_UNIT, bin=BIN_DIR)
_MIRROR_UNIT = _fill(_MIRROR_UNIT, bin=BIN_DIR, env_dir=MIRROR_ENV_DIR)


def heartbeat_script(bin_dir: str = BIN_DIR, pki: str = PKI_DIR) -> str:
    """drkit-heartbeat for these directories (a test runs it against a real etcd and the lab's etcdctl)."""
    return _fill(_HEARTBEAT, bin=bin_dir, pki=pki, epoch=EPOCH_KEY, heartbeat=HEARTBEAT_KEY)


def guard_fence_script(
    bin_dir: str = BIN_DIR, pki: str = PKI_DIR, systemctl: str = "systemctl", state_dir: str = GUARD_STATE_DIR
) -> str:
    """drkit-guard-fence for these paths (a test runs it against real etcds with a recording systemctl)."""
    return _fill(_GUARD_FENCE, pki=pki, epoch=EPOCH_KEY, guard_env=GUARD_ENV, state_dir=state_dir, systemctl=systemctl)


def _file(path: str, content: str, permissions: str = "0644") -> dict[str, str]:
    return {"path": path, "content": content, "permissions": permissions, "owner": "root:root"}


def _compressed_file(path: str, content: str, permissions: str = "0644") -> dict[str, str]:
    """A file cloud-init writes from gzip + base64 (its write_files encoding gz+b64)."""
    packed = base64.b64encode(gzip.compress(content.encode(), mtime=0)).decode("ascii")
    return {**_file(path, packed, permissions), "encoding": "gz+b64"}


def _common_files(boot: Boot) -> list[dict[str, str]]:
    return [
        _file(INSTALL_ETCD, _INSTALL_ETCD, "0755"),
        _file(FETCH_TLS, _FETCH_TLS_GCP if boot.cloud == "gcp" else _FETCH_TLS, "0755"),
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
        _file(ETCD_ENV, env, "0600"),
        _file("/etc/systemd/system/etcd.service", _ETCD_UNIT),
        _file("/usr/local/sbin/drkit-heartbeat", _HEARTBEAT, "0755"),
        _file(
            "/etc/systemd/system/drkit-heartbeat.service", _fill(_HEARTBEAT_UNIT, region=boot.region, role=boot.role)
        ),
    ]
    if boot.joining:
        files.append(_file("/etc/systemd/system/etcd.service.d/wait-for-member-add.conf", _WAIT_FOR_MEMBER_ADD))
    units = ["etcd.service", "drkit-heartbeat.service"]
    if boot.guard is not None:
        local_url = boot.etcd_env.get("ETCD_ADVERTISE_CLIENT_URLS", "").split(",")[0]
        files += [
            _file(GUARD_ENV, guard_env(boot.stack, boot.region, boot.role, local_url, boot.guard), "0600"),
            # Compressed: EC2 takes at most 16 KB of user data, and this script is the largest file in it.
            _compressed_file(GUARD_FENCE, guard_fence_script(), "0755"),
            _file(
                "/etc/systemd/system/drkit-guard-fence.service",
                _fill(_GUARD_FENCE_UNIT, fence=GUARD_FENCE, guard_env=GUARD_ENV),
            ),
            _file(
                "/etc/systemd/system/drkit-guard.service",
                _fill(_GUARD_UNIT, venv=DRKIT_VENV, home=DRKIT_HOME, guard_env=GUARD_ENV, pki=PKI_DIR),
            ),
        ]
        units += ["drkit-guard-fence.service", "drkit-guard.service"]
    commands = [
        ["/usr/local/sbin/drkit-prepare-data", boot.data_device, DATA_MOUNT],
        *_common_commands(boot),
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", *units],
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
        _file(ETCD_ENV, env, "0600"),
        _file("/etc/systemd/system/etcd.service", _ETCD_UNIT),
    ]
    commands = [
        ["/usr/local/sbin/drkit-prepare-data", boot.data_device, DATA_MOUNT],
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
