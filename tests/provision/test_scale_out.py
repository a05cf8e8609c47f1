"""Members added to a running stack join its cluster (state existing, after `member add`), never bootstrap one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from drkit.provision import cloud_init, offline
from drkit.provision.errors import ProvisionError
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec
from tests.provision.conftest import members

WAIT_DROP_IN = "/etc/systemd/system/etcd.service.d/wait-for-member-add.conf"
PEER = "https://{ip}:2380"


def user_data(member: PlannedResource) -> dict[str, Any]:
    loaded = yaml.safe_load(member.props["userData"].removeprefix("#cloud-config\n"))
    assert isinstance(loaded, dict)
    return loaded


def files(member: PlannedResource) -> dict[str, str]:
    return {f["path"]: f["content"] for f in user_data(member)["write_files"]}


def etcd_env(member: PlannedResource) -> dict[str, str]:
    return dict(line.split("=", 1) for line in files(member)["/etc/drkit/etcd.env"].splitlines())


def prod(stack_spec: Callable[..., Spec], config: dict[str, Any] | None = None) -> Plan:
    return offline.run_offline(stack_spec("prod"), "prod", config)


def test_first_pulumi_up_bootstraps_every_member_together(stack_spec: Callable[..., Spec]) -> None:
    plan = prod(stack_spec)
    east = members(plan, "us-east-1")
    assert len(east) == 5
    everyone = ",".join(f"{m.name}={PEER.format(ip=m.props['privateIp'])}" for m in east)
    for member in east:
        assert etcd_env(member)["ETCD_INITIAL_CLUSTER_STATE"] == "new"
        assert etcd_env(member)["ETCD_INITIAL_CLUSTER"] == everyone
        assert WAIT_DROP_IN not in files(member)
    # The value to write down as drkit:bootstrapMembers after this first `pulumi up`.
    assert plan.outputs["bootstrapMembers"] == {"us-east-1": 5, "us-west-2": 5}


def test_members_added_to_a_running_stack_join_as_existing_and_wait_for_member_add(
    stack_spec: Callable[..., Spec],
) -> None:
    # prod's us-east-1 first booted with 3 members; the spec now asks for 5.
    plan = prod(stack_spec, {"drkit:bootstrapMembers": {"us-east-1": 3}})
    east = members(plan, "us-east-1")
    peers = [f"{m.name}={PEER.format(ip=m.props['privateIp'])}" for m in east]
    for member in east[:3]:
        assert etcd_env(member)["ETCD_INITIAL_CLUSTER_STATE"] == "new"
        assert etcd_env(member)["ETCD_INITIAL_CLUSTER"] == ",".join(peers[:3])
        assert WAIT_DROP_IN not in files(member)
    for index, member in enumerate(east[3:], start=3):
        env = etcd_env(member)
        assert env["ETCD_INITIAL_CLUSTER_STATE"] == "existing"
        # What `member add` answers when members join one at a time, in order: those before it and itself.
        assert env["ETCD_INITIAL_CLUSTER"] == ",".join(peers[: index + 1])
        # Its etcd does not start at boot: the member playbook writes the marker after `member add`.
        assert f"ConditionPathExists={cloud_init.MEMBER_ADDED_MARKER}" in files(member)[WAIT_DROP_IN]
    # The other region was not named: it still bootstraps as it did.
    assert {etcd_env(m)["ETCD_INITIAL_CLUSTER_STATE"] for m in members(plan, "us-west-2")} == {"new"}


def test_no_added_member_ever_boots_new(stack_spec: Callable[..., Spec]) -> None:
    for bootstrap in (1, 2, 4):
        plan = prod(stack_spec, {"drkit:bootstrapMembers": {"us-east-1": bootstrap}})
        states = [etcd_env(m)["ETCD_INITIAL_CLUSTER_STATE"] for m in members(plan, "us-east-1")]
        assert states == ["new"] * bootstrap + ["existing"] * (5 - bootstrap)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (6, r"drkit:bootstrapMembers\.us-east-1 is 6 but drkit:spec\.regions\[0\]\.members is 5"),
        (0, r"drkit:bootstrapMembers\.us-east-1 must be the number of members"),
        ("three", r"drkit:bootstrapMembers\.us-east-1 must be the number of members"),
    ],
)
def test_bootstrap_members_is_checked(stack_spec: Callable[..., Spec], value: object, error: str) -> None:
    with pytest.raises(ProvisionError, match=error):
        prod(stack_spec, {"drkit:bootstrapMembers": {"us-east-1": value}})


def test_the_inventory_tells_the_member_playbook_where_the_marker_goes(stack_spec: Callable[..., Spec]) -> None:
    plan = prod(stack_spec, {"drkit:bootstrapMembers": {"us-east-1": 3}})
    hosts = plan.outputs["inventory"]["all"]["children"]["registry"]["children"]
    east = next(group["hosts"] for name, group in hosts.items() if "us_east_1" in name)
    assert {host["drkit_member_added_marker"] for host in east.values()} == {cloud_init.MEMBER_ADDED_MARKER}
