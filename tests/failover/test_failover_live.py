"""Switchover, failover and failback on a live lab: real etcd clusters, make-mirror, HAProxy, supervisord.

A ledger writes through the endpoint during each operation; what was acknowledged is checked key by key on
the promoted cluster afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from drkit.drill.workload import Ledger, Registry
from drkit.failover import registry
from drkit.failover.control import FenceAction
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.lab import LabControl, lab_deployment
from drkit.sandbox import endpoint, etcd_client
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec
from tests.conftest import ROOT
from tests.failover.conftest import DRKIT, drkit, drkit_json, fresh

pytestmark = pytest.mark.usefixtures("pair")


def _roles(lab: Lab) -> dict[str, str]:
    return {region.name: region.role for region in fresh(lab).plan.regions}


def _endpoint(lab: Lab) -> str:
    return f"http://127.0.0.1:{lab.plan.endpoint_port}"


def _cluster(lab: Lab, region: str) -> registry.Cluster:
    plan = fresh(lab).plan.region(region)
    assert plan is not None
    return registry.Cluster(region, tuple(member.client_url for member in plan.members))


def test_refusals_change_nothing(pair: Lab) -> None:
    lab = pair
    primary, standby = lab.plan.primary.name, lab.plan.standbys[0].name
    before = (_roles(lab), endpoint.load_serving(lab.paths, lab.plan))

    unknown = drkit(lab, "failover", "--to", "nowhere", "--yes")
    assert unknown.returncode == 2 and "no region nowhere" in unknown.stderr and "Traceback" not in unknown.stderr
    itself = drkit(lab, "switchover", "--to", primary, "--yes")
    assert itself.returncode == 2 and "already the primary" in itself.stderr
    nothing = drkit(lab, "failback", "--yes")
    assert nothing.returncode == 2 and "no region is fenced" in nothing.stderr
    unreasoned = drkit(lab, "failover", "--to", standby, "--force", "--yes")
    assert unreasoned.returncode == 2 and "--reason" in unreasoned.stderr

    # A standby without quorum is refused before anything changes.
    for member in lab.plan.standbys[0].members[:2]:
        lab.supervisor.stop_program(member.program)
    refused = drkit(lab, "failover", "--to", standby, "--yes")
    assert refused.returncode == 1, refused.stderr
    assert f"the standby {standby} is unhealthy: 0 of 3 members healthy" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert (_roles(lab), endpoint.load_serving(lab.paths, lab.plan)) == before
    assert not (lab.paths.root / "failover-journal.json").exists()
    assert endpoint.server_states(lab.paths)[lab.plan.primary.members[0].name] == "UP"

    fresh(lab).up(lambda _: None)  # the stopped standby members again
    dry = drkit(lab, "switchover", "--to", standby)
    assert dry.returncode == 0 and "dry run: nothing was changed" in dry.stdout
    assert _roles(lab) == before[0]


def test_switchover_under_a_writer_loses_no_acknowledged_write(pair: Lab, failover_spec: Spec) -> None:
    lab = pair
    old, new = lab.plan.primary.name, lab.plan.standbys[0].name
    epoch_before = registry.read_epoch(_cluster(lab, old))
    ttl = lab.plan.lease_ttl_s
    ledger = Ledger(_endpoint(lab), prefix="/drill/switchover/")
    instances = Registry.register(_endpoint(lab), "/services/", 4, ttl)
    dead = instances.instances[:2]
    for instance in dead:
        instance.alive = False
    ledger.start()
    instances.start()
    try:
        time.sleep(1.5)
        report = drkit_json(lab, "switchover", "--to", new, "--yes")
        time.sleep(1.5)
    finally:
        ledger.stop()

    assert report["outcome"] == "done" and report["rpoBoundSeconds"] == 0
    assert _roles(lab) == {old: "standby", new: "primary"}
    present = etcd_client.values(_cluster(lab, new).urls[0], ledger.prefix)
    missing = [ack.key for ack in ledger.acks if present.get(ack.key) != ack.value]
    assert len(ledger.acks) > 20 and not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
    assert any(ack.at > time.monotonic() - 1.4 for ack in ledger.acks), "no write acknowledged after the switchover"

    epoch = registry.read_epoch(_cluster(lab, new))
    assert epoch is not None and epoch.primary == new and epoch.kind == "switchover"
    assert epoch.number == (epoch_before.number if epoch_before else 1) + 1

    # The mirror now runs the other way: a write on the new primary reaches the old one.
    registry.put(_cluster(lab, new), "/drill/reverse", "arrived")
    assert registry.wait_for_value(_cluster(lab, old), "/drill/reverse", "arrived", timeout=10) < 10

    # Registrations: past one TTL the dead instances are gone, the live ones are there (re-registered).
    try:
        time.sleep(ttl + 3)
        registered = etcd_client.values(_endpoint(lab), "/services/drill/")
    finally:
        instances.stop()
    assert [i.key for i in dead if i.key in registered] == []
    assert all(instance.key in registered for instance in instances.instances[2:])


def test_failover_after_losing_the_primary_region(pair: Lab, failover_spec: Spec) -> None:
    lab = pair
    old, new = lab.plan.primary.name, lab.plan.standbys[0].name
    ledger = Ledger(_endpoint(lab), prefix="/drill/failover/")
    ledger.start()
    try:
        time.sleep(2)
        killed_at = time.monotonic()
        lab.kill_region(old)
        report = drkit_json(lab, "failover", "--to", new, "--yes")
        time.sleep(1)
    finally:
        ledger.stop()

    fences = {fence["method"]: fence for fence in report["fences"]}
    assert fences["stop-members"]["ok"] and fences["endpoint-out"]["ok"]
    assert report["rpoBoundSeconds"] is not None and report["rpoBoundSeconds"] <= failover_spec.replication.max_lag
    assert _roles(lab) == {old: "fenced", new: "primary"}

    present = etcd_client.values(_cluster(lab, new).urls[0], ledger.prefix)
    lost = [ack for ack in ledger.acks if ack.at < killed_at and present.get(ack.key) != ack.value]
    # What the mirror had not applied when the region died: only writes from the last maxLag before it.
    assert all(killed_at - ack.at <= failover_spec.replication.max_lag for ack in lost), lost
    after = [ack for ack in ledger.acks if ack.at > killed_at]
    assert after, "no write was acknowledged through the endpoint after the failover"

    # The fenced region does not come back by itself, nor by hand.
    start = drkit(lab, "sandbox", "start", lab.plan.region(old).members[0].name)  # type: ignore[union-attr]
    assert start.returncode == 1 and "fenced" in start.stderr
    up = drkit(lab, "sandbox", "up")
    assert up.returncode == 0 and f"not starting {old}'s members" in up.stdout
    assert not registry.answers(_cluster(lab, old))

    # Failback: data moved aside, re-seeded from the new primary, the mirror runs new -> old.
    back = drkit_json(lab, "failback", "--yes")
    assert back["outcome"] == "done"
    assert _roles(lab) == {old: "standby", new: "primary"}
    aside = sorted(p.name for p in lab.paths.data.iterdir() if ".failback-" in p.name and p.name.startswith(old))
    assert len(aside) == 3
    registry.put(_cluster(lab, new), "/drill/after-failback", "seeded")
    registry.wait_for_value(_cluster(lab, old), "/drill/after-failback", "seeded", timeout=10)
    kept = etcd_client.values(_cluster(lab, old).urls[0], ledger.prefix)
    assert kept == etcd_client.values(_cluster(lab, new).urls[0], ledger.prefix)


class _NothingFences(LabControl):
    """The lab's controls, but neither the old primary's process manager nor its firewall answers."""

    def stop_members(self, region: str) -> FenceAction:
        return FenceAction("stop-members", region, False, "process manager unreachable (test)")

    def cut_client_port(self, region: str) -> FenceAction:
        return FenceAction("cut-client-port", region, False, "firewall API unreachable (test)")


def test_unfenced_primary_that_answers_is_not_promoted_unless_forced(pair: Lab, failover_spec: Spec) -> None:
    lab = pair
    old, new = lab.plan.primary.name, lab.plan.standbys[0].name
    deployment = lab_deployment(lab)
    deployment.control = _NothingFences(lab)
    with pytest.raises(FailoverRefusedError, match="could not be fenced and 3 of its members still answer"):
        carry_out(deployment, Request("failover", new, confirm=True), lambda _: None)
    assert _roles(lab) == {old: "primary", new: "standby"}
    assert registry.answers(_cluster(lab, old)), "the refusal must not have stopped anything"

    # Re-running the same command with a reason resumes from the refused check and promotes.
    forced = carry_out(
        deployment,
        Request("failover", new, confirm=True, force_reason="old primary powered off by hand"),
        lambda _: None,
    )
    assert forced.forced_reason == "old primary powered off by hand"
    assert [step.name for step in forced.steps if step.resumed] == [
        "fence-stop-members",
        "fence-client-port",
        "fence-endpoint",
    ]
    assert _roles(lab) == {old: "fenced", new: "primary"}


def test_interrupted_failover_resumes_with_the_same_command(pair: Lab) -> None:
    lab = pair
    old, new = lab.plan.primary.name, lab.plan.standbys[0].name
    journal = lab.paths.root / "failover-journal.json"
    command = [str(DRKIT), "failover", "--to", new, "--yes", "--stack", "local", "--state-dir", str(lab.paths.root)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DRKIT_FAILOVER_STEP_DELAY": "0.7"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if journal.exists() and "fence-endpoint" in json.loads(journal.read_text()).get("done", []):
                break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    state = json.loads(journal.read_text())
    assert "fence-endpoint" in state["done"] and "write-epoch" not in state["done"]

    other = drkit(lab, "switchover", "--to", new, "--yes")
    assert other.returncode == 1 and "did not finish" in other.stderr

    resumed = drkit_json(lab, "failover", "--to", new, "--yes")
    assert resumed["outcome"] == "done" and resumed["epoch"] == state["epoch"]
    assert [s["name"] for s in resumed["steps"] if s["resumed"]][:3] == [
        "fence-stop-members",
        "fence-client-port",
        "fence-endpoint",
    ]
    assert _roles(lab) == {old: "fenced", new: "primary"}
    epoch = registry.read_epoch(_cluster(lab, new))
    assert epoch is not None and epoch.number == state["epoch"]


def test_partition_then_failover_then_heal_leaves_the_old_primary_fenced(pair: Lab) -> None:
    lab = pair
    if not lab.network.enabled:
        pytest.skip("partitions need a namespaces lab (root, ip and iptables)")
    old, new = lab.plan.primary, lab.plan.standbys[0]
    etcdctl = str(lab.binaries.etcdctl)
    ledger = Ledger(_endpoint(lab), prefix="/drill/partition/", timeout=0.3)
    ledger.start()
    try:
        time.sleep(1)
        cut = drkit(lab, "sandbox", "partition", old.name)
        assert cut.returncode == 0, cut.stderr
        cut_at = time.monotonic()
        # Inside the cut the old primary still has its quorum: a client next to it could still write.
        inside = [etcdctl, f"--endpoints={old.members[0].client_url}", "put", "/drill/inside", "split"]
        assert lab.network.run_inside(old.name, inside)

        report = drkit_json(lab, "failover", "--to", new.name, "--yes")
        time.sleep(1)
    finally:
        ledger.stop()
    fences = {fence["method"]: fence for fence in report["fences"]}
    assert not fences["stop-members"]["ok"] and "partitioned" in fences["stop-members"]["detail"]
    assert fences["cut-client-port"]["ok"] and fences["endpoint-out"]["ok"]
    assert report["outcome"] == "done"
    assert any(ack.at > cut_at for ack in ledger.acks), "no write acknowledged through the endpoint after"

    healed = drkit(lab, "sandbox", "heal", old.name)
    assert healed.returncode == 0, healed.stderr
    # The partition is gone, the fence is not: reached directly, no old member acknowledges a write.
    for member in old.members:
        with pytest.raises(etcd_client.EtcdUnavailableError):
            etcd_client.put(member.client_url, "/drill/after-heal", "stale", timeout=2)
    assert fresh(lab).network.saved().fenced == frozenset({old.name})
    states = endpoint.server_states(lab.paths)
    assert all(states[member.name] == "MAINT" for member in old.members)
    assert _roles(lab) == {old.name: "fenced", new.name: "primary"}

    # Failback reaches it again, discards the split write with its data dir, and lifts the fence.
    back = drkit_json(lab, "failback", "--yes")
    assert back["outcome"] == "done"
    assert fresh(lab).network.saved().fenced == frozenset()
    assert registry.get(_cluster(lab, old.name), "/drill/inside")[0] is None
