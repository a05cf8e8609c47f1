"""The member gate the rolling upgrade waits on, against a scripted cluster that answers as etcdctl does.

The JSON shapes are etcdctl 3.4.23's and 3.5.1's own (`endpoint status|health|hashkv -w json`, recorded from
the lab); the clock is fake, so a timeout costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from ansible_collections.drkit.registry.plugins.module_utils.cluster_gate import (
    Cluster,
    GateError,
    MemberStatus,
    parse_hashkv,
    parse_health,
    parse_status,
    run_gate,
    summarize,
)

URLS = ["http://127.0.0.1:24100", "http://127.0.0.1:24102", "http://127.0.0.1:24104"]
IDS = [17323084053650375523, 1340432688334352517, 15594821376963964703]
RECORDED_STATUS = (
    '[{"Endpoint":"http://127.0.0.1:24100","Status":{"header":{"cluster_id":3373310388238724670,'
    '"member_id":17323084053650375523,"revision":2,"raft_term":2},"version":"3.4.23","dbSize":20480,'
    '"leader":1340432688334352517,"raftIndex":40,"raftTerm":2,"raftAppliedIndex":40,"dbSizeInUse":16384}}]'
)


def test_status_health_and_hashkv_are_read_from_etcdctl_json() -> None:
    [member] = parse_status(RECORDED_STATUS)
    assert (member.url, member.member_id, member.version, member.raft_index, member.applied_index) == (
        URLS[0],
        IDS[0],
        "3.4.23",
        40,
        40,
    )
    assert not member.is_leader and member.as_dict()["id_hex"] == format(IDS[0], "x")
    # etcdctl prints the array first and its errors after it, on the same stream when they are merged.
    health = '[{"endpoint":"http://127.0.0.1:1","health":false,"error":"context deadline exceeded"}]\nError: unhealthy'
    assert parse_health(health) == {"http://127.0.0.1:1": False}
    hashkv = '[{"Endpoint":"http://127.0.0.1:24100","HashKV":{"header":{"revision":2},"hash":2188863811}}]'
    assert parse_hashkv(hashkv) == {URLS[0]: 2188863811}
    assert parse_status("Error: context deadline exceeded") == []


@dataclass
class Member:
    version: str = "3.5.1"
    healthy: bool = True
    raft_index: int = 100
    applied_index: int = 100
    revision: int = 50
    hashes: dict[int, int] = field(default_factory=lambda: {})  # revision -> hash; default 7


@dataclass
class ScriptedCluster:
    """Answers etcdctl's argv like a three-member cluster whose state the test changes between polls."""

    members: dict[str, Member]
    leader: str = URLS[1]
    on_poll: list[object] = field(default_factory=list)  # callbacks run before each answer
    polls: int = 0

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.polls += 1
        for step in self.on_poll:
            step(self)  # type: ignore[operator]
        urls = next(a for a in argv if a.startswith("--endpoints=")).removeprefix("--endpoints=").split(",")
        answering = [url for url in urls if self.members[url].healthy]
        if "status" in argv:
            body = [self._status(url) for url in answering]
        elif "health" in argv:
            body = [{"endpoint": url, "health": self.members[url].healthy} for url in urls]
        else:
            revision = int(next(a for a in argv if a.startswith("--rev=")).removeprefix("--rev="))
            body = [
                {"Endpoint": url, "HashKV": {"hash": self.members[url].hashes.get(revision, 7)}} for url in answering
            ]
        return (0 if len(answering) == len(urls) else 1), json.dumps(body), ""

    def _status(self, url: str) -> dict[str, object]:
        member = self.members[url]
        header = {"member_id": IDS[URLS.index(url)], "revision": member.revision}
        return {
            "Endpoint": url,
            "Status": {
                "header": header,
                "version": member.version,
                "leader": IDS[URLS.index(self.leader)],
                "raftIndex": member.raft_index,
                "raftAppliedIndex": member.applied_index,
            },
        }


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def gate(cluster: ScriptedCluster, member: str = URLS[0], timeout: float = 10.0) -> object:
    clock = FakeClock()
    return run_gate(Cluster(cluster, ["etcdctl"], URLS), member, "3.5.1", timeout, clock=clock, sleep=clock.sleep)


def fresh_cluster() -> ScriptedCluster:
    return ScriptedCluster({url: Member() for url in URLS})


def test_a_member_that_comes_back_and_catches_up_passes_with_its_evidence() -> None:
    cluster = fresh_cluster()
    restarted = cluster.members[URLS[0]]
    restarted.healthy, restarted.applied_index = False, 60

    def recover(c: ScriptedCluster) -> None:
        if c.polls == 3:
            restarted.healthy = True
        if c.polls > 6:
            restarted.applied_index = min(100, restarted.applied_index + 20)

    cluster.on_poll.append(recover)
    result = gate(cluster)
    assert result.applied_index >= result.leader_index == 100  # type: ignore[attr-defined]
    assert result.revision == 50 and result.hash == 7  # type: ignore[attr-defined]
    assert list(result.seconds) == ["healthy", "version", "caught up", "hashkv", "all healthy"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("break_it", "check", "detail"),
    [
        (lambda m: setattr(m, "healthy", False), "healthy", "is not healthy"),
        (lambda m: setattr(m, "version", "3.4.23"), "version", "runs 3.4.23, expected 3.5.1"),
        (lambda m: setattr(m, "applied_index", 90), "caught up", "applied index 90 < leader's 100"),
        (lambda m: m.hashes.update({50: 99}), "hashkv", "hashkv at revision 50"),
    ],
)
def test_the_first_check_that_never_passes_is_named(break_it, check: str, detail: str) -> None:  # type: ignore[no-untyped-def]
    cluster = fresh_cluster()
    break_it(cluster.members[URLS[0]])
    with pytest.raises(GateError) as failure:
        gate(cluster)
    assert failure.value.check == check
    assert detail in failure.value.detail and "waited 10s" in failure.value.detail


def test_hashes_are_compared_at_the_revision_every_member_has() -> None:
    cluster = fresh_cluster()
    cluster.members[URLS[2]].revision = 45  # lagging behind: the others' hashes at 50 cannot be compared with it
    cluster.members[URLS[0]].hashes = {50: 1}  # ... and at 45 everyone agrees
    assert gate(cluster).revision == 45  # type: ignore[attr-defined]


def test_another_member_dying_during_the_gate_fails_it() -> None:
    cluster = fresh_cluster()
    cluster.members[URLS[2]].healthy = False  # the restarted one is fine; a different member is down
    with pytest.raises(GateError) as failure:
        gate(cluster)
    assert failure.value.check == "hashkv" and f"no status from {URLS[2]}" in failure.value.detail


def _status(url: str, member_id: int, leader_id: int, version: str = "3.4.23") -> MemberStatus:
    return MemberStatus(url, member_id, leader_id, version, 40, 40, 2, cluster_id=3373310388238724670)


def test_the_summary_reads_from_a_healthy_leader() -> None:
    statuses = [_status(URLS[i], IDS[i], IDS[1]) for i in range(3)]
    summary = summarize(statuses, dict.fromkeys(URLS, True), URLS)
    assert summary["leader_url"] == URLS[1] and summary["source_url"] == URLS[1]
    assert summary["source_role"] == "leader" and summary["quorum"] == 2
    assert summary["healthy"] == URLS and summary["unhealthy"] == [] and summary["not_answering"] == []
    assert summary["cluster_id"] == "3373310388238724670" and summary["versions"] == ["3.4.23"]
    assert [member["healthy"] for member in summary["members"]] == [True, True, True]


def test_an_unhealthy_leader_is_not_read_from_and_a_silent_member_is_named() -> None:
    statuses = [_status(URLS[0], IDS[0], IDS[1]), _status(URLS[1], IDS[1], IDS[1], "3.5.1")]
    summary = summarize(statuses, {URLS[0]: True, URLS[1]: False}, URLS)
    assert summary["source_url"] == URLS[0] and summary["source_role"] == "follower"
    assert summary["unhealthy"] == [URLS[1], URLS[2]] and summary["not_answering"] == [URLS[2]]
    assert summary["versions"] == ["3.4.23", "3.5.1"]


def test_nothing_answering_leaves_nothing_to_read_from() -> None:
    summary = summarize([], {}, URLS)
    assert summary["source_url"] == "" and summary["leader_url"] == "" and summary["healthy"] == []
    assert summary["cluster_id"] == "0" and summary["unhealthy"] == URLS
