"""`drkit inventory --from-outputs`: the YAML inventory from stack outputs, and clear errors otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from drkit.cli import main


def inventory(*args: str) -> Result:
    return CliRunner().invoke(main, ["inventory", *args], catch_exceptions=False)


def test_writes_the_inventory_the_playbooks_read(prod_outputs: Path, tmp_path: Path) -> None:
    target = tmp_path / "inv" / "prod.yml"
    result = inventory("--stack", "prod", "--from-outputs", str(prod_outputs), "--output", str(target))
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = yaml.safe_load(target.read_text(encoding="utf-8"))
    regions = document["all"]["children"]["registry"]["children"]
    assert [len(group["hosts"]) for group in regions.values()] == [5, 5]
    assert document["all"]["vars"]["drkit_stack"] == "prod"
    assert target.read_text(encoding="utf-8").startswith("# Written by `drkit inventory --stack prod`")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ('{"inventory": ', "not JSON: Expecting value (write it with `pulumi stack output --json -s prod"),
        ('{"regionEndpoints": {}}', "no 'inventory' output (outputs here: regionEndpoints)"),
        ('{"inventory": "[secret]"}', "shown as [secret] (add --show-secrets"),
        ('{"inventory": {"all": {"vars": {"drkit_stack": "prod"}}}}', "has no registry groups"),
        ("[1, 2]", "expected the JSON object of stack outputs"),
    ],
)
def test_unusable_outputs_file_exit_2_with_the_fix(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = inventory("--stack", "prod", "--from-outputs", str(path), "--output", "-")
    assert result.exit_code == 2
    assert expected in result.output and str(path) in result.output


def test_outputs_of_another_stack_are_refused(prod_outputs: Path) -> None:
    result = inventory("--stack", "dev", "--from-outputs", str(prod_outputs), "-o", "-")
    assert result.exit_code == 2 and "outputs of stack 'prod', not 'dev'" in result.output


def test_members_and_mirrors_are_reached_over_ssm_as_root(prod_outputs: Path, tmp_path: Path) -> None:
    """No SSH port, no public address: Ansible's amazon.aws.aws_ssm connection, with each instance's ID, its
    region and that region's transfer bucket, and become (the playbooks write under /var/lib/drkit)."""
    target = tmp_path / "prod.yml"
    assert inventory("--stack", "prod", "--from-outputs", str(prod_outputs), "-o", str(target)).exit_code == 0
    document: dict[str, Any] = yaml.safe_load(target.read_text(encoding="utf-8"))
    children = document["all"]["children"]
    hosts = [
        (region, host) for region in children["registry"]["children"].values() for host in region["hosts"].values()
    ] + [(None, host) for host in children["mirrors"]["hosts"].values()]
    assert len(hosts) > 5
    for _, host in hosts:
        assert host["ansible_connection"] == "amazon.aws.aws_ssm"
        assert host["ansible_aws_ssm_instance_id"].startswith("i-"), host
        assert host["ansible_become"] is True
        region = host["drkit_region"]
        assert host["ansible_aws_ssm_region"] == region
        assert host["ansible_aws_ssm_bucket_name"].endswith(f"-{region}-ssm")
    ids = [host["ansible_aws_ssm_instance_id"] for _, host in hosts]
    assert len(set(ids)) == len(ids), "one instance per host"


def test_each_member_can_refetch_its_own_certificates(prod_outputs: Path, tmp_path: Path) -> None:
    """Certificate rotation (rotate-certificates.yml) runs this on each stopped member: its own secret."""
    target = tmp_path / "prod.yml"
    assert inventory("--stack", "prod", "--from-outputs", str(prod_outputs), "-o", str(target)).exit_code == 0
    regions = yaml.safe_load(target.read_text(encoding="utf-8"))["all"]["children"]["registry"]["children"]
    commands = [host["drkit_tls_refresh_command"] for group in regions.values() for host in group["hosts"].values()]
    assert all(command.startswith("/usr/local/sbin/drkit-fetch-tls arn:") for command in commands)
    assert len(set(commands)) == len(commands), "one secret per member"


def test_a_mixed_stack_gives_the_same_names_for_gcp_hosts(tmp_path: Path) -> None:
    """hybrid: AWS primary, GCP standby. GCP members get the lab's and AWS's names and variables, reached over IAP."""
    import json

    from drkit.provision import gate, offline
    from tests.conftest import ROOT, TODAY
    from tests.provision.conftest import program_config

    report = gate.validate_stack(gate.stack_path(ROOT, "hybrid"), ROOT / "policies", TODAY)
    assert report.spec is not None
    outputs = tmp_path / "hybrid.json"
    outputs.write_text(json.dumps(offline.run_offline(report.spec, "hybrid", program_config("hybrid")).outputs))
    target = tmp_path / "hybrid.yml"
    result = inventory("--stack", "hybrid", "--from-outputs", str(outputs), "--output", str(target))
    assert result.exit_code == 0, result.output
    regions = yaml.safe_load(target.read_text(encoding="utf-8"))["all"]["children"]["registry"]["children"]
    assert {group: sorted(hosts["hosts"]) for group, hosts in regions.items()} == {
        "region_us_east_1": ["us-east-1-1", "us-east-1-2", "us-east-1-3"],
        "region_us_central1": ["us-central1-1", "us-central1-2", "us-central1-3"],
    }
    gcp_host = regions["region_us_central1"]["hosts"]["us-central1-2"]
    assert gcp_host["drkit_az"] == "us-central1-b" and "start-iap-tunnel" in gcp_host["ansible_ssh_common_args"]
