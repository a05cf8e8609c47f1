"""What a failover asks of the etcd clusters themselves, through the gateway client the playbooks' modules use.

Every function takes a region's client URLs and tries them in order: the first member that answers serves
(a follower forwards writes to its leader). Nothing here decides anything; the engine does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.operate.collection import Gateway, GatewayError, b64

EPOCH_KEY = "/drkit/epoch"
HEARTBEAT_KEY = "/drkit/heartbeat"
SWITCHOVER_KEY = "/drkit/switchover"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Cluster:
    """One region's cluster as a client reaches it: its members' client URLs (or one endpoint address) and,
    for TLS, the CA and client certificate files on the machine drkit runs on."""

    region: str
    urls: tuple[str, ...]
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None


class RegistryError(Exception):
    """No member of the region answered, or a wait ran out: the message names the region and what."""


@dataclass(frozen=True)
class RegionHealth:
    region: str
    members: int
    answering: int  # members that answer /health (with or without a leader)
    healthy: int  # members that have a leader and serve reads
    revision: int  # the cluster's revision (0 when no member answered)

    @property
    def has_quorum(self) -> bool:
        return self.healthy >= self.members // 2 + 1


@dataclass(frozen=True)
class Epoch:
    """The failover epoch: bumped by every promotion, written to the promoted cluster at EPOCH_KEY. Clients
    and watchers that see it change re-list; a region whose record is older than the deployment's must not
    serve as primary (it is fenced until failback re-seeds it)."""

    number: int
    primary: str
    previous: str
    at: float  # wall time of the promotion
    kind: str  # bootstrap, switchover, failover
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.number,
            "primary": self.primary,
            "previous": self.previous,
            "at": self.at,
            "kind": self.kind,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Epoch:
        return cls(
            number=int(data["epoch"]),
            primary=str(data["primary"]),
            previous=str(data.get("previous", "")),
            at=float(data.get("at", 0)),
            kind=str(data.get("kind", "")),
            reason=str(data.get("reason", "")),
        )


def _gateway(cluster: Cluster, url: str, timeout: float) -> Gateway:
    return Gateway(url, timeout=timeout, cacert=cluster.cacert, cert=cluster.cert, key=cluster.key)


def _health(cluster: Cluster, url: str, timeout: float) -> tuple[bool, bool]:
    """(answers, healthy) for one member, from etcd's own /health."""
    return _gateway(cluster, url, timeout).health()


def health(cluster: Cluster, timeout: float = 1.0) -> RegionHealth:
    answering = healthy = revision = 0
    for url in cluster.urls:
        answers, ok = _health(cluster, url, timeout)
        answering += answers
        healthy += ok
        if ok and not revision:
            with contextlib.suppress(GatewayError):
                revision = _gateway(cluster, url, timeout).status().revision
    return RegionHealth(cluster.region, len(cluster.urls), answering, healthy, revision)


def raft_terms(cluster: Cluster, timeout: float = 1.0) -> dict[str, int]:
    """Each answering member's raft term (maintenance status `raftTerm`), by URL. etcd exports no term
    metric of its own; the guards export these, so an alert can see elections that leader-change counters
    reset by a restart would hide."""
    terms = {}
    for url in cluster.urls:
        with contextlib.suppress(GatewayError):
            terms[url] = _gateway(cluster, url, timeout).status().raft_term
    return terms


def answers(cluster: Cluster, timeout: float = 1.0) -> list[str]:
    """The members that accept a connection and answer at all: what a client next to them could reach."""
    return [url for url in cluster.urls if _health(cluster, url, timeout)[0]]


def _first(cluster: Cluster, action: Callable[[Gateway], Any], what: str, timeout: float) -> Any:
    errors = []
    for url in cluster.urls:
        try:
            return action(_gateway(cluster, url, timeout))
        except GatewayError as error:
            errors.append(str(error))
    raise RegistryError(f"cannot {what} on {cluster.region}: no member answered ({'; '.join(errors) or 'no members'})")


def put(cluster: Cluster, key: str, value: str, timeout: float = 2.0) -> int:
    """Write a key; returns the revision of the write."""

    def write(gateway: Gateway) -> int:
        result = gateway.call("/v3/kv/put", {"key": b64(key.encode()), "value": b64(value.encode())})
        return int(result["header"]["revision"])

    return int(_first(cluster, write, f"write {key}", timeout))


def get(cluster: Cluster, key: str, timeout: float = 2.0) -> tuple[str | None, int]:
    """A key's value (None when absent) and the cluster's revision."""

    def read(gateway: Gateway) -> tuple[str | None, int]:
        import base64

        result = gateway.call("/v3/kv/range", {"key": b64(key.encode())})
        kvs = result.get("kvs", [])
        value = base64.b64decode(kvs[0].get("value", "")).decode() if kvs else None
        return value, int(result["header"]["revision"])

    value, revision = _first(cluster, read, f"read {key}", timeout)
    return value, int(revision)


def read_epoch(cluster: Cluster, timeout: float = 2.0) -> Epoch | None:
    value, _ = get(cluster, EPOCH_KEY, timeout)
    if value is None:
        return None
    try:
        return Epoch.from_json(json.loads(value))
    except (ValueError, KeyError, TypeError):
        return None


def write_epoch(cluster: Cluster, epoch: Epoch) -> int:
    return put(cluster, EPOCH_KEY, json.dumps(epoch.to_json(), sort_keys=True))


def read_heartbeat(cluster: Cluster) -> float | None:
    """The primary's wall time in the newest heartbeat this cluster holds (on a standby: the newest one the
    mirror delivered, so writes after it may not have arrived)."""
    value, _ = get(cluster, HEARTBEAT_KEY)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def wait_for_value(
    cluster: Cluster,
    key: str,
    value: str,
    timeout: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> float:
    """Wait until `key` holds `value` on the cluster behind `urls`; returns the seconds it took. The mirror
    applies the primary's events in revision order, so a token written on the primary at revision R having
    arrived means every revision up to R has."""
    start = clock()
    while True:
        try:
            if get(cluster, key, timeout=1.0)[0] == value:
                return clock() - start
        except RegistryError:
            pass
        if clock() - start >= timeout:
            raise RegistryError(f"{key}={value} did not arrive within {timeout:.0f}s")
        sleep(0.02)


@dataclass(frozen=True)
class Rebound:
    keys: int
    rebound: int
    revoked: int
    lease: int


def rebind_leases(cluster: Cluster, prefixes: Sequence[str], ttl: int) -> Rebound:
    """Every key under the ephemeral prefixes onto one fresh lease of `ttl`, old leases revoked (the same
    transactions as the lease_rebind module): make-mirror copies keys without their leases, so without this
    a dead instance's registration would live forever on the promoted cluster."""

    def rebind(gateway: Gateway) -> Rebound:
        records = [record for prefix in prefixes for record in gateway.key_values(prefix.encode())]
        if not records:
            return Rebound(0, 0, 0, 0)
        old = {int(record["lease"]) for record in records if int(record.get("lease", 0) or 0)}
        lease = gateway.grant(ttl)
        rebound = gateway.put_with_lease(records, lease)
        revoked = sum(1 for number in sorted(old) if gateway.revoke(number))
        return Rebound(len(records), rebound, revoked, lease)

    result: Rebound = _first(cluster, rebind, "re-bind leases", 10.0)
    return result
