"""A real partition: one namespaces lab, a region cut off by iptables in its own network namespace.

What a failover relies on: a partitioned region cannot be reached from the root namespace (nor by the
endpoint) yet keeps its quorum and takes writes from a client next to it; a fenced region resets client
connections while its peers keep talking; `heal`/`unfence` remove every rule; `down` removes every
namespace and veth, and a fence survives `down`/`up`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from drkit.policy.catalog import PolicySet
from drkit.sandbox import endpoint, etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.network import FENCE_CHAIN, PARTITION_CHAIN, namespaces_available
from drkit.sandbox.plan import Member, RegionLink, RegionPlan
from tests.sandbox.conftest import lab_plan, live_lab

pytestmark = pytest.mark.skipif(
    namespaces_available() is not None, reason=f"network namespaces unavailable: {namespaces_available()}"
)


@pytest.fixture(scope="module")
def ns_lab(policies_module: PolicySet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    state = tmp_path_factory.mktemp("netns-lab") / "local"
    lab = Lab.prepare(lab_plan(policies_module, state, "namespaces"), state)
    with live_lab(lab):
        yield lab
    assert_network_gone(lab)


def link_of(region: RegionPlan) -> RegionLink:
    assert region.link is not None
    return region.link


def assert_network_gone(lab: Lab) -> None:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    for region in lab.plan.regions:
        link = link_of(region)
        assert link.namespace not in namespaces
        assert link.root_veth not in links and link.ns_veth not in links


def connect(member: Member, timeout: float = 1.0) -> str:
    """How a TCP connect to the member's client port from the root namespace ends."""
    try:
        with socket.create_connection((member.host, member.client_port), timeout=timeout):
            return "connected"
    except TimeoutError:
        return "timed out"
    except ConnectionRefusedError:
        return "refused"


def inside(lab: Lab, region: RegionPlan, *args: str) -> subprocess.CompletedProcess[str]:
    """etcdctl from inside the region's namespace: a client next to the region's members."""
    command = ["ip", "netns", "exec", link_of(region).namespace, str(lab.binaries.etcdctl)]
    command += [f"--endpoints={region.client_endpoints}", "--command-timeout=3s", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)


def chain(lab: Lab, region: RegionPlan, name: str) -> list[str]:
    rules = lab.network.state()["regions"][region.name]["rules"]
    return [rule for rule in rules if rule.startswith(f"-A {name} ")]


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout}s: {check}")
        time.sleep(0.1)


def endpoint_states(lab: Lab, region: RegionPlan) -> set[str]:
    states = endpoint.server_states(lab.paths)
    return {states[member.name] for member in region.members}


def test_members_answer_on_their_namespace_addresses_and_through_the_endpoint(ns_lab: Lab) -> None:
    for region in ns_lab.plan.regions:
        link = link_of(region)
        assert {member.host for member in region.members} == {link.ns_address}
        assert all(etcd_client.healthy(member.client_url) for member in region.members)
    etcd_client.put(f"http://127.0.0.1:{ns_lab.plan.endpoint_port}", "/netns/through-endpoint", "yes")
    assert etcd_client.get(ns_lab.plan.primary.members[0].client_url, "/netns/through-endpoint") == "yes"
    report = ns_lab.status()
    assert report["network"]["mode"] == "namespaces"
    assert (report["network"]["partitioned"], report["network"]["fenced"]) == ([], [])


def test_a_partitioned_region_is_cut_off_but_keeps_its_quorum(ns_lab: Lab) -> None:
    primary = ns_lab.plan.primary
    ns_lab.network.partition(primary.name)
    try:
        assert ns_lab.network.state()["partitioned"] == [primary.name]
        assert chain(ns_lab, primary, PARTITION_CHAIN) == [f"-A {PARTITION_CHAIN} -j DROP"]
        assert {connect(member) for member in primary.members} == {"timed out"}
        wait_for(lambda: endpoint_states(ns_lab, primary) == {"DOWN"}, 10)
        # Next to its members, the cut-off region still has a leader and commits writes: split-brain risk.
        health = inside(ns_lab, primary, "endpoint", "health")
        assert health.returncode == 0, health.stderr
        put = inside(ns_lab, primary, "put", "/netns/written-while-partitioned", "yes")
        assert put.returncode == 0 and "OK" in put.stdout, put.stderr
        assert all(ns_lab.member_healthy(member) for member in primary.members)  # asked from inside
    finally:
        ns_lab.network.heal(primary.name)
    assert chain(ns_lab, primary, PARTITION_CHAIN) == []
    assert ns_lab.network.state()["partitioned"] == []
    assert {connect(member) for member in primary.members} == {"connected"}
    assert etcd_client.get(primary.members[2].client_url, "/netns/written-while-partitioned") == "yes"
    wait_for(lambda: endpoint_states(ns_lab, primary) == {"UP"}, 10)


def test_a_fenced_region_refuses_clients_while_its_peers_keep_talking(ns_lab: Lab) -> None:
    standby = ns_lab.plan.standbys[0]
    ns_lab.network.fence_client_port(standby.name)
    try:
        assert len(chain(ns_lab, standby, FENCE_CHAIN)) == len(standby.members)
        assert {connect(member) for member in standby.members} == {"refused"}
        with pytest.raises(etcd_client.EtcdUnavailableError):
            etcd_client.put(standby.members[0].client_url, "/netns/fenced", "no", timeout=2)
        # Raft runs over the peer ports, which the fence leaves open: the region still commits.
        put = inside(ns_lab, standby, "put", "/netns/next-to-fenced", "yes")
        assert put.returncode == 0, put.stderr
        assert ns_lab.status()["network"]["fenced"] == [standby.name]
    finally:
        ns_lab.network.unfence_client_port(standby.name)
    assert chain(ns_lab, standby, FENCE_CHAIN) == []
    assert etcd_client.healthy(standby.members[0].client_url)


def test_down_removes_the_network_and_up_brings_a_fence_back(ns_lab: Lab) -> None:
    standby = ns_lab.plan.standbys[0]
    ns_lab.network.fence_client_port(standby.name)
    try:
        ns_lab.stop()
        assert_network_gone(ns_lab)
        ns_lab.up(lambda _: None)
        assert ns_lab.network.state()["fenced"] == [standby.name]
        assert len(chain(ns_lab, standby, FENCE_CHAIN)) == len(standby.members)
        assert connect(standby.members[0]) == "refused"
        assert all(ns_lab.member_healthy(member) for member in standby.members)
    finally:
        ns_lab.network.unfence_client_port(standby.name)
    assert all(etcd_client.healthy(member.client_url) for member in ns_lab.plan.members)


def test_the_cli_partitions_and_heals(ns_lab: Lab) -> None:
    from click.testing import CliRunner

    from drkit.cli import main

    runner = CliRunner()
    args = ["--state-dir", str(ns_lab.paths.root)]
    west = ns_lab.plan.standbys[0]
    cut = runner.invoke(main, ["sandbox", "partition", west.name, *args])
    try:
        assert cut.exit_code == 0, cut.output
        assert connect(west.members[0], timeout=0.5) == "timed out"
        text = runner.invoke(main, ["sandbox", "status", *args]).output
        assert f"network namespaces: partitioned {west.name}; client port fenced none" in text
    finally:
        healed = runner.invoke(main, ["sandbox", "heal", west.name, *args])
    assert healed.exit_code == 0 and connect(west.members[0]) == "connected"
    unknown = runner.invoke(main, ["sandbox", "partition", "mars", *args])
    assert unknown.exit_code == 2 and "regions: lab-east, lab-west" in unknown.output


def test_the_mode_and_the_network_state_are_saved_in_the_state_dir(ns_lab: Lab) -> None:
    assert json.loads((ns_lab.paths.root / "lab.json").read_text())["network"] == "namespaces"
    assert json.loads((ns_lab.paths.root / "network.json").read_text()) == {
        "partitioned": [],
        "fenced": [],
        "witnessKept": [],
    }
