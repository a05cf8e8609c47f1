"""The witness under Pulumi mocks: where its members run, who may reach them, what they keep encrypted, and
the stack outputs the guards are pointed at."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from drkit.policy.catalog import PolicySet
from drkit.policy.resources import evaluate_resources
from drkit.provision import offline
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec
from tests.provision.conftest import INGRESS, INSTANCE, VOLUME, PlanFor, members

CLUSTER = {"recovery": {"witness": {"placement": "cluster", "regions": ["us-east-2", "eu-west-1", "ca-central-1"]}}}
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@pytest.fixture(scope="module")
def cluster_plan(stack_spec: Callable[..., Spec]) -> Plan:
    return offline.run_offline(stack_spec("prod", CLUSTER), "prod")


def witnesses(plan: Plan) -> list[PlannedResource]:
    return sorted((i for i in plan.of_type(INSTANCE) if i.tags.get("drkit:role") == "witness"), key=lambda i: i.name)


def etcd_env(instance: PlannedResource) -> dict[str, str]:
    files = yaml.safe_load(instance.props["userData"])["write_files"]
    env = next(f["content"] for f in files if f["path"] == "/etc/drkit/etcd.env")
    return dict(line.split("=", 1) for line in env.splitlines())


def test_prod_has_one_witness_member_in_its_third_region(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    (witness,) = witnesses(plan)
    assert witness.region == "us-east-2" and witness.name == "witness-us-east-2"
    assert witness.region not in {m.region for m in members(plan)}
    env = etcd_env(witness)
    assert env["ETCD_INITIAL_CLUSTER"] == "witness-us-east-2=https://10.39.0.10:2380"  # a cluster of one
    assert env["ETCD_CLIENT_CERT_AUTH"] == "true" and env["ETCD_CERT_FILE"].startswith("/etc/etcd/pki/")
    assert "drkit-heartbeat" not in witness.props["userData"]  # the witness holds no registry data


def test_the_witness_boots_like_a_member_through_the_release_link(plan_for: PlanFor) -> None:
    (witness,) = witnesses(plan_for("prod"))
    boot = yaml.safe_load(witness.props["userData"])
    commands = boot["runcmd"]
    assert commands[1][:3] == ["/usr/local/sbin/drkit-install-etcd", "3.5.17", "amd64"]
    assert any(command[:1] == ["/usr/local/sbin/drkit-fetch-tls"] for command in commands)
    unit = next(f["content"] for f in boot["write_files"] if f["path"] == "/etc/systemd/system/etcd.service")
    assert "ExecStart=/opt/etcd/current/etcd" in unit


def test_placement_cluster_is_one_three_member_etcd_cluster(cluster_plan: Plan) -> None:
    found = witnesses(cluster_plan)
    assert [w.region for w in found] == ["ca-central-1", "eu-west-1", "us-east-2"]
    clusters = {etcd_env(w)["ETCD_INITIAL_CLUSTER"] for w in found}
    assert len(clusters) == 1  # every member names the same three peers
    (peers,) = clusters
    assert sorted(peer.split("=")[0] for peer in peers.split(",")) == [w.name for w in found]
    assert {etcd_env(w)["ETCD_INITIAL_CLUSTER_TOKEN"] for w in found} == {"drkit-prod-witness"}
    # Each witness VPC is peered with both registry VPCs and with the two other witness VPCs.
    peerings = [p for p in cluster_plan.of_type(PEERING) if p.name.startswith("witness-")]
    assert len(peerings) == 3 * 2 + 3


def test_witness_ports_open_only_to_the_registry_regions_and_each_other(cluster_plan: Plan) -> None:
    rules = [r for r in cluster_plan.of_type(INGRESS) if r.name.startswith("witness-")]
    assert rules
    assert all(r.props["cidrIpv4"] not in ("0.0.0.0/0", None) for r in rules)
    client = sorted(r.props["cidrIpv4"] for r in rules if r.props["fromPort"] == 2379)
    assert client == ["10.40.0.0/16"] * 3 + ["10.41.0.0/16"] * 3  # primary's and standby's VPC, at each member
    peer = sorted(r.props["cidrIpv4"] for r in rules if r.props["fromPort"] == 2380)
    assert peer == sorted(["10.39.0.0/20", "10.39.16.0/20", "10.39.32.0/20"] * 2)  # only the other witnesses
    # The members (where the guards run) may reach the witness's client port and nothing else there.
    to_witness = [r for r in cluster_plan.of_type(EGRESS) if "-members-to-witness-" in r.name]
    assert {(r.props["fromPort"], r.props["toPort"]) for r in to_witness} == {(2379, 2379)}
    assert len(to_witness) == 2 * 3


def test_witness_data_and_root_volumes_are_encrypted(cluster_plan: Plan) -> None:
    volumes = [v for v in cluster_plan.of_type(VOLUME) if v.name.startswith("witness-")]
    assert len(volumes) == 3
    assert all(v.props["encrypted"] is True and v.props["kmsKeyId"] for v in volumes)
    assert all(w.props["rootBlockDevice"]["encrypted"] is True for w in witnesses(cluster_plan))


def test_every_resource_rule_passes_with_a_witness_cluster(
    cluster_plan: Plan, stack_spec: Any, policies: PolicySet
) -> None:
    results, _ = evaluate_resources(policies, stack_spec("prod", CLUSTER), cluster_plan.resources)
    assert all(r.status == "pass" for r in results), [(r.rule.id, r.findings) for r in results if r.status != "pass"]


def test_outputs_name_the_witness_endpoints(plan_for: PlanFor, cluster_plan: Plan) -> None:
    assert plan_for("prod").outputs["witnessEndpoints"] == {"us-east-2": "https://10.39.0.10:2379"}
    assert cluster_plan.outputs["witnessEndpoints"] == {
        "us-east-2": "https://10.39.0.10:2379",
        "eu-west-1": "https://10.39.16.10:2379",
        "ca-central-1": "https://10.39.32.10:2379",
    }
    # Stacks without a cloud witness export an empty map, so tools read one shape.
    assert plan_for("staging").outputs["witnessEndpoints"] == {}


def test_prod_members_run_guards_pointed_at_the_witness_the_stack_builds(plan_for: PlanFor) -> None:
    """Automatic promotion on AWS: every member's cloud-init writes the guards' env with the witness's URL,
    the same one the witnessEndpoints output names, and the spec's lease timing."""
    plan = plan_for("prod")
    (url,) = plan.outputs["witnessEndpoints"].values()
    members = [r for r in plan.of_type("aws:ec2/instance:Instance") if r.tags.get("drkit:role") == "member"]
    assert members
    for member in members:
        user_data = member.props["userData"]
        assert "/etc/drkit/guard.env" in user_data and f"DRKIT_WITNESS={url}" in user_data, member.name
        assert "DRKIT_GUARD_TTL=30" in user_data and "DRKIT_GUARD_LOOP_WAIT=10" in user_data  # the spec's timing


def test_a_manual_promotion_stack_runs_no_guards(plan_for: PlanFor) -> None:
    members = [
        r for r in plan_for("staging").of_type("aws:ec2/instance:Instance") if r.tags.get("drkit:role") == "member"
    ]
    assert members and all("/etc/drkit/guard.env" not in r.props["userData"] for r in members)


def test_only_members_of_an_automatic_stack_may_promote_and_only_within_their_stack(plan_for: PlanFor) -> None:
    def member_policies(stack: str) -> list[dict[str, Any]]:
        policies = [r for r in plan_for(stack).of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-member")]
        assert policies
        return [json.loads(r.props["policy"]) for r in policies]

    for document in member_policies("prod"):
        stop = [st for st in document["Statement"] if "ec2:StopInstances" in st["Action"]]
        assert stop and stop[0]["Condition"] == {"StringEquals": {"aws:ResourceTag/drkit:stack": "prod"}}
        params = [st for st in document["Statement"] if "ssm:PutParameter" in st["Action"]]
        assert params[0]["Resource"] == "arn:aws:ssm:*:*:parameter/drkit/prod/*"
    for document in member_policies("staging"):  # manual promotion: a human promotes, members cannot
        assert not [st for st in document["Statement"] if "ec2:StopInstances" in st["Action"]]


def test_witness_replacement_frees_its_fixed_address_first(cluster_plan: Plan) -> None:
    for witness in witnesses(cluster_plan):
        assert witness.props["privateIp"]
        assert witness.options["deleteBeforeReplace"] is True
