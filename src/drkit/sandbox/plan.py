"""The lab's layout, derived from the DR spec: members, ports, paths. Saved as lab.json in the state dir so a
second `up` reuses the same ports and data."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import string
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drkit.spec.model import Spec

DEFAULT_BASE_PORT = 23790
PLAN_FILE = "lab.json"
LOOPBACK = "loopback"
NAMESPACES = "namespaces"
NETWORK_MODES = (LOOPBACK, NAMESPACES)
# RFC 2544's benchmarking range: never routed on the internet, so a lab's links cannot shadow real hosts.
LAB_NET = ipaddress.IPv4Network("198.18.0.0/15")
LINK_PREFIX = 30
_LINKS_IN_LAB_NET = LAB_NET.num_addresses // 4


@dataclass(frozen=True)
class Member:
    name: str
    region: str
    role: str
    az: str
    client_port: int
    peer_port: int
    # Where the member listens: loopback, or its region namespace's side of the veth.
    host: str = "127.0.0.1"

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def program(self) -> str:
        """The member's supervisor program name."""
        return f"etcd-{self.name}"


@dataclass(frozen=True)
class RegionLink:
    """A region's own network namespace and the veth pair joining it to the root namespace (a /30)."""

    namespace: str
    root_veth: str  # stays in the root namespace, where HAProxy, rsyncd and the mirrors run
    ns_veth: str  # moved into the namespace; the region's members listen on its address
    root_address: str
    ns_address: str

    def exec_prefix(self, ip: str = "ip") -> list[str]:
        """What runs a command inside the namespace. `ip netns exec` execs the command, so the pid a
        supervisor records is the command's own."""
        return [ip, "netns", "exec", self.namespace]


@dataclass(frozen=True)
class RegionPlan:
    name: str
    role: str
    members: tuple[Member, ...]
    link: RegionLink | None = None  # None on loopback

    @property
    def cluster_token(self) -> str:
        return f"drkit-{self.name}"

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{member.name}={member.peer_url}" for member in self.members)

    @property
    def client_endpoints(self) -> str:
        return ",".join(member.client_url for member in self.members)


@dataclass(frozen=True)
class LabPlan:
    stack: str
    version: str
    base_port: int
    regions: tuple[RegionPlan, ...]
    endpoint_port: int
    rsync_port: int
    rsync_module: str
    rsync_path: str  # the spec target's path inside the module
    mirror_prefixes: tuple[str, ...]  # empty: no mirror
    heartbeat_ms: int
    election_ms: int
    quota_backend_bytes: int
    check_interval_ms: int
    check_fall: int
    # What the playbooks need from the spec, handed to them through the inventory.
    ephemeral_prefixes: tuple[str, ...] = ()
    lease_ttl_s: int = 30
    retention_hourly: int = 24
    retention_daily: int = 7
    retention_weekly: int = 4
    backup_schedule: str = ""  # the spec's cron schedule, fired by `drkit sandbox schedule start`
    # What a failover judges itself by (drkit.failover.lab): the mirror's allowed lag and the region objectives.
    max_lag_s: float = 5.0
    region_rto_s: float = 300.0
    region_rpo_s: float = 5.0
    network: str = LOOPBACK  # lab.json files written before network modes existed ran on loopback
    # The spec's s3 target, served by moto's S3 server on loopback (0: the spec has none, or an older lab).
    s3_port: int = 0
    s3_bucket: str = ""
    s3_object_lock_seconds: float = 0.0
    s3_object_lock_mode: str = "compliance"

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}" if self.s3_port else ""

    @property
    def primary(self) -> RegionPlan:
        return next(region for region in self.regions if region.role == "primary")

    @property
    def standbys(self) -> tuple[RegionPlan, ...]:
        return tuple(region for region in self.regions if region.role == "standby")

    @property
    def members(self) -> tuple[Member, ...]:
        return tuple(member for region in self.regions for member in region.members)

    def member(self, name: str) -> Member | None:
        return next((member for member in self.members if member.name == name), None)

    def region(self, name: str) -> RegionPlan | None:
        return next((region for region in self.regions if region.name == name), None)

    def ports(self) -> list[tuple[int, str]]:
        """Every port the lab listens on, with what it is for (for busy-port errors)."""
        ports = []
        for member in self.members:
            ports.append((member.client_port, f"client port of {member.name}"))
            ports.append((member.peer_port, f"peer port of {member.name}"))
        ports.append((self.endpoint_port, "HAProxy global endpoint"))
        ports.append((self.rsync_port, "rsync daemon"))
        if self.s3_port:
            ports.append((self.s3_port, "S3 endpoint (moto server)"))
        ports.append((self.witness_port, "witness (etcd client port)"))
        ports.append((self.witness_port + 1, "witness (etcd peer port)"))
        for region in self.regions:
            ports.append((self.guard_metrics_port(region.name), f"metrics of guard-{region.name}"))
        return ports

    @property
    def witness_port(self) -> int:
        """The witness's client port (its peer port is the next): after the rsync daemon's and the S3
        endpoint's, in the lab's block. The witness is the third place automatic promotion asks
        (drkit.failover.guard)."""
        return self.rsync_port + 2

    def witness_urls(self) -> list[str]:
        """Where the witness listens: loopback, and on namespaces labs the root side of every region's veth,
        so each region's guard reaches it over its own link (which a partition can cut)."""
        hosts = ["127.0.0.1", *(region.link.root_address for region in self.regions if region.link)]
        return [f"http://{host}:{self.witness_port}" for host in hosts]

    def witness_url_for(self, region: str) -> str:
        """The witness as `region`'s guard reaches it."""
        plan = self.region(region)
        host = plan.link.root_address if plan and plan.link else "127.0.0.1"
        return f"http://{host}:{self.witness_port}"

    def guard_metrics_port(self, region: str) -> int:
        """Where `region`'s guard serves its Prometheus metrics: after the witness's two ports, one per region in
        spec order (derived, like the witness's, so labs saved before the guards had metrics get them too)."""
        index = next(i for i, candidate in enumerate(self.regions) if candidate.name == region)
        return self.witness_port + 2 + index

    def guard_metrics_address(self, region: str) -> tuple[str, int]:
        """The guard's metrics listener: on its region's side of the veth on namespaces labs (the guard runs in
        the namespace, and Prometheus in the root namespace scrapes it over the region's link, which a
        partition cuts as it cuts the members), else on loopback."""
        plan = self.region(region)
        host = plan.link.ns_address if plan and plan.link else "127.0.0.1"
        return host, self.guard_metrics_port(region)

    def guard_metrics_url(self, region: str) -> str:
        host, port = self.guard_metrics_address(region)
        return f"http://{host}:{port}/metrics"

    def loopback_ports(self) -> list[tuple[int, str]]:
        """The ports the lab binds on 127.0.0.1 in the root namespace: all of them on loopback; only the
        endpoint's, rsync's, S3's and the witness's with namespaces (members and guards listen inside their
        region's fresh namespace)."""
        if self.network == LOOPBACK:
            return self.ports()
        shared = [(self.endpoint_port, "HAProxy global endpoint"), (self.rsync_port, "rsync daemon")]
        if self.s3_port:
            shared.append((self.s3_port, "S3 endpoint (moto server)"))
        return [
            *shared,
            (self.witness_port, "witness (etcd client port)"),
            (self.witness_port + 1, "witness (etcd peer port)"),
        ]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabPlan:
        data: dict[str, Any] = json.loads(text)
        regions = tuple(
            RegionPlan(
                name=region["name"],
                role=region["role"],
                members=tuple(Member(**member) for member in region["members"]),
                link=RegionLink(**region["link"]) if region.get("link") else None,
            )
            for region in data.pop("regions")
        )
        data["mirror_prefixes"] = tuple(data["mirror_prefixes"])
        data["ephemeral_prefixes"] = tuple(data.get("ephemeral_prefixes", ()))
        return cls(regions=regions, **data)


def lab_id(state_dir: Path) -> str:
    """A short name for the lab in its state dir: labs in different state dirs get different interfaces."""
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:8]


def region_link(state_dir: Path, base_port: int, region_index: int, region_name: str) -> RegionLink:
    """The region's namespace, veth names and /30. The block follows the base port: two labs running at
    once hold disjoint port blocks, and base_port + region_index stays inside this lab's block (a lab has
    more ports than regions), so their links differ too (the network checks the rare wrap-around)."""
    ident = lab_id(state_dir)
    block = (base_port + region_index) % _LINKS_IN_LAB_NET
    link = ipaddress.IPv4Network((int(LAB_NET.network_address) + 4 * block, LINK_PREFIX))
    return RegionLink(
        namespace=f"drkit-{ident}-{region_name}",
        # Interface names hold at most 15 characters: dk + 8 + '-' + index + side fits up to 99 regions.
        root_veth=f"dk{ident}-{region_index}h",
        ns_veth=f"dk{ident}-{region_index}n",
        root_address=str(link.network_address + 1),
        ns_address=str(link.network_address + 2),
    )


def plan_lab(
    stack: str,
    spec: Spec,
    base_port: int = DEFAULT_BASE_PORT,
    network: str = LOOPBACK,
    state_dir: Path | None = None,
) -> LabPlan:
    """Lay the spec's regions out as local clusters: ports in one block from `base_port`; with
    network="namespaces" each region in its own namespace (named after `state_dir`, which it then needs)."""
    if network not in NETWORK_MODES:
        raise ValueError(f"network must be one of {', '.join(NETWORK_MODES)}, not {network!r}")
    if network == NAMESPACES and state_dir is None:
        raise ValueError("a namespaces lab needs its state dir: interface names are derived from it")
    next_port = base_port
    regions = []
    for region_index, region in enumerate(spec.regions):
        link = None
        if network == NAMESPACES:
            assert state_dir is not None
            link = region_link(state_dir, base_port, region_index, region.name)
        host = link.ns_address if link else "127.0.0.1"
        members = []
        for index in range(region.members):
            az = f"{region.name}-{string.ascii_lowercase[index % region.availability_zones]}"
            members.append(
                Member(f"{region.name}-{index + 1}", region.name, region.role, az, next_port, next_port + 1, host)
            )
            next_port += 2
        regions.append(RegionPlan(region.name, region.role, tuple(members), link))
    endpoint = spec.global_endpoint
    endpoint_port = endpoint.port if endpoint and endpoint.port else next_port
    rsync_targets = [t for t in (spec.backups.targets if spec.backups else ()) if t.type == "rsync"]
    rsync = rsync_targets[0] if rsync_targets else None
    s3 = next((t for t in (spec.backups.targets if spec.backups else ()) if t.type == "s3"), None)
    mirror = spec.replication
    return LabPlan(
        stack=stack,
        version=spec.registry.version,
        base_port=base_port,
        regions=tuple(regions),
        endpoint_port=endpoint_port,
        rsync_port=rsync.port if rsync and rsync.port else next_port + 1,
        rsync_module=rsync.module if rsync and rsync.module else "drkit-backups",
        rsync_path=rsync.path if rsync and rsync.path else "/",
        mirror_prefixes=("",) if mirror.mirrors_everything else mirror.prefixes if mirror.mode == "mirror" else (),
        heartbeat_ms=round(spec.registry.heartbeat_interval * 1000),
        election_ms=round(spec.registry.election_timeout * 1000),
        quota_backend_bytes=spec.registry.quota_backend_bytes,
        check_interval_ms=round(endpoint.health_check.interval * 1000) if endpoint else 1000,
        check_fall=endpoint.health_check.failure_threshold if endpoint else 2,
        ephemeral_prefixes=spec.registry.ephemeral_prefixes,
        lease_ttl_s=max(1, round(spec.registry.lease_ttl)),
        retention_hourly=spec.backups.retention.hourly if spec.backups else 0,
        retention_daily=spec.backups.retention.daily if spec.backups else 0,
        retention_weekly=spec.backups.retention.weekly if spec.backups else 0,
        backup_schedule=spec.backups.schedule if spec.backups else "",
        max_lag_s=spec.replication.max_lag,
        region_rto_s=spec.objectives["region"].rto,
        region_rpo_s=spec.objectives["region"].rpo,
        network=network,
        s3_port=next_port + 2 if s3 else 0,
        s3_bucket=(s3.bucket or f"drkit-{stack}-backups") if s3 else "",
        s3_object_lock_seconds=(s3.object_lock or 0.0) if s3 else 0.0,
        s3_object_lock_mode=(s3.object_lock_mode or "compliance") if s3 else "compliance",
    )


def load_saved_plan(state_dir: Path) -> LabPlan | None:
    path = state_dir / PLAN_FILE
    return LabPlan.from_json(path.read_text(encoding="utf-8")) if path.exists() else None
