"""Talk to etcd members over their HTTP/JSON gateway (/v3/...), which 3.4 and 3.5 both serve.

Enough for health, status, probes and workloads without a gRPC client library; operations that etcd only
offers through etcdctl (snapshots, member changes, make-mirror) use the real etcdctl.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class EtcdUnavailableError(Exception):
    """The member did not answer (down, paused, or no quorum)."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _call(url: str, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result: dict[str, Any] = json.loads(response.read())
    except (urllib.error.URLError, OSError, TimeoutError, json.JSONDecodeError) as error:
        raise EtcdUnavailableError(f"{url}: {error}") from None
    if "error" in result:
        raise EtcdUnavailableError(f"{url}: {result['error']}")
    return result


def healthy(url: str, timeout: float = 1.0) -> bool:
    """etcd's own /health: true when the member has a leader and serves reads."""
    try:
        with urllib.request.urlopen(url + "/health", timeout=timeout) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (urllib.error.URLError, OSError, TimeoutError, json.JSONDecodeError):
        return False


@dataclass(frozen=True)
class WriteHeader:
    """Who acknowledged a write: the revision, and the cluster that answered (each region's cluster has its
    own ID, so a drill can tell which primary acknowledged a write that went through the endpoint)."""

    revision: int
    cluster_id: str
    member_id: str


def put_acknowledged(url: str, key: str, value: str, timeout: float = 2.0, lease: int | None = None) -> WriteHeader:
    """Write a key; returns the response header of the acknowledgement."""
    body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease is not None:
        body["lease"] = str(lease)
    header = _call(url, "/v3/kv/put", body, timeout)["header"]
    return WriteHeader(int(header["revision"]), str(header.get("cluster_id", "")), str(header.get("member_id", "")))


def put(url: str, key: str, value: str, timeout: float = 2.0, lease: int | None = None) -> int:
    """Write a key; returns the cluster revision of the write."""
    return put_acknowledged(url, key, value, timeout, lease).revision


def get(url: str, key: str, timeout: float = 2.0) -> str | None:
    kvs = _call(url, "/v3/kv/range", {"key": _b64(key)}, timeout).get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def count(url: str, prefix: str, timeout: float = 5.0) -> int:
    """Keys under `prefix` (all keys for the empty prefix)."""
    start = prefix or "\0"
    end = _prefix_end(prefix)
    result = _call(url, "/v3/kv/range", {"key": _b64(start), "range_end": _b64(end), "count_only": True}, timeout)
    return int(result.get("count", 0))


def delete_prefix(url: str, prefix: str, timeout: float = 10.0) -> int:
    """Delete every key under `prefix` (never the whole keyspace); returns how many were deleted."""
    if not prefix:
        raise ValueError("delete_prefix needs a prefix")
    result = _call(url, "/v3/kv/deleterange", {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))}, timeout)
    return int(result.get("deleted", 0))


def compact(url: str, revision: int, timeout: float = 10.0) -> None:
    """Compact the cluster's history up to `revision`, physically (the space is free for a defrag)."""
    _call(url, "/v3/kv/compaction", {"revision": str(revision), "physical": True}, timeout)


def _prefix_end(prefix: str) -> str:
    if not prefix:
        return "\0"
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def grant_lease(url: str, ttl_seconds: int, timeout: float = 2.0) -> int:
    return int(_call(url, "/v3/lease/grant", {"TTL": str(ttl_seconds)}, timeout)["ID"])


def keep_alive(url: str, lease: int, timeout: float = 2.0) -> int:
    """Renew a lease once; returns its TTL, 0 when the lease no longer exists (revoked or expired)."""
    result = _call(url, "/v3/lease/keepalive", {"ID": str(lease)}, timeout)
    return int(result.get("result", {}).get("TTL", 0))


def lease_of(url: str, key: str, timeout: float = 2.0) -> int:
    """The lease a key is bound to (0: none); -1 when the key does not exist."""
    kvs = _call(url, "/v3/kv/range", {"key": _b64(key)}, timeout).get("kvs", [])
    return int(kvs[0].get("lease", 0)) if kvs else -1


def time_to_live(url: str, lease: int, timeout: float = 2.0) -> int:
    """Seconds the lease has left; -1 when it does not exist."""
    return int(_call(url, "/v3/lease/timetolive", {"ID": str(lease)}, timeout).get("TTL", -1))


def values(url: str, prefix: str, timeout: float = 10.0) -> dict[str, str]:
    """Every key under `prefix` with its value."""
    body = {"key": _b64(prefix or "\0"), "range_end": _b64(_prefix_end(prefix))}
    kvs = _call(url, "/v3/kv/range", body, timeout).get("kvs", [])
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode() for kv in kvs}


def cluster_id(url: str, timeout: float = 2.0) -> str:
    """The ID of the cluster the member belongs to, from a read's response header (nothing is written)."""
    return str(_call(url, "/v3/kv/range", {"key": _b64("/"), "count_only": True}, timeout)["header"]["cluster_id"])


@dataclass(frozen=True)
class MemberStatus:
    member_id: str
    leader_id: str
    version: str
    raft_index: int
    db_size: int
    revision: int
    raft_term: int = 0  # bumped by every election: a jump says the members fought over leadership

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader_id


def status(url: str, timeout: float = 1.0) -> MemberStatus:
    result = _call(url, "/v3/maintenance/status", {}, timeout)
    return MemberStatus(
        member_id=str(result["header"]["member_id"]),
        leader_id=str(result.get("leader", "0")),
        version=str(result.get("version", "?")),
        raft_index=int(result.get("raftIndex", 0)),
        db_size=int(result.get("dbSize", 0)),
        revision=int(result["header"].get("revision", 0)),
        raft_term=int(result.get("raftTerm", result["header"].get("raft_term", 0))),
    )
