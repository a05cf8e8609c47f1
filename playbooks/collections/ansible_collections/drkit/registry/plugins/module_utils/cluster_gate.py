"""A cluster's state as etcdctl reports it, and the gate a member passes after a restart or an upgrade.

etcdctl rather than the JSON gateway, because 3.4's gateway has no HashKV (its /v3/maintenance/hash hashes
the whole backend file, which differs between healthy members). Standard library only: this file ships to
the hosts a module runs on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Tuple

# The argument spec of every module that asks the cluster through etcdctl (doc fragment drkit.registry.etcdctl).
ETCDCTL_ARGUMENTS: dict[str, dict[str, Any]] = {
    "etcdctl": {"type": "list", "elements": "str", "required": True},
    "endpoints": {"type": "list", "elements": "str", "required": True},
    "command_timeout": {"type": "int", "default": 5},
}

# argv -> (rc, stdout, stderr), as AnsibleModule.run_command returns it.
Runner = Callable[[List[str]], Tuple[int, str, str]]


class GateError(Exception):
    """A check did not pass before the deadline; `check` names which one."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


@dataclass(frozen=True)
class MemberStatus:
    url: str
    member_id: int
    leader_id: int
    version: str
    raft_index: int
    applied_index: int
    revision: int
    cluster_id: int = 0

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "id": self.member_id,
            "id_hex": format(self.member_id, "x"),
            "leader": self.is_leader,
            "version": self.version,
            "raft_index": self.raft_index,
            "applied_index": self.applied_index,
            "revision": self.revision,
        }


def _json_list(stdout: str) -> list[dict[str, Any]]:
    """etcdctl -w json prints one JSON array for the endpoints that answered; its errors go to stderr, but
    read only the array in case they were merged in after it."""
    start = stdout.find("[")
    if start < 0:
        return []
    try:
        value, _ = json.JSONDecoder().raw_decode(stdout[start:])
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def parse_status(stdout: str) -> list[MemberStatus]:
    members = []
    for entry in _json_list(stdout):
        status = entry.get("Status", {})
        header = status.get("header", {})
        members.append(
            MemberStatus(
                url=entry["Endpoint"],
                member_id=int(header.get("member_id", 0)),
                leader_id=int(status.get("leader", 0)),
                version=str(status.get("version", "")),
                raft_index=int(status.get("raftIndex", 0)),
                # 3.4 and 3.5 both report it; a member that has not applied anything omits the field.
                applied_index=int(status.get("raftAppliedIndex", 0)),
                revision=int(header.get("revision", 0)),
                cluster_id=int(header.get("cluster_id", 0)),
            )
        )
    return members


def summarize(statuses: list[MemberStatus], health: dict[str, bool], endpoints: list[str]) -> dict[str, Any]:
    """The cluster as a backup, restore or upgrade gate needs it: each member's status and health, the
    leader, the healthy and unhealthy members, the quorum, and the member to read from (the leader when it
    is healthy, else the first healthy member in inventory order)."""
    by_url = {status.url: status for status in statuses}
    members = [{**by_url[url].as_dict(), "healthy": health.get(url, False)} for url in endpoints if url in by_url]
    healthy = [url for url in endpoints if health.get(url)]
    leader = next((member["url"] for member in members if member["leader"]), "")
    source = leader if leader in healthy else (healthy[0] if healthy else "")
    return {
        "members": members,
        "leader_url": leader,
        "versions": sorted({member["version"] for member in members}),
        "not_answering": [url for url in endpoints if url not in by_url],
        "healthy": healthy,
        "unhealthy": [url for url in endpoints if url not in healthy],
        "quorum": len(endpoints) // 2 + 1,
        "source_url": source,
        "source_role": "leader" if source and source == leader else "follower",
        "cluster_id": str(statuses[0].cluster_id if statuses else 0),
    }


def parse_health(stdout: str) -> dict[str, bool]:
    return {entry["endpoint"]: bool(entry.get("health")) for entry in _json_list(stdout)}


def parse_hashkv(stdout: str) -> dict[str, int]:
    return {entry["Endpoint"]: int(entry["HashKV"]["hash"]) for entry in _json_list(stdout) if "HashKV" in entry}


@dataclass
class Cluster:
    """One cluster, asked through etcdctl (`etcdctl` is its argv prefix, TLS flags included)."""

    run: Runner
    etcdctl: list[str]
    urls: list[str]
    command_timeout: int = 5

    def _ask(self, urls: list[str], *args: str) -> str:
        argv = [*self.etcdctl, "--endpoints=" + ",".join(urls), f"--command-timeout={self.command_timeout}s", *args]
        return self.run([*argv, "-w", "json"])[1]

    def status(self, urls: list[str] | None = None) -> list[MemberStatus]:
        return parse_status(self._ask(urls or self.urls, "endpoint", "status"))

    def health(self, urls: list[str] | None = None) -> dict[str, bool]:
        return parse_health(self._ask(urls or self.urls, "endpoint", "health"))

    def hashkv(self, revision: int) -> dict[str, int]:
        return parse_hashkv(self._ask(self.urls, "endpoint", "hashkv", f"--rev={revision}"))


@dataclass
class GateResult:
    """What the gate saw when it passed: each check's seconds since the gate began, and the evidence."""

    seconds: dict[str, float] = field(default_factory=dict)
    version: str = ""
    applied_index: int = 0
    leader_index: int = 0
    revision: int = 0
    hash: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": {check: round(value, 2) for check, value in self.seconds.items()},
            "version": self.version,
            "applied_index": self.applied_index,
            "leader_index": self.leader_index,
            "hashkv_revision": self.revision,
            "hash": self.hash,
        }


CHECKS = ("healthy", "version", "caught up", "hashkv", "all healthy")


def run_gate(
    cluster: Cluster,
    member_url: str,
    version: str,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.2,
) -> GateResult:
    """Wait, within `timeout` seconds in all, until: the member answers healthy; it runs `version` (any
    version when empty: a replaced member runs whatever its host has); its
    applied index has reached the leader's raft index read after it came back; every member's hashkv agrees
    at a revision all of them have; and every member is healthy. Raises GateError naming the first check
    that did not pass, and what it saw last."""
    began = clock()
    deadline = began + timeout
    result = GateResult()
    last = {"detail": "not checked yet"}

    def until(check: str, passed: Callable[[], bool]) -> None:
        while True:
            if passed():
                result.seconds[check] = clock() - began
                return
            if clock() >= deadline:
                raise GateError(check, f"{last['detail']} (waited {timeout:g}s)")
            sleep(interval)

    def healthy() -> bool:
        answer = cluster.health([member_url]).get(member_url, False)
        last["detail"] = f"{member_url} is not healthy" if not answer else ""
        return answer

    def runs_version() -> bool:
        statuses = cluster.status([member_url])
        seen = statuses[0].version if statuses else "no answer"
        result.version = seen
        last["detail"] = f"{member_url} runs {seen}, expected {version}"
        return seen == version or (not version and bool(statuses))

    def caught_up() -> bool:
        statuses = {status.url: status for status in cluster.status()}
        member = statuses.get(member_url)
        leader = next((status for status in statuses.values() if status.is_leader), None)
        if member is None or leader is None:
            last["detail"] = f"no status from {member_url}" if member is None else "no leader"
            return False
        if not result.leader_index:
            result.leader_index = leader.raft_index  # the target: everything committed when it came back
        result.applied_index = member.applied_index
        last["detail"] = f"{member_url} applied index {member.applied_index} < leader's {result.leader_index}"
        return member.applied_index >= result.leader_index

    def hashes_agree() -> bool:
        statuses = cluster.status()
        if len(statuses) < len(cluster.urls):
            answered = {status.url for status in statuses}
            last["detail"] = f"no status from {', '.join(sorted(set(cluster.urls) - answered))}"
            return False
        revision = min(status.revision for status in statuses)
        hashes = cluster.hashkv(revision)
        result.revision = revision
        if len(hashes) < len(cluster.urls) or len(set(hashes.values())) != 1:
            last["detail"] = f"hashkv at revision {revision}: " + ", ".join(
                f"{url}={hashes.get(url, 'no answer')}" for url in cluster.urls
            )
            return False
        result.hash = next(iter(hashes.values()))
        return True

    def all_healthy() -> bool:
        health = cluster.health()
        sick = [url for url in cluster.urls if not health.get(url, False)]
        last["detail"] = f"not healthy: {', '.join(sick)}"
        return not sick

    until("healthy", healthy)
    until("version", runs_version)
    until("caught up", caught_up)
    until("hashkv", hashes_agree)
    until("all healthy", all_healthy)
    return result
