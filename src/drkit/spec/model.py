"""The DR spec as typed values, built from a schema-valid spec with its defaults filled in.

Durations are seconds (float) and sizes bytes (int) here; the rules and estimates never parse text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from drkit.spec.units import parse_duration, parse_size

DISRUPTIONS = ("member", "az", "region", "data")
Disruption = Literal["member", "az", "region", "data"]


@dataclass(frozen=True)
class Objective:
    rto: float
    rpo: float


@dataclass(frozen=True)
class Registry:
    engine: str
    version: str
    members: int
    tls: bool
    ephemeral_prefixes: tuple[str, ...]
    lease_ttl: float
    heartbeat_interval: float
    election_timeout: float
    quota_backend_bytes: int
    client_port: int
    peer_port: int
    metrics_port: int
    client_cidrs: tuple[str, ...]
    clients: tuple[str, ...] = ()  # names that get a client certificate from the stack's CA


@dataclass(frozen=True)
class Network:
    """Where a cloud region's cluster lives: a VPC drkit creates (cidr) or an existing one (vpc_id, subnet_ids)."""

    cidr: str | None
    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    client_security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    index: int  # position in the spec's regions list, for locating findings
    name: str
    provider: str
    role: str
    availability_zones: int
    instance_type: str  # an EC2 instance type on aws, a GCE machine type on gcp
    members: int  # the region's own count, or registry.members
    members_overridden: bool  # True when the region sets its own members
    network: Network
    zones: tuple[str, ...] = ()  # the AZs/zones the spec names (empty: the region's first available ones)

    @property
    def members_path(self) -> tuple[str | int, ...]:
        """The spec key that sets this region's member count."""
        return ("regions", self.index, "members") if self.members_overridden else ("registry", "members")

    @property
    def largest_az_share(self) -> int:
        """Members in the fullest AZ when members are spread round-robin over the AZs."""
        return math.ceil(self.members / self.availability_zones)

    @property
    def quorum(self) -> int:
        return self.members // 2 + 1

    @property
    def survives_az_loss(self) -> bool:
        return self.availability_zones > 1 and self.members - self.largest_az_share >= self.quorum


@dataclass(frozen=True)
class Replication:
    mode: str
    prefixes: tuple[str, ...]
    max_lag: float

    @property
    def mirrors_everything(self) -> bool:
        return self.mode == "mirror" and "/" in self.prefixes


@dataclass(frozen=True)
class BackupTarget:
    index: int
    type: str
    region: str  # where the copy lives (resolved: the primary region when the spec omits it)
    replica_region: str | None
    replication_time_control: bool
    object_lock: float | None
    object_lock_mode: str | None  # s3: compliance or governance
    # object_lock is the time a snapshot cannot be deleted: S3 Object Lock, or a gcs target's retentionPolicy
    # (the same promise to the rules and estimates); retention_locked is GCS bucket lock on that policy.
    bucket: str | None  # s3: the bucket's name, when the spec sets it
    host: str | None
    path: str | None
    transport: str | None  # rsync: ssh or daemon
    module: str | None  # rsync daemon module
    port: int | None
    retention_locked: bool = False


@dataclass(frozen=True)
class Retention:
    hourly: int
    daily: int
    weekly: int

    @property
    def span_seconds(self) -> float:
        """How far back the oldest kept snapshot reaches."""
        return max(self.hourly * 3600.0, self.daily * 86400.0, self.weekly * 604800.0)


@dataclass(frozen=True)
class Backups:
    schedule: str
    retention: Retention
    targets: tuple[BackupTarget, ...]


@dataclass(frozen=True)
class HealthCheck:
    interval: float
    failure_threshold: int
    path: str


@dataclass(frozen=True)
class GlobalEndpoint:
    type: str
    health_check: HealthCheck
    ttl: float
    port: int | None
    zone: str | None
    name: str | None


@dataclass(frozen=True)
class Witness:
    """The third place automatic promotion asks (drkit.failover.guard), with Patroni's timing: the primary's
    guard renews a `lease_ttl` lease every `loop_wait`, each request given up after `retry_timeout`."""

    placement: str  # region, cluster or lab
    regions: tuple[str, ...]  # region: one; cluster: three; lab: none
    lease_ttl: float
    loop_wait: float
    retry_timeout: float


@dataclass(frozen=True)
class Recovery:
    promotion: str
    promotion_time: float
    operator_response: float
    rebuild_time: float
    witness: Witness | None = None


@dataclass(frozen=True)
class Waiver:
    index: int
    rule: str
    reason: str
    expires: date


@dataclass(frozen=True)
class Spec:
    tier: str
    objectives: dict[str, Objective]  # every disruption type: as written, else the tier preset's
    written_objectives: frozenset[tuple[str, str]]  # (disruption, "rto"/"rpo") the spec itself sets
    registry: Registry
    regions: tuple[Region, ...]
    replication: Replication
    backups: Backups | None
    global_endpoint: GlobalEndpoint | None
    recovery: Recovery
    waivers: tuple[Waiver, ...]

    @property
    def primary(self) -> Region:
        return next(region for region in self.regions if region.role == "primary")

    @property
    def standbys(self) -> tuple[Region, ...]:
        return tuple(region for region in self.regions if region.role == "standby")


def _objectives(raw: dict[str, Any], preset: Mapping[str, Objective]) -> dict[str, Objective]:
    """Objectives as written, each missing RTO or RPO taken from the tier preset."""
    resolved = {}
    for disruption in DISRUPTIONS:
        written = raw.get(disruption, {})
        default = preset[disruption]
        resolved[disruption] = Objective(
            rto=parse_duration(written["rto"]) if "rto" in written else default.rto,
            rpo=parse_duration(written["rpo"]) if "rpo" in written else default.rpo,
        )
    return resolved


def build_spec(raw: dict[str, Any], preset_objectives: Mapping[str, Objective]) -> Spec:
    """The typed spec from a schema-valid, defaults-filled dict and its tier preset's objectives."""
    registry_raw = raw["registry"]
    registry = Registry(
        engine=registry_raw["engine"],
        version=registry_raw["version"],
        members=registry_raw["members"],
        tls=registry_raw["tls"],
        ephemeral_prefixes=tuple(registry_raw["ephemeralPrefixes"]),
        lease_ttl=parse_duration(registry_raw["leaseTtl"]),
        heartbeat_interval=parse_duration(registry_raw["heartbeatInterval"]),
        election_timeout=parse_duration(registry_raw["electionTimeout"]),
        quota_backend_bytes=parse_size(registry_raw["quotaBackendBytes"]),
        client_port=registry_raw["clientPort"],
        peer_port=registry_raw["peerPort"],
        metrics_port=registry_raw["metricsPort"],
        client_cidrs=tuple(registry_raw["clientCidrs"]),
        clients=tuple(registry_raw.get("clients", ())),
    )
    regions = tuple(
        Region(
            index=index,
            name=region["name"],
            provider=region["provider"],
            role=region["role"],
            availability_zones=region["availabilityZones"],
            instance_type=region["instanceType"],
            members=region.get("members", registry.members),
            members_overridden="members" in region,
            network=_network(region.get("network", {})),
            zones=tuple(region.get("zones", ())),
        )
        for index, region in enumerate(raw["regions"])
    )
    primary_name = next(region.name for region in regions if region.role == "primary")
    replication_raw = raw.get("replication", {"mode": "none", "prefixes": ["/"], "maxLag": "5s"})
    endpoint_raw = raw.get("globalEndpoint")
    recovery_raw = raw["recovery"]
    return Spec(
        tier=raw["tier"],
        objectives=_objectives(raw.get("objectives", {}), preset_objectives),
        written_objectives=frozenset(
            (disruption, measure) for disruption, written in raw.get("objectives", {}).items() for measure in written
        ),
        registry=registry,
        regions=regions,
        replication=Replication(
            mode=replication_raw["mode"],
            prefixes=tuple(replication_raw["prefixes"]),
            max_lag=parse_duration(replication_raw["maxLag"]),
        ),
        backups=_backups(raw["backups"], primary_name, raw["regions"]) if "backups" in raw else None,
        global_endpoint=GlobalEndpoint(
            type=endpoint_raw["type"],
            health_check=HealthCheck(
                interval=parse_duration(endpoint_raw["healthCheck"]["interval"]),
                failure_threshold=endpoint_raw["healthCheck"]["failureThreshold"],
                path=endpoint_raw["healthCheck"]["path"],
            ),
            ttl=parse_duration(endpoint_raw["ttl"]),
            port=endpoint_raw.get("port"),
            zone=endpoint_raw.get("zone"),
            name=endpoint_raw.get("name"),
        )
        if endpoint_raw
        else None,
        recovery=Recovery(
            promotion=recovery_raw["promotion"],
            promotion_time=parse_duration(recovery_raw["promotionTime"]),
            operator_response=parse_duration(recovery_raw["operatorResponse"]),
            rebuild_time=parse_duration(recovery_raw["rebuildTime"]),
            witness=_witness(recovery_raw["witness"]) if "witness" in recovery_raw else None,
        ),
        waivers=tuple(
            Waiver(index=index, rule=w["rule"], reason=w["reason"], expires=date.fromisoformat(w["expires"]))
            for index, w in enumerate(raw["waivers"])
        ),
    )


def _witness(raw: dict[str, Any]) -> Witness:
    return Witness(
        placement=raw["placement"],
        regions=tuple(raw["regions"]),
        lease_ttl=parse_duration(raw["leaseTtl"]),
        loop_wait=parse_duration(raw["loopWait"]),
        retry_timeout=parse_duration(raw["retryTimeout"]),
    )


def _network(raw: dict[str, Any]) -> Network:
    return Network(
        cidr=raw.get("cidr"),
        vpc_id=raw.get("vpcId"),
        subnet_ids=tuple(raw.get("subnetIds", ())),
        client_security_group_ids=tuple(raw.get("clientSecurityGroupIds", ())),
    )


def _backups(raw: dict[str, Any], primary_name: str, regions: list[dict[str, Any]]) -> Backups:
    retention = raw["retention"]
    return Backups(
        schedule=raw["schedule"],
        retention=Retention(hourly=retention["hourly"], daily=retention["daily"], weekly=retention["weekly"]),
        targets=tuple(
            BackupTarget(
                index=index,
                type=target["type"],
                region=target.get("region", _default_target_region(target, regions, primary_name)),
                replica_region=target.get("replicaRegion"),
                replication_time_control=target.get("replicationTimeControl", False),
                object_lock=_lock_period(target),
                object_lock_mode=target.get("objectLockMode"),
                bucket=target.get("bucket"),
                host=target.get("host"),
                path=target.get("path"),
                transport=target.get("transport"),
                module=target.get("module"),
                port=target.get("port"),
                retention_locked=target.get("lockRetentionPolicy", False),
            )
            for index, target in enumerate(raw["targets"])
        ),
    )


def _lock_period(target: dict[str, Any]) -> float | None:
    written = target.get("objectLock", target.get("retentionPolicy"))
    return parse_duration(written) if written is not None else None


def _default_target_region(target: dict[str, Any], regions: list[dict[str, Any]], primary: str) -> str:
    """A gcs bucket lives in GCP: the first gcp region of the spec when the target names none."""
    if target["type"] == "gcs":
        return next((r["name"] for r in regions if r.get("provider") == "gcp"), primary)
    return primary
