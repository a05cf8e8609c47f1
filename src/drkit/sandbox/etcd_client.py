"""The lab's, drills' and benchmarks' etcd calls, as functions of a member's URL, over drkit's one client.

Every call goes through the collection's gateway client (drkit.operate.collection.Gateway: HTTP/JSON
/v3/..., which 3.4 and 3.5 both serve; TLS, errors and prefix ranges live there); this module only names
the calls a lab makes and gives them plain-typed answers. Operations etcd only offers through etcdctl
(snapshots, member changes, make-mirror, hashkv) use the real etcdctl.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from drkit.operate.collection import Gateway, GatewayError, MemberStatus, b64, prefix_range

# The member did not answer (down, paused, or no quorum), or answered with an error.
EtcdUnavailableError = GatewayError

__all__ = ["EtcdUnavailableError", "MemberStatus", "WriteHeader"]


def _call(url: str, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    return Gateway(url, timeout=timeout).call(path, body)


def _key(text: str) -> str:
    return b64(text.encode())


def _range(prefix: str) -> dict[str, str]:
    start, end = prefix_range(prefix.encode())
    return {"key": b64(start), "range_end": b64(end)}


def _text(encoded: str) -> str:
    return base64.b64decode(encoded).decode()


def healthy(url: str, timeout: float = 1.0) -> bool:
    """etcd's own /health: true when the member has a leader and serves reads."""
    return Gateway(url, timeout=timeout).health()[1]


@dataclass(frozen=True)
class WriteHeader:
    """Who acknowledged a write: the revision, and the cluster that answered (each region's cluster has its
    own ID, so a drill can tell which primary acknowledged a write that went through the endpoint)."""

    revision: int
    cluster_id: str
    member_id: str


def put_acknowledged(url: str, key: str, value: str, timeout: float = 2.0, lease: int | None = None) -> WriteHeader:
    """Write a key; returns the response header of the acknowledgement."""
    body: dict[str, Any] = {"key": _key(key), "value": _key(value)}
    if lease is not None:
        body["lease"] = str(lease)
    header = _call(url, "/v3/kv/put", body, timeout)["header"]
    return WriteHeader(int(header["revision"]), str(header.get("cluster_id", "")), str(header.get("member_id", "")))


def put(url: str, key: str, value: str, timeout: float = 2.0, lease: int | None = None) -> int:
    """Write a key; returns the cluster revision of the write."""
    return put_acknowledged(url, key, value, timeout, lease).revision


def get(url: str, key: str, timeout: float = 2.0) -> str | None:
    kvs = _call(url, "/v3/kv/range", {"key": _key(key)}, timeout).get("kvs", [])
    return _text(kvs[0].get("value", "")) if kvs else None


def count(url: str, prefix: str, timeout: float = 5.0) -> int:
    """Keys under `prefix` (all keys for the empty prefix)."""
    return Gateway(url, timeout=timeout).count(prefix.encode())[0]


def delete_prefix(url: str, prefix: str, timeout: float = 10.0) -> int:
    """Delete every key under `prefix` (never the whole keyspace); returns how many were deleted."""
    if not prefix:
        raise ValueError("delete_prefix needs a prefix")
    return int(_call(url, "/v3/kv/deleterange", _range(prefix), timeout).get("deleted", 0))


def compact(url: str, revision: int, timeout: float = 10.0) -> None:
    """Compact the cluster's history up to `revision`, physically (the space is free for a defrag)."""
    _call(url, "/v3/kv/compaction", {"revision": str(revision), "physical": True}, timeout)


def grant_lease(url: str, ttl_seconds: int, timeout: float = 2.0) -> int:
    return Gateway(url, timeout=timeout).grant(ttl_seconds)


def keep_alive(url: str, lease: int, timeout: float = 2.0) -> int:
    """Renew a lease once; returns its TTL, 0 when the lease no longer exists (revoked or expired)."""
    result = _call(url, "/v3/lease/keepalive", {"ID": str(lease)}, timeout)
    return int(result.get("result", {}).get("TTL", 0))


def lease_of(url: str, key: str, timeout: float = 2.0) -> int:
    """The lease a key is bound to (0: none); -1 when the key does not exist."""
    kvs = _call(url, "/v3/kv/range", {"key": _key(key)}, timeout).get("kvs", [])
    return int(kvs[0].get("lease", 0)) if kvs else -1


def time_to_live(url: str, lease: int, timeout: float = 2.0) -> int:
    """Seconds the lease has left; -1 when it does not exist."""
    return Gateway(url, timeout=timeout).time_to_live(lease)


def values(url: str, prefix: str, timeout: float = 10.0) -> dict[str, str]:
    """Every key under `prefix` with its value (paged: a large prefix comes back whole)."""
    records = Gateway(url, timeout=timeout).key_values(prefix.encode())
    return {_text(record["key"]): _text(record.get("value", "")) for record in records}


def cluster_id(url: str, timeout: float = 2.0) -> str:
    """The ID of the cluster the member belongs to, from a read's response header (nothing is written)."""
    return str(_call(url, "/v3/kv/range", {"key": _key("/"), "count_only": True}, timeout)["header"]["cluster_id"])


def status(url: str, timeout: float = 1.0) -> MemberStatus:
    return Gateway(url, timeout=timeout).status()
