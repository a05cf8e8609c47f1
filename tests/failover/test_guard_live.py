"""Automatic promotion on a live namespaces lab: a witness etcd, a guard per region inside its namespace, and
real partitions. The guards run with ttl 5 s, loop 1 s, retry 1 s (Patroni's rule holds: 1 + 2 x 1 <= 5)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drkit.drill.workload import Ledger
from drkit.failover import registry
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from tests.failover.conftest import drkit, drkit_json, fresh

TTL = 5


@pytest.fixture
def guarded(pair: Lab) -> Iterator[Lab]:
    if not pair.network.enabled:
        pytest.skip("the guards' partitions need a namespaces lab (root, ip and iptables)")
    pair.start_guards(lambda _: None)
    _wait_for(pair, pair.plan.primary.name, "primary: lease renewed", 20)
    try:
        yield pair
    finally:
        lab = fresh(pair)
        lab.stop_guards()
        lab.set_guards_paused(False)
        for region in lab.plan.regions:
            lab.network.heal(region.name)
        if not etcd_client.healthy(f"http://127.0.0.1:{lab.plan.witness_port}"):
            lab.supervisor.stop_program("witness")


def _decision(lab: Lab, region: str) -> str:
    try:
        return str(json.loads((lab.paths.root / "guards" / f"{region}.json").read_text())["decision"])
    except (OSError, ValueError, KeyError):
        return ""


def _wait_for(lab: Lab, region: str, prefix: str, timeout: float) -> float:
    """Seconds until the guard decides `prefix`. Read from the guard's log, which keeps every change of
    decision (the decision file holds only the latest, and a promotion's is replaced within a second)."""
    log = lab.paths.logs / f"guard-{region}.log"
    seen = log.stat().st_size if log.exists() else 0
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        text = log.read_text(errors="replace")[seen:] if log.exists() else ""
        if any(line.split(" ", 1)[-1].startswith(prefix) for line in text.splitlines()):
            return time.monotonic() - started
        if _decision(lab, region).startswith(prefix):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{region}'s guard never said {prefix!r} in {timeout:.0f}s; last: {_decision(lab, region)!r}")


def _scrape(url: str) -> list[tuple[str, dict[str, str], float]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    found = [value for sample, have, value in samples if sample == name and labels.items() <= have.items()]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def _assert_reported(lab: Lab, primary: str, standby: str) -> None:
    """What status and the guards' /metrics say of a healthy pair: the primary holds the key, the standby
    waits with fresh data (what the alert rules read)."""
    status = drkit_json(lab, "sandbox", "status")
    guards = status["guards"]
    assert guards["enabled"] and not guards["paused"]
    assert guards["holderRegion"] == primary and 0 < guards["ttlLeft"] <= TTL
    assert guards["epoch"] == status["failover"]["epoch"]
    assert guards["running"] == {primary: "RUNNING", standby: "RUNNING"}
    mine, theirs = guards["decisions"][primary], guards["decisions"][standby]
    assert (mine["decision"], mine["kind"], mine["holdsLease"]) == ("primary: lease renewed", "renewed", True)
    assert mine["leaseId"] and mine["epoch"] == guards["epoch"] and time.time() - mine["at"] < 5
    assert (theirs["kind"], theirs["holdsLease"], theirs["role"]) == ("waiting", False, "standby")

    samples = _scrape(guards["metrics"][primary])
    assert _value(samples, "drkit_guard_lease_held") == 1
    assert 0 < _value(samples, "drkit_guard_lease_ttl_remaining_seconds") <= TTL
    assert time.time() - _value(samples, "drkit_guard_last_renew_timestamp_seconds") < 5
    assert (_value(samples, "drkit_region_primary"), _value(samples, "drkit_region_fenced")) == (1, 0)
    assert _value(samples, "drkit_guard_decisions_total", decision="renewed") >= 1
    region = fresh(lab).plan.region(primary)
    assert region is not None
    members = {m.name for m in region.members}
    assert {labels["member"] for name, labels, _ in samples if name == "drkit_raft_term"} == members
    epochs = [value for name, _, value in samples if name == "drkit_region_epoch"]
    assert epochs in ([], [guards["epoch"]])  # no record before the lab's first promotion

    # The standby's mirrored heartbeat is fresh (within maxLag) once the mirror has caught up.
    deadline = time.monotonic() + 15
    while True:
        samples = _scrape(guards["metrics"][standby])
        lag = _value(samples, "drkit_mirror_lag_seconds")
        if lag <= lab.plan.max_lag_s or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert lag <= lab.plan.max_lag_s
    assert _value(samples, "drkit_guard_lease_held") == 0 and _value(samples, "drkit_region_primary") == 0
    assert _value(samples, "drkit_replication_max_lag_seconds") == lab.plan.max_lag_s

    # etcd's own metrics the alert rules read exist under these names on this release.
    with urllib.request.urlopen(f"{region.members[0].client_url}/metrics", timeout=5) as response:
        names = {s.name for family in text_string_to_metric_families(response.read().decode()) for s in family.samples}
    assert {"etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_leader_changes_seen_total"} <= names


def _roles(lab: Lab) -> dict[str, str]:
    return {region.name: region.role for region in fresh(lab).plan.regions}


def test_a_primary_cut_off_from_everything_fences_itself_and_the_standby_is_promoted(guarded: Lab) -> None:
    lab = guarded
    old, new = lab.plan.primary, lab.plan.standbys[0]
    ledger = Ledger(f"http://127.0.0.1:{lab.plan.endpoint_port}", prefix="/drill/auto/", timeout=0.3)
    ledger.start()
    try:
        time.sleep(1)
        cut = time.monotonic()
        assert drkit(lab, "sandbox", "partition", old.name).returncode == 0
        fenced_after = _wait_for(lab, old.name, "primary: self-fenced", 3 * TTL)
        promoted_after = _wait_for(lab, new.name, "promoted:", 6 * TTL) + fenced_after
        time.sleep(1)
    finally:
        ledger.stop()
    # The old primary stopped its members before the standby could take over: the lease outlives the fence.
    # Times are from the cut; the last renewal came up to one loop (1 s) before it, so promotion cannot
    # come sooner than TTL - 1 s after the cut.
    assert fenced_after < promoted_after and promoted_after >= TTL - 1
    assert _roles(lab) == {old.name: "fenced", new.name: "primary"}
    inside = [str(lab.binaries.etcdctl), f"--endpoints={old.members[0].client_url}", "put", "/drill/late", "x"]
    assert not lab.network.run_inside(old.name, inside), "the isolated old primary still acknowledges writes"
    assert any(ack.at > cut + promoted_after for ack in ledger.acks), "no write through the endpoint afterwards"
    epoch = registry.read_epoch(registry.Cluster(new.name, tuple(m.client_url for m in new.members)))
    assert epoch is not None and epoch.primary == new.name and epoch.kind == "failover"


def test_only_the_link_between_the_regions_cut_promotes_nothing(guarded: Lab) -> None:
    lab = guarded
    old, new = lab.plan.primary, lab.plan.standbys[0]
    _assert_reported(lab, old.name, new.name)
    assert drkit(lab, "sandbox", "partition", old.name, "--keep-witness").returncode == 0
    time.sleep(2 * TTL + 2)
    assert _decision(lab, old.name) == "primary: lease renewed"
    assert _decision(lab, new.name).startswith(f"standby: {old.name} holds the key")
    assert _roles(lab) == {old.name: "primary", new.name: "standby"}
    # The standby's guard sees the mirror stalled behind the cut: what DrkitMirrorLagOverMaxLag fires on.
    samples = _scrape(lab.plan.guard_metrics_url(new.name))
    assert _value(samples, "drkit_mirror_lag_seconds") > lab.plan.max_lag_s
    assert _value(samples, "drkit_guard_decisions_total", decision="waiting") >= 2 * TTL


def test_no_witness_no_promotion_and_the_primary_comes_back_with_it(guarded: Lab) -> None:
    lab = guarded
    old, new = lab.plan.primary, lab.plan.standbys[0]
    lab.supervisor.stop_program("witness")
    _wait_for(lab, new.name, "standby: the witness does not answer", 3 * TTL)
    # The documented trade-off: the primary cannot tell a dead witness from being cut off from it.
    _wait_for(lab, old.name, "primary: self-fenced", 3 * TTL)
    time.sleep(TTL)
    assert _roles(lab) == {old.name: "primary", new.name: "standby"}

    lab.supervisor.start_program("witness")
    _wait_for(lab, old.name, "primary: lease renewed", 6 * TTL)
    deadline = time.monotonic() + 30
    while not etcd_client.healthy(f"http://127.0.0.1:{lab.plan.endpoint_port}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert etcd_client.put(f"http://127.0.0.1:{lab.plan.endpoint_port}", "/drill/back", "yes") > 0


def test_a_dead_guard_holds_off_promotion_until_its_lease_expires(guarded: Lab) -> None:
    lab = guarded
    old, new = lab.plan.primary, lab.plan.standbys[0]
    lab.supervisor.stop_program(f"guard-{old.name}")
    stopped = time.monotonic()
    time.sleep(TTL - 2)
    assert _roles(lab) == {old.name: "primary", new.name: "standby"}, "promoted while the lease was live"
    promoted_after = _wait_for(lab, new.name, "promoted:", 6 * TTL) + (time.monotonic() - stopped)
    assert promoted_after >= TTL - 2
    # Nothing stopped the old primary's members but the engine's fence: it could reach them, and did.
    assert not registry.answers(registry.Cluster(old.name, tuple(m.client_url for m in old.members)))


def test_paused_guards_do_not_promote(guarded: Lab) -> None:
    lab = guarded
    old, new = lab.plan.primary, lab.plan.standbys[0]
    assert drkit(lab, "sandbox", "guards", "pause").returncode == 0
    lab.kill_region(old.name)
    _wait_for(lab, new.name, "standby: paused", 3 * TTL)
    time.sleep(2 * TTL)
    assert _roles(lab) == {old.name: "primary", new.name: "standby"}
