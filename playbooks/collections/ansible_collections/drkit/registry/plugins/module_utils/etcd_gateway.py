"""etcd's HTTP/JSON gateway (/v3/...), served by 3.4 and 3.5 alike: drkit's one etcd client.

The playbooks' modules use it where etcdctl falls short (3.4's etcdctl cannot count keys without listing
them; re-binding thousands of keys to a lease needs batched transactions, not one etcdctl per key), and the
drkit package imports this very file (drkit.operate.collection) for the failover engine, the guards, the
lab, drills and benchmarks: one place for TLS, errors, prefix ranges, health and status.
Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# Keys per transaction when re-binding: well under etcd's default --max-txn-ops (128).
TXN_BATCH = 100


# The argument spec of every module that talks to the gateway (documented by the etcd_gateway doc fragment).
GATEWAY_ARGUMENTS: dict[str, dict[str, Any]] = {
    "url": {"type": "str", "required": True},
    "cacert": {"type": "path"},
    "cert": {"type": "path"},
    "key": {"type": "path", "no_log": True},
}


class GatewayError(Exception):
    """The member did not answer, or answered with an error."""


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """The [key, range_end) pair etcd uses for a prefix; the empty prefix means every key."""
    if not prefix:
        return b"\0", b"\0"
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return prefix, b"\0"
    end[-1] += 1
    return prefix, bytes(end)


@dataclass(frozen=True)
class MemberStatus:
    """One member's own view (maintenance status)."""

    member_id: str
    leader_id: str  # "0" while it knows no leader
    version: str
    raft_index: int
    db_size: int
    revision: int
    raft_term: int = 0  # bumped by every election: a jump says the members fought over leadership

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader_id


class Gateway:
    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None
        if self.url.startswith("https://"):
            self._context = ssl.create_default_context(cafile=cacert)
            if cert:
                self._context.load_cert_chain(cert, key)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Gateway:
        return cls(params["url"], cacert=params["cacert"], cert=params["cert"], key=params["key"])

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace").strip()
            raise GatewayError(f"{self.url}{path}: HTTP {error.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise GatewayError(f"{self.url}{path}: {error}") from None
        if "error" in result:
            raise GatewayError(f"{self.url}{path}: {result['error']}")
        return result

    def health(self) -> tuple[bool, bool]:
        """(answers, healthy) from etcd's own /health: healthy when the member has a leader and serves reads;
        a member without a leader still answers (HTTP 503)."""
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=self.timeout, context=self._context) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError:
            return True, False
        except OSError:  # refused, reset, timed out (URLError is an OSError)
            return False, False
        except ValueError:
            return True, False
        return True, body.get("health") == "true"

    def status(self) -> MemberStatus:
        result = self.call("/v3/maintenance/status", {})
        header = result.get("header", {})
        try:
            return MemberStatus(
                member_id=str(header["member_id"]),
                leader_id=str(result.get("leader", "0")),
                version=str(result.get("version", "?")),
                raft_index=int(result.get("raftIndex", 0)),
                db_size=int(result.get("dbSize", 0)),
                revision=int(header.get("revision", 0)),
                raft_term=int(result.get("raftTerm", header.get("raft_term", 0))),
            )
        except (KeyError, ValueError) as error:
            raise GatewayError(f"{self.url}/v3/maintenance/status: unexpected answer ({error})") from None

    def count(self, prefix: bytes, revision: int = 0) -> tuple[int, int]:
        """Keys under `prefix` at `revision` (0: now) and the cluster's current revision."""
        start, end = prefix_range(prefix)
        body: dict[str, Any] = {"key": b64(start), "range_end": b64(end), "count_only": True}
        if revision:
            body["revision"] = str(revision)
        result = self.call("/v3/kv/range", body)
        return int(result.get("count", 0)), int(result["header"]["revision"])

    def key_values(self, prefix: bytes, page: int = 1000) -> list[dict[str, Any]]:
        """Every key-value under `prefix` (raw gateway records: base64 key/value, lease as a string)."""
        start, end = prefix_range(prefix)
        records: list[dict[str, Any]] = []
        while True:
            result = self.call("/v3/kv/range", {"key": b64(start), "range_end": b64(end), "limit": str(page)})
            kvs = result.get("kvs", [])
            records.extend(kvs)
            if not result.get("more") or not kvs:
                return records
            start = base64.b64decode(kvs[-1]["key"]) + b"\0"

    def grant(self, ttl_seconds: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl_seconds)})["ID"])

    def revoke(self, lease: int) -> bool:
        """False when the lease was already gone (expired or revoked)."""
        try:
            self.call("/v3/lease/revoke", {"ID": str(lease)})
        except GatewayError as error:
            if "lease not found" in str(error):
                return False
            raise
        return True

    def time_to_live(self, lease: int) -> int:
        """Seconds the lease has left; -1 when it does not exist."""
        return int(self.call("/v3/lease/timetolive", {"ID": str(lease)}).get("TTL", -1))

    def put_with_lease(self, records: list[dict[str, Any]], lease: int) -> int:
        """Write the records' keys and values again, bound to `lease`, in batched transactions.
        A key that changed since it was read (its mod_revision moved) is left alone: whoever changed it has
        re-registered already. Returns how many keys were re-bound."""
        rebound = 0
        for offset in range(0, len(records), TXN_BATCH):
            batch = records[offset : offset + TXN_BATCH]
            if self._rebind(batch, lease):
                rebound += len(batch)
            else:  # one key moved: retry the batch key by key, so the others are still re-bound
                rebound += sum(1 for record in batch if self._rebind([record], lease))
        return rebound

    def _rebind(self, records: list[dict[str, Any]], lease: int) -> bool:
        compare = [
            {"key": r["key"], "target": "MOD", "result": "EQUAL", "mod_revision": r.get("mod_revision", "0")}
            for r in records
        ]
        puts = [{"request_put": {"key": r["key"], "value": r.get("value", ""), "lease": str(lease)}} for r in records]
        return bool(self.call("/v3/kv/txn", {"compare": compare, "success": puts}).get("succeeded"))
