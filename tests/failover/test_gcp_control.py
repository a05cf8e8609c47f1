"""GcpControlPlane against an in-memory Compute Engine (no network): fencing by a deny firewall rule, members
stopped and started by their labels, refused calls as failed actions; RestCompute's requests; and the mixed
plane routing each region to its cloud and set_serving to Route 53's plane."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from drkit.failover.control import ControlPlaneError, FenceAction
from drkit.failover.gcp import FENCE_PRIORITY, GcpControlPlane, MixedControlPlane, fence_rule_name
from drkit.failover.gcp_api import COMPUTE_API, GcpApiError, RestCompute

PROJECT = "drkit-test"


def member(name: str, zone: str, region: str = "us-central1", stack: str = "hybrid", status: str = "RUNNING") -> dict:
    labels = {"drkit-stack": stack, "drkit-region": region, "drkit-role": "member"}
    return {"name": name, "zone": zone, "status": status, "labels": labels}


class FakeCompute:
    """Instances and firewall rules as state; list_instances filters by labels as the API's filter does."""

    def __init__(self, instances: list[dict[str, Any]], firewalls: dict[str, dict[str, Any]] | None = None) -> None:
        self.instances = {i["name"]: i for i in instances}
        self.firewalls = dict(firewalls or {})
        self.fail: str | None = None
        self.calls: list[tuple[str, ...]] = []

    def _maybe_fail(self, call: str) -> None:
        self.calls.append((call,))
        if self.fail == call:
            raise GcpApiError(f"{call}: HTTP 403 Required 'compute.firewalls.create' permission")

    def list_instances(self, project: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        self._maybe_fail("list")
        assert project == PROJECT
        return [
            copy.deepcopy(i) for i in self.instances.values() if all(i["labels"].get(k) == v for k, v in labels.items())
        ]

    def set_instance_running(self, project: str, zone: str, name: str, running: bool) -> None:
        self._maybe_fail("set")
        assert self.instances[name]["zone"] == zone
        self.instances[name]["status"] = "RUNNING" if running else "STOPPED"

    def get_firewall(self, project: str, name: str) -> dict[str, Any] | None:
        self._maybe_fail("get")
        return copy.deepcopy(self.firewalls.get(name))

    def insert_firewall(self, project: str, body: Mapping[str, Any]) -> None:
        self._maybe_fail("insert")
        assert body["name"] not in self.firewalls, "inserted twice"
        self.firewalls[str(body["name"])] = dict(body)

    def delete_firewall(self, project: str, name: str) -> None:
        self._maybe_fail("delete")
        self.firewalls.pop(name, None)

    metadata: dict[str, str]
    fingerprint = "f0"

    def get_metadata(self, project: str) -> tuple[dict[str, str], str]:
        self._maybe_fail("metadata")
        return dict(getattr(self, "metadata", {})), self.fingerprint

    def set_metadata(self, project: str, items: Mapping[str, str], fingerprint: str) -> None:
        self._maybe_fail("set-metadata")
        assert fingerprint == self.fingerprint, "a stale fingerprint: GCP answers 412"
        self.metadata, self.fingerprint = dict(items), self.fingerprint + "+"


ALLOW = {
    "name": "drkit-hybrid-us-central1-client",
    "allowed": [{"IPProtocol": "tcp", "ports": ["2379"]}],
    "priority": 1000,
}


@pytest.fixture
def world() -> FakeCompute:
    return FakeCompute(
        [
            member("drkit-hybrid-us-central1-1", "us-central1-a"),
            member("drkit-hybrid-us-central1-2", "us-central1-b"),
            member("drkit-hybrid-us-central1-3", "us-central1-c"),
            member("other-stack-1", "us-central1-a", stack="prod"),
            member("drkit-hybrid-us-east1-1", "us-east1-b", region="us-east1"),
        ],
        {ALLOW["name"]: ALLOW},
    )


def plane(compute: FakeCompute) -> GcpControlPlane:
    return GcpControlPlane("hybrid", PROJECT, ("us-central1", "us-east1"), 2379, compute)


def test_stop_members_stops_exactly_the_regions_members_and_a_rerun_says_so(world: FakeCompute) -> None:
    action = plane(world).stop_members("us-central1")
    assert action.ok and action.method == "stop-members"
    status = {name: i["status"] for name, i in world.instances.items()}
    assert status == {
        "drkit-hybrid-us-central1-1": "STOPPED",
        "drkit-hybrid-us-central1-2": "STOPPED",
        "drkit-hybrid-us-central1-3": "STOPPED",
        "other-stack-1": "RUNNING",
        "drkit-hybrid-us-east1-1": "RUNNING",
    }
    again = plane(world).stop_members("us-central1")
    assert again.ok and again.detail.count("already stopped") == 3
    assert plane(world).start_members("us-central1").ok
    assert world.instances["drkit-hybrid-us-central1-2"]["status"] == "RUNNING"


def test_cut_inserts_one_deny_rule_above_the_allow_rules_and_restore_deletes_only_it(world: FakeCompute) -> None:
    cut = plane(world).cut_client_port("us-central1")
    name = fence_rule_name("hybrid", "us-central1")
    assert cut.ok and name in cut.detail
    rule = world.firewalls[name]
    assert rule["denied"] == [{"IPProtocol": "tcp", "ports": ["2379"]}] and rule["priority"] == FENCE_PRIORITY
    assert rule["priority"] < ALLOW["priority"] and rule["direction"] == "INGRESS"
    assert rule["targetTags"] == ["drkit-hybrid-member"]
    assert rule["network"] == f"projects/{PROJECT}/global/networks/drkit-hybrid-us-central1"
    assert world.firewalls[ALLOW["name"]] == ALLOW  # the allow rules are never touched
    rerun = plane(world).cut_client_port("us-central1")
    assert rerun.ok and "already cut" in rerun.detail and len(world.firewalls) == 2
    # A restore from another process (a new plane, nothing in memory) finds the rule by its name.
    restored = plane(world).restore_client_port("us-central1")
    assert restored.ok and set(world.firewalls) == {ALLOW["name"]}
    assert "nothing cut" in plane(world).restore_client_port("us-central1").detail


@pytest.mark.parametrize(("call", "method"), [("insert", "cut_client_port"), ("list", "stop_members")])
def test_a_refused_or_unreachable_api_is_a_failed_action_not_an_exception(
    world: FakeCompute, call: str, method: str
) -> None:
    world.fail = call
    action: FenceAction = getattr(plane(world), method)("us-central1")
    assert not action.ok and action.detail.startswith("GCP error:") and "HTTP 403" in action.detail


def test_a_region_without_members_fails_and_an_unknown_region_is_refused(world: FakeCompute) -> None:
    empty = GcpControlPlane("nobody", PROJECT, ("us-central1",), 2379, world)
    assert not empty.stop_members("us-central1").ok
    with pytest.raises(ControlPlaneError, match="no GCP region 'us-west-2'"):
        plane(world).stop_members("us-west-2")


def test_what_the_gcp_plane_does_not_do_says_who_does(world: FakeCompute) -> None:
    serving = plane(world).set_serving("us-central1", True)
    assert not serving.ok and "Route 53" in serving.detail
    assert not plane(world).stop_mirror("us-central1").ok


class Recording:
    """A ControlPlane that records what it was asked."""

    def __init__(self, name: str) -> None:
        self.name, self.asked = name, []  # type: ignore[var-annotated]

    def __getattr__(self, method: str) -> Any:
        def act(*args: Any) -> FenceAction:
            self.asked.append((method, *args))
            return FenceAction(method, str(args[-1] if method != "set_serving" else args[0]), True, self.name)

        return act


def test_the_mixed_plane_routes_each_region_to_its_cloud_and_the_endpoint_to_route53() -> None:
    aws, gcp = Recording("aws"), Recording("gcp")
    mixed = MixedControlPlane({"us-east-1": aws, "us-central1": gcp}, endpoint=aws)  # type: ignore[dict-item]
    assert mixed.stop_members("us-central1").detail == "gcp"
    assert mixed.cut_client_port("us-east-1").detail == "aws"
    assert mixed.set_serving("us-central1", True).detail == "aws"  # Route 53 serves the GCP region too
    assert gcp.asked == [("stop_members", "us-central1")]
    assert aws.asked == [("cut_client_port", "us-east-1"), ("set_serving", "us-central1", True)]
    with pytest.raises(ControlPlaneError):
        mixed.stop_members("eu-west-1")


def test_rest_compute_sends_the_documented_requests_without_a_network() -> None:
    sent: list[tuple[str, str, Any]] = []
    answers: list[tuple[int, Any]] = [
        (
            200,
            {
                "items": {"zones/us-central1-a": {"instances": [{"name": "m1", "zone": ".../zones/us-central1-a"}]}},
                "nextPageToken": "p2",
            },
        ),
        (200, {"items": {"zones/us-central1-b": {"instances": [{"name": "m2", "zone": ".../zones/us-central1-b"}]}}}),
        (200, {}),
        (404, {"error": {"message": "not found"}}),
        (403, {"error": {"message": "Required 'compute.firewalls.create' permission"}}),
    ]

    def send(method: str, url: str, body: Any) -> tuple[int, Any]:
        sent.append((method, url, body))
        return answers.pop(0)

    api = RestCompute(lambda: "token", send)
    found = api.list_instances(PROJECT, {"drkit-stack": "hybrid", "drkit-role": "member"})
    assert [(i["name"], i["zone"]) for i in found] == [("m1", "us-central1-a"), ("m2", "us-central1-b")]
    assert sent[0][1] == (
        f"{COMPUTE_API}/projects/{PROJECT}/aggregated/instances?filter=labels.drkit-role%3Dmember%20AND%20labels.drkit-stack%3Dhybrid"
    )
    assert sent[1][1].endswith("&pageToken=p2")
    api.set_instance_running(PROJECT, "us-central1-a", "m1", False)
    assert sent[2][:2] == ("POST", f"{COMPUTE_API}/projects/{PROJECT}/zones/us-central1-a/instances/m1/stop")
    assert api.get_firewall(PROJECT, "absent") is None
    with pytest.raises(GcpApiError, match="HTTP 403 Required"):
        api.insert_firewall(PROJECT, {"name": "x"})
    assert sent[-1] == ("POST", f"{COMPUTE_API}/projects/{PROJECT}/global/firewalls", {"name": "x"})


def test_the_cli_asks_for_the_inventory_of_a_mixed_stack_too() -> None:
    from click.testing import CliRunner

    from drkit.cli import main

    result = CliRunner().invoke(main, ["failover", "--stack", "hybrid", "--to", "us-central1"])
    assert result.exit_code == 2
    assert "pass --inventory FILE" in result.output and "Traceback" not in result.output
