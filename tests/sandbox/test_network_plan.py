"""The namespaces network mode on paper: names, addresses, saved layout, configs and the CLI's refusals.
Nothing here touches the network (the live module does)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drkit.cli import main
from drkit.policy.catalog import PolicySet
from drkit.sandbox.binaries import find_binaries
from drkit.sandbox.configs import haproxy_cfg, mirror_programs, supervisord_conf, write_etcd_configs
from drkit.sandbox.inventory import inventory
from drkit.sandbox.network import LabNetwork, NetworkError, NetworkState, choose_mode
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LAB_NET, LabPlan, plan_lab
from tests.sandbox.conftest import local_spec

MAX_IFNAME = 15  # IFNAMSIZ - 1


def ns_plan(policies: PolicySet, state_dir: Path, base_port: int = 30000) -> LabPlan:
    return plan_lab("local", local_spec(policies), base_port, "namespaces", state_dir)


def test_each_region_gets_its_own_namespace_veth_pair_and_a_30(policies: PolicySet, tmp_path: Path) -> None:
    plan = ns_plan(policies, tmp_path / "local")
    assert plan.network == "namespaces"
    links = [region.link for region in plan.regions]
    assert all(link is not None for link in links)
    for region in plan.regions:
        link = region.link
        assert link is not None
        assert len(link.root_veth) <= MAX_IFNAME and len(link.ns_veth) <= MAX_IFNAME
        assert link.root_veth != link.ns_veth
        assert region.name in link.namespace and link.namespace.startswith("drkit-")
        network = ipaddress.IPv4Network(f"{link.root_address}/30", strict=False)
        assert network.subnet_of(LAB_NET)  # RFC 2544 range only
        assert (int(ipaddress.IPv4Address(link.root_address)) - int(network.network_address)) == 1
        assert link.ns_address == str(network.network_address + 2)
        # Every member of the region listens on the namespace side, on its usual ports.
        assert {member.host for member in region.members} == {link.ns_address}
        assert region.members[0].client_url == f"http://{link.ns_address}:{region.members[0].client_port}"
    assert len({link.namespace for link in links if link}) == len({link.ns_address for link in links if link}) == 2


def test_two_labs_never_share_names_or_addresses(policies: PolicySet, tmp_path: Path) -> None:
    # Two labs running at once hold disjoint port blocks (their endpoints would collide otherwise).
    one = ns_plan(policies, tmp_path / "one" / "local", 30000)
    two = ns_plan(policies, tmp_path / "two" / "local", 30014)
    names = [
        name
        for plan in (one, two)
        for region in plan.regions
        if region.link
        for name in (region.link.namespace, region.link.root_veth, region.link.ns_veth)
    ]
    assert len(names) == len(set(names))
    blocks = [
        ipaddress.IPv4Network(f"{region.link.root_address}/30", strict=False)
        for plan in (one, two)
        for region in plan.regions
        if region.link
    ]
    assert not any(a.overlaps(b) for index, a in enumerate(blocks) for b in blocks[index + 1 :])


def test_the_same_state_dir_gives_the_same_names(policies: PolicySet, tmp_path: Path) -> None:
    assert ns_plan(policies, tmp_path / "local") == ns_plan(policies, tmp_path / "local")


def test_a_namespaces_plan_round_trips_through_lab_json(policies: PolicySet, tmp_path: Path) -> None:
    plan = ns_plan(policies, tmp_path / "local")
    assert LabPlan.from_json(plan.to_json()) == plan


def test_a_lab_json_from_before_network_modes_loads_as_loopback(policies: PolicySet) -> None:
    data = json.loads(plan_lab("local", local_spec(policies), 30000).to_json())
    del data["network"]
    for region in data["regions"]:
        del region["link"]
        for member in region["members"]:
            del member["host"]
    old = LabPlan.from_json(json.dumps(data))
    assert old.network == "loopback" and old.regions[0].link is None
    assert old.members[0].client_url == "http://127.0.0.1:30000"
    assert old.loopback_ports() == old.ports()


def test_a_namespaces_lab_needs_its_state_dir(policies: PolicySet) -> None:
    with pytest.raises(ValueError, match="state dir"):
        plan_lab("local", local_spec(policies), 30000, "namespaces")
    with pytest.raises(ValueError, match="network must be one of"):
        plan_lab("local", local_spec(policies), 30000, "bridges")


def test_only_the_endpoint_rsync_and_s3_bind_loopback_in_namespaces_mode(policies: PolicySet, tmp_path: Path) -> None:
    plan = ns_plan(policies, tmp_path / "local")
    assert plan.loopback_ports() == [
        (30012, "HAProxy global endpoint"),
        (30013, "rsync daemon"),
        (30014, "S3 endpoint (moto server)"),
        (30015, "witness (etcd client port)"),
        (30016, "witness (etcd peer port)"),
    ]


def test_configs_put_members_in_their_namespace_and_the_rest_in_root(policies: PolicySet, tmp_path: Path) -> None:
    plan = ns_plan(policies, tmp_path / "local")
    paths = LabPaths(tmp_path / "local")
    east, west = (region.link for region in plan.regions)
    assert east and west
    config = supervisord_conf(plan, find_binaries("3.4.23"), paths)
    member = config.split("[program:etcd-lab-east-1]")[1].split("[program:")[0]
    assert f"ip netns exec {east.namespace} {paths.member_bin('lab-east-1') / 'etcd'} --config-file" in member
    for program in ("haproxy", "rsyncd", "mirror-lab-west"):
        section = config.split(f"[program:{program}]")[1].split("[program:")[0]
        assert "netns" not in section
    (mirror,) = mirror_programs(plan, find_binaries("3.4.23")).values()
    assert mirror[-1] == f"http://{west.ns_address}:30006"
    cfg = haproxy_cfg(plan, paths, {"lab-east"})
    assert f"server lab-east-1 {east.ns_address}:30000 check\n" in cfg
    assert f"server lab-west-1 {west.ns_address}:30006 check disabled\n" in cfg
    assert "bind 127.0.0.1:30012" in cfg
    write_etcd_configs(plan, paths)
    etcd = paths.etcd_config("lab-east-2").read_text()
    assert f"listen-peer-urls: http://{east.ns_address}:30003" in etcd
    assert f"lab-east-1=http://{east.ns_address}:30001" in etcd
    host = inventory(plan, paths)["all"]["children"]["registry"]["children"]["region_lab_west"]["hosts"]["lab-west-1"]
    assert host["drkit_client_url"] == f"http://{west.ns_address}:30006"


def test_network_state_round_trips_and_defaults_to_nothing_cut(policies: PolicySet, tmp_path: Path) -> None:
    state = NetworkState(frozenset({"lab-east"}), frozenset({"lab-west"}))
    assert json.loads(state.to_json()) == {"partitioned": ["lab-east"], "fenced": ["lab-west"], "witnessKept": []}
    assert NetworkState.from_json(state.to_json()) == state
    network = LabNetwork(ns_plan(policies, tmp_path), LabPaths(tmp_path))
    assert network.saved() == NetworkState()


def test_a_loopback_lab_has_no_partitions(policies: PolicySet, tmp_path: Path) -> None:
    network = LabNetwork(plan_lab("local", local_spec(policies), 30000), LabPaths(tmp_path))
    network.create()  # nothing to build
    network.destroy()
    assert network.state() == {"mode": "loopback", "partitioned": [], "fenced": [], "regions": {}}
    with pytest.raises(NetworkError, match="runs on loopback") as refused:
        network.partition("lab-east")
    assert refused.value.exit_code == 2
    with pytest.raises(NetworkError, match=r"no region mars in the lab \(regions: lab-east, lab-west\)"):
        network.fence_client_port("mars")


def test_choose_mode_keeps_explicit_choices() -> None:
    assert choose_mode("loopback") == "loopback"
    assert choose_mode("auto") in ("loopback", "namespaces")


def test_cli_partition_on_a_loopback_lab_says_how_to_get_namespaces(policies: PolicySet, tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text(plan_lab("local", local_spec(policies), 30000).to_json())
    runner = CliRunner()
    result = runner.invoke(main, ["sandbox", "partition", "lab-east", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    (line,) = result.output.strip().splitlines()
    assert "runs on loopback" in line and "down --purge" in line and "up --network namespaces" in line
    result = runner.invoke(main, ["sandbox", "heal", "mars", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no region mars in the lab (regions: lab-east, lab-west)" in result.output
