"""AwsControlPlane against moto's EC2, Route 53, SSM and ELBv2, and Global Accelerator behind a Stubber.

moto keeps API state and does not act on it: instances stop, rules are revoked, health-check settings are
stored, commands are recorded. So every assertion reads the state back through the API, as a later process
would; what moto cannot show (Route 53's answers, a command actually running) is said where it matters.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from drkit.failover.aws import AwsControlPlane
from drkit.failover.aws_ingress import FENCED_INGRESS
from drkit.failover.control import ControlPlaneError
from tests.failover.aws_world import CLIENT_PORT, METRICS_PORT, PEER_PORT, PRIMARY, STACK, STANDBY, World


def _states(region: str, instance_ids: list[str]) -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=region)
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}


def _ingress(region: str, group: str) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=region)
    return list(ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"])


def _group_tags(region: str, group: str) -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=region)
    found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0].get("Tags", [])
    return {tag["Key"]: tag["Value"] for tag in found}


def _pairs(permissions: list[dict[str, Any]], port: int) -> set[tuple[str, str]]:
    """(source group, description) of each rule on `port`."""
    return {
        (pair["GroupId"], pair.get("Description", ""))
        for permission in permissions
        if permission.get("FromPort") == port
        for pair in permission["UserIdGroupPairs"]
    }


def _control(check_id: str) -> dict[str, Any]:
    route53 = boto3.client("route53", region_name=PRIMARY)
    return dict(route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"])


# Members ---------------------------------------------------------------------------------------------------


def test_stop_members_stops_exactly_the_regions_members(world: World) -> None:
    action = world.plane().stop_members(PRIMARY)

    primary, standby = world.regions[PRIMARY], world.regions[STANDBY]
    assert action.ok and action.method == "stop-members" and action.target == PRIMARY
    assert set(_states(PRIMARY, primary.members).values()) <= {"stopping", "stopped"}
    assert all(instance in action.detail for instance in primary.members)
    # Not the other region's members, not an untagged instance or another stack's member in the same group.
    assert set(_states(STANDBY, standby.members).values()) == {"running"}
    assert set(_states(PRIMARY, primary.bystanders).values()) == {"running"}
    assert not any(instance in action.detail for instance in primary.bystanders)


def test_stop_members_again_is_ok_and_changes_nothing(world: World) -> None:
    world.plane().stop_members(PRIMARY)
    again = world.plane().stop_members(PRIMARY)
    assert again.ok and again.detail.startswith("already stopped")


def test_start_members_starts_them_again(world: World) -> None:
    plane = world.plane()
    plane.stop_members(STANDBY)
    action = plane.start_members(STANDBY)
    assert action.ok and action.method == "start-members"
    assert set(_states(STANDBY, world.regions[STANDBY].members).values()) <= {"pending", "running"}


def test_no_members_found_is_a_failed_action_not_a_success(world: World) -> None:
    plane = world.plane()
    plane.stack = "nonexistent"
    action = plane.stop_members(PRIMARY)
    assert not action.ok and "no member instances" in action.detail


def test_a_refused_api_call_becomes_a_failed_action(world: World) -> None:
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    stubber = Stubber(ec2)
    stubber.add_client_error("describe_instances", "UnauthorizedOperation", "not allowed to describe instances")
    with stubber:
        plane = world.plane(clients=lambda service, region: ec2)
        action = plane.stop_members(PRIMARY)
    assert not action.ok
    assert "UnauthorizedOperation" in action.detail and "not allowed" in action.detail


def test_an_unreachable_region_api_becomes_a_failed_action(world: World) -> None:
    """A closed port on loopback stands in for a region whose API cannot be reached."""
    config = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)

    def unreachable(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url="http://127.0.0.1:9", config=config)

    plane = world.plane(clients=unreachable)
    for action in (plane.stop_members(PRIMARY), plane.cut_client_port(PRIMARY), plane.set_serving(PRIMARY, False)):
        assert not action.ok and "AWS error" in action.detail and "127.0.0.1:9" in action.detail


def test_a_region_the_stack_does_not_have_is_refused(world: World) -> None:
    with pytest.raises(ControlPlaneError, match="eu-west-1"):
        world.plane().stop_members("eu-west-1")


# Client port -----------------------------------------------------------------------------------------------


def test_cut_client_port_revokes_only_the_client_port_rules_and_records_them(world: World) -> None:
    region = world.regions[PRIMARY]
    before = _ingress(PRIMARY, region.members_sg)

    action = world.plane().cut_client_port(PRIMARY)

    after = _ingress(PRIMARY, region.members_sg)
    assert action.ok and action.method == "cut-client-port"
    assert _pairs(after, CLIENT_PORT) == set()
    assert _pairs(after, PEER_PORT) == _pairs(before, PEER_PORT) == {(region.members_sg, "raft between members")}
    assert _pairs(after, METRICS_PORT) == _pairs(before, METRICS_PORT)
    assert region.lb_sg in action.detail and f"tcp {CLIENT_PORT}" in action.detail
    record = json.loads(
        "".join(v for k, v in sorted(_group_tags(PRIMARY, region.members_sg).items()) if k.startswith(FENCED_INGRESS))
    )
    assert {(p["GroupId"], p["Description"]) for r in record for p in r["UserIdGroupPairs"]} == _pairs(
        before, CLIENT_PORT
    )
    # The standby's group is untouched.
    assert _pairs(_ingress(STANDBY, world.regions[STANDBY].members_sg), CLIENT_PORT)


def test_cut_client_port_again_is_already_cut(world: World) -> None:
    world.plane().cut_client_port(PRIMARY)
    tags_after_first = _group_tags(PRIMARY, world.regions[PRIMARY].members_sg)

    again = world.plane().cut_client_port(PRIMARY)

    assert again.ok and "already cut" in again.detail
    assert _group_tags(PRIMARY, world.regions[PRIMARY].members_sg) == tags_after_first  # the record is kept


def test_restore_client_port_in_a_new_process_puts_back_exactly_what_was_revoked(world: World) -> None:
    region = world.regions[PRIMARY]
    before = _ingress(PRIMARY, region.members_sg)
    world.plane().cut_client_port(PRIMARY)

    action = world.plane().restore_client_port(PRIMARY)  # a second process: it knows only the tags

    assert action.ok and action.method == "restore-client-port" and "restored" in action.detail
    after = _ingress(PRIMARY, region.members_sg)
    for port in (CLIENT_PORT, PEER_PORT, METRICS_PORT):
        assert _pairs(after, port) == _pairs(before, port)
    assert not any(key.startswith(FENCED_INGRESS) for key in _group_tags(PRIMARY, region.members_sg))
    again = world.plane().restore_client_port(PRIMARY)
    assert again.ok and "nothing recorded" in again.detail
    assert _pairs(_ingress(PRIMARY, region.members_sg), CLIENT_PORT) == _pairs(before, CLIENT_PORT)


def test_restore_after_a_rule_came_back_does_not_fail(world: World) -> None:
    """`pulumi up --refresh` re-creates a revoked rule: restoring must take the duplicate in its stride."""
    region = world.regions[PRIMARY]
    world.plane().cut_client_port(PRIMARY)
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    pair = {"GroupId": region.lb_sg, "Description": "clients through the NLB"}
    ec2.authorize_security_group_ingress(
        GroupId=region.members_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": CLIENT_PORT, "ToPort": CLIENT_PORT, "UserIdGroupPairs": [pair]}
        ],
    )
    action = world.plane().restore_client_port(PRIMARY)
    assert action.ok
    assert (region.members_sg, "etcdctl between members") in _pairs(_ingress(PRIMARY, region.members_sg), CLIENT_PORT)


# Endpoint --------------------------------------------------------------------------------------------------


def _records(world: World) -> list[dict[str, Any]]:
    route53 = boto3.client("route53", region_name=PRIMARY)
    return list(route53.list_resource_record_sets(HostedZoneId=world.zone_id)["ResourceRecordSets"])


def test_set_serving_flips_the_control_checks_and_nothing_else(world: World) -> None:
    primary, standby = world.regions[PRIMARY], world.regions[STANDBY]
    records = _records(world)
    assert _control(standby.control_check)["Inverted"] is True  # the standby starts out of rotation

    out = world.plane().set_serving(PRIMARY, False)
    into = world.plane().set_serving(STANDBY, True)

    assert out.ok and out.method == "endpoint-out" and primary.control_check in out.detail
    assert into.ok and into.method == "endpoint-in" and standby.control_check in into.detail
    # A new process reads the same state: the switch lives in Route 53, not in the process that made it.
    assert _control(primary.control_check)["Inverted"] is True
    assert _control(standby.control_check)["Inverted"] is False
    assert _control(standby.control_check)["Disabled"] is True
    assert _records(world) == records  # the failover records are never edited


def test_set_serving_again_is_already_and_leaves_other_stacks_alone(world: World) -> None:
    world.plane().set_serving(STANDBY, True)
    again = world.plane().set_serving(STANDBY, True)
    assert again.ok and "already serving" in again.detail
    route53 = boto3.client("route53", region_name=PRIMARY)
    others = [c for c in route53.list_health_checks()["HealthChecks"] if c["CallerReference"] == "staging-control"]
    assert others[0]["HealthCheckConfig"]["Inverted"] is False


def test_a_control_check_that_is_not_disabled_is_reported(world: World) -> None:
    """Without Disabled, Route 53's own evaluation would decide, not drkit: say so instead of claiming success."""
    check = world.regions[STANDBY].control_check
    boto3.client("route53", region_name=PRIMARY).update_health_check(HealthCheckId=check, Disabled=False)
    action = world.plane().set_serving(STANDBY, True)
    assert not action.ok and "not Disabled" in action.detail


def test_no_global_endpoint_cannot_take_a_region_out(world: World) -> None:
    action = world.plane(endpoint_type="none").set_serving(PRIMARY, False)
    assert not action.ok and "no global endpoint" in action.detail


# Mirror ----------------------------------------------------------------------------------------------------


def _command(region: str, command_id: str) -> dict[str, Any]:
    return dict(boto3.client("ssm", region_name=region).list_commands(CommandId=command_id)["Commands"][0])


def _capturing_session(sent: list[dict[str, Any]]) -> boto3.session.Session:
    """A session whose SSM clients report each send_command's parameters as sent: moto adds every instance of
    the region to a command sent without Targets, so its record cannot show which instances were asked."""
    session = boto3.session.Session()
    session.events.register("provide-client-params.ssm.SendCommand", lambda params, **_: sent.append(dict(params)))
    return session


def test_stop_mirror_sends_the_stop_to_the_standbys_mirror_instances(world: World) -> None:
    sent: list[dict[str, Any]] = []
    action = world.plane(clients=_capturing_session(sent)).stop_mirror(STANDBY)

    assert action.ok and action.method == "stop-mirror" and action.target == STANDBY
    mirrors = world.regions[STANDBY].mirrors
    assert [call["InstanceIds"] for call in sent] == [mirrors]
    assert f"{mirrors[0]} Success" in action.detail
    command_id = action.detail.split("SSM command ")[1].split(":")[0]
    command = _command(STANDBY, command_id)  # recorded by SSM in the standby's region
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert command["Parameters"]["commands"] == ["set -eu", "systemctl disable --now drkit-mirror@0.service"]


def test_start_mirror_points_the_units_at_the_source_then_starts_them(world: World) -> None:
    action = world.plane().start_mirror(PRIMARY, STANDBY)

    assert action.ok and action.method == "start-mirror"
    command_id = action.detail.split("SSM command ")[1].split(":")[0]
    script = "\n".join(_command(STANDBY, command_id)["Parameters"]["commands"])
    source = f"https://{world.regions[PRIMARY].lb_dns}:{CLIENT_PORT}"
    destination = f"https://{world.regions[STANDBY].lb_dns}:{CLIENT_PORT}"
    assert f"MIRROR_ARGS=--endpoints={source} " in script
    assert script.rstrip().endswith('systemctl "$action" drkit-mirror@0.service')
    assert "make-mirror --dest-cacert=" in script and destination in script
    assert "> /etc/drkit/mirror-0.env.new" in script


def test_a_region_without_a_mirror_instance_is_a_failed_action(world: World) -> None:
    action = world.plane().stop_mirror(PRIMARY)  # the mirror runs in the standby only
    assert not action.ok and "no running mirror instance" in action.detail


# Building it from a spec -----------------------------------------------------------------------------------


def test_from_spec_reads_regions_endpoint_port_and_mirror(policies: Any) -> None:
    from tests.conftest import committed_spec
    from tests.provision.conftest import spec_from

    spec = spec_from(policies, committed_spec("prod"))
    plane = AwsControlPlane.from_spec(STACK, spec, boto3.session.Session(region_name=PRIMARY))
    assert plane.regions == {PRIMARY: PRIMARY, STANDBY: STANDBY}
    assert plane.endpoint_type == "route53-failover"
    assert plane.client_port == spec.registry.client_port
    assert plane.mirror.prefixes == ("",) and plane.mirror.tls is True

    staging = AwsControlPlane.from_spec("staging", spec_from(policies, committed_spec("staging")), None)
    assert staging.endpoint_type == "global-accelerator"


def test_move_data_aside_starts_stopped_members_and_moves_only_the_member_dir(world: World) -> None:
    plane = world.plane()
    assert plane.stop_members(PRIMARY).ok
    action = plane.move_data_aside(PRIMARY)
    assert action.ok, action.detail
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    members = world.regions[PRIMARY].members
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances(InstanceIds=members)["Reservations"]
        for i in r["Instances"]
    }
    assert set(states.values()) <= {"pending", "running"}, states
    ssm = boto3.client("ssm", region_name=PRIMARY)
    sent = [c for c in ssm.list_commands()["Commands"] if "move" in c.get("Comment", "")]
    commands = sent[-1]["Parameters"]["commands"] if sent else []
    assert commands[1] == "systemctl stop etcd.service"
    assert "mv /var/lib/etcd/data/member /var/lib/etcd/data/member.failback-" in commands[2]
    # The region forms a new cluster of every member found: none keeps a joining member's `existing` state.
    described = [i for r in ec2.describe_instances(InstanceIds=members)["Reservations"] for i in r["Instances"]]
    ips = {next(t["Value"] for t in i["Tags"] if t["Key"] == "drkit:member"): i["PrivateIpAddress"] for i in described}
    cluster = ",".join(f"{name}=${{scheme}}://{ip}:${{port}}" for name, ip in sorted(ips.items()))
    assert "ETCD_INITIAL_CLUSTER_STATE=new" in commands[-1] and f"ETCD_INITIAL_CLUSTER={cluster}|" in commands[-1]
