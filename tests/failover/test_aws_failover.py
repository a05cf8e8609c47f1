"""The failover engine on AWS, end to end against moto: the AWS control plane really changes EC2, Route 53,
SSM Run Command and Parameter Store state (moto); the etcd side is scripted (no cluster runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from drkit.failover.aws_deployment import ClientTls, CloudInventoryError, aws_deployment, parameter_name
from drkit.failover.engine import Request, carry_out
from tests.conftest import committed_spec
from tests.failover.aws_world import CLIENT_PORT, PRIMARY, STACK, STANDBY, World
from tests.failover.test_engine import ScriptedRegistry
from tests.provision.conftest import spec_from


def _inventory(path: Path, stack: str = STACK) -> Path:
    def hosts(region: str) -> dict[str, Any]:
        return {
            f"{region}-{index}": {"drkit_region": region, "drkit_client_url": f"https://10.0.{index}.1:{CLIENT_PORT}"}
            for index in range(3)
        }

    groups = {f"region_{r.replace('-', '_')}": {"hosts": hosts(r)} for r in (PRIMARY, STANDBY)}
    document = {"all": {"vars": {"drkit_stack": stack}, "children": {"registry": {"children": groups}}}}
    path.write_text(yaml.safe_dump(document))
    return path


def _state(world: World, region: str) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=region)
    members = world.regions[region].members
    states = {
        i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=members)["Reservations"] for i in r["Instances"]
    }
    group = ec2.describe_security_groups(GroupIds=[world.regions[region].members_sg])["SecurityGroups"][0]
    client_rules = [p for p in group["IpPermissions"] if p.get("FromPort") == CLIENT_PORT]
    check = boto3.client("route53", region_name=PRIMARY).get_health_check(
        HealthCheckId=world.regions[region].control_check
    )
    return {
        "instances": states,
        "client_rules": len(client_rules),
        "serving": not check["HealthCheck"]["HealthCheckConfig"].get("Inverted", False),
    }


def test_failover_on_aws_fences_the_old_primary_and_records_the_new_roles(
    world: World, policies: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = spec_from(policies, committed_spec("prod"))
    ScriptedRegistry(monkeypatch, answering={STANDBY}, healthy={STANDBY})
    inventory = _inventory(tmp_path / "inventory.yml")
    before = _state(world, PRIMARY)
    assert before["serving"] and before["client_rules"] and before["instances"] == {"running"}

    deployment = aws_deployment(STACK, spec, inventory, boto3.session.Session(), ClientTls(), tmp_path / "state")
    assert deployment.primary == PRIMARY and deployment.epoch == 1
    report = carry_out(deployment, Request("failover", STANDBY, confirm=True), lambda _: None)

    assert report.outcome == "done" and all(fence.ok for fence in report.fences), report.fences
    old = _state(world, PRIMARY)
    assert old["instances"] <= {"stopping", "stopped"} and old["client_rules"] == 0 and not old["serving"]
    new = _state(world, STANDBY)
    assert new["serving"] and new["instances"] == {"running"} and new["client_rules"]
    commands = boto3.client("ssm", region_name=STANDBY).list_commands()["Commands"]
    assert any("systemctl disable --now" in " ".join(c["Parameters"]["commands"]) for c in commands)

    # The record outlives this process: another operator's drkit sees the new roles and epoch.
    again = aws_deployment(STACK, spec, inventory, boto3.session.Session(), ClientTls(), tmp_path / "other")
    assert again.primary == STANDBY and again.epoch == 2 and again.fenced == [PRIMARY]
    stored = boto3.client("ssm", region_name=STANDBY).get_parameter(Name=parameter_name(STACK))
    assert '"epoch": 2' in stored["Parameter"]["Value"]


def test_a_cloud_failover_needs_an_inventory_of_this_stack(world: World, policies: Any, tmp_path: Path) -> None:
    spec = spec_from(policies, committed_spec("prod"))
    session = boto3.session.Session()
    with pytest.raises(CloudInventoryError, match="is for stack staging, not prod"):
        aws_deployment(STACK, spec, _inventory(tmp_path / "a.yml", "staging"), session, ClientTls(), tmp_path)
    (tmp_path / "empty.yml").write_text("all: {hosts: {}}\n")
    with pytest.raises(CloudInventoryError, match="names no registry members"):
        aws_deployment(STACK, spec, tmp_path / "empty.yml", session, ClientTls(), tmp_path)
    (tmp_path / "broken.yml").write_text("all: [\n")
    with pytest.raises(CloudInventoryError, match="cannot be read as YAML"):
        aws_deployment(STACK, spec, tmp_path / "broken.yml", session, ClientTls(), tmp_path)


def test_the_cli_asks_for_the_inventory_of_a_cloud_stack() -> None:
    from click.testing import CliRunner

    from drkit.cli import main

    result = CliRunner().invoke(main, ["failover", "--stack", "prod", "--to", "us-west-2"])
    assert result.exit_code == 2
    assert "pass --inventory FILE" in result.output and "Traceback" not in result.output
