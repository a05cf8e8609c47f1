"""`drkit plan` end to end (in process, Pulumi mocks): the issue's done-when cases and the exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from drkit.cli import main
from tests.conftest import ROOT, committed_spec, patched, write_stack


def plan(*args: str) -> Result:
    return CliRunner().invoke(main, ["plan", "--today", "2026-11-22", *args], catch_exceptions=False)


def test_prod_plan_lists_members_buckets_and_failover_and_passes() -> None:
    result = plan("--stack", "prod")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("spec: stacks/Pulumi.prod.yaml  tier critical  PASS")
    for region in ("us-east-1", "us-west-2"):
        for zone in "abc":
            assert re.search(rf"^  {region}{zone}  \(\d+\)$", out, re.M), f"{region}{zone} missing"
        assert len(re.findall(rf"ec2\.Instance\s+{region}-\d  instanceType=m6i\.large", out)) == 5
    assert (
        "s3.Bucket" in out
        and "bucket=drkit-prod-backups-123456789012-us-east-1" in out
        and "bucket=drkit-prod-backups-123456789012-us-west-2" in out
    )
    assert "s3.BucketReplicationConfig" in out
    assert len(re.findall(r"route53\.HealthCheck\s+\S+  type=HTTP  requestInterval=10  failureThreshold=3", out)) == 2
    assert len(re.findall(r"route53\.Record\s+\S+  name=registry\.example\.com  type=CNAME  ttl=30", out)) == 2
    count = int(re.search(r"offline, Pulumi mocks\): (\d+) resources", out).group(1))  # type: ignore[union-attr]
    assert count > 200
    assert out.rstrip().endswith("resource rules: 7 passed, 0 failed, 0 waived, 0 advisory")


def test_json_plan_counts_by_region_and_az() -> None:
    result = plan("--stack", "staging", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["exitCode"] == 0 and document["validation"]["verdict"] == "pass"
    by_region = document["plan"]["byRegion"]
    # Global Accelerator's resources are made through its API's home region, us-west-2.
    assert set(by_region) == {"eu-west-1", "eu-central-1", "us-west-2", "global"}
    assert set(by_region["eu-central-1"]) == {"eu-central-1a", "eu-central-1b", "eu-central-1c", "regional"}
    assert sum(sum(zones.values()) for zones in by_region.values()) == document["plan"]["count"]
    assert {r["status"] for r in document["plan"]["rules"]} == {"pass"}
    secret_values = [
        r for r in document["plan"]["resources"] if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    assert secret_values and all(r["properties"]["secretString"] == "[secret]" for r in secret_values)


def test_prod_with_one_az_per_region_fails_with_the_rule_ids(tmp_path: Path) -> None:
    spec = committed_spec("prod")
    spec["regions"] = [{**region, "availabilityZones": 1} for region in spec["regions"]]
    write_stack(tmp_path, "prod", spec)
    result = plan("--stack", "prod", "--stacks-dir", str(tmp_path), "--policies", str(ROOT / "policies"))
    assert result.exit_code == 1, result.output
    assert "FAIL      DR002" in result.output  # the spec rule, as `drkit validate` prints it
    assert "FAIL      DR401 [high] Ensure the members as built keep quorum" in result.output
    assert "region us-east-1: 5 members over 1 AZ(s) (us-east-1a: 5)" in result.output


def test_unknown_stack_and_lab_stack_are_unusable_input(tmp_path: Path) -> None:
    missing = plan("--stack", "nope")
    assert missing.exit_code == 2 and "no stack nope" in missing.output and "prod" in missing.output
    lab = plan("--stack", "local")
    assert lab.exit_code == 2 and "drkit sandbox up" in lab.output and "Traceback" not in lab.output


def test_broken_stack_file_is_reported_like_validate(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  drkit:spec:\n    tier: gold\n", encoding="utf-8")
    result = plan("--stack", "broken", "--stacks-dir", str(tmp_path), "--policies", str(ROOT / "policies"))
    assert result.exit_code == 2
    assert "UNUSABLE INPUT" in result.output and "drkit:spec.tier" in result.output


def test_world_open_client_cidr_is_refused_before_the_plan(tmp_path: Path) -> None:
    """The spec check (drkit validate) refuses it, so the plan never builds a world-open port for DR405 to find."""
    spec = patched(committed_spec("dev"), {"registry": {"clientCidrs": ["0.0.0.0/0"]}})
    write_stack(tmp_path, "dev", spec)
    result = plan("--stack", "dev", "--stacks-dir", str(tmp_path), "--policies", str(ROOT / "policies"))
    assert result.exit_code == 2
    assert "DR405" in result.output and "0.0.0.0/0 opens the registry's client port" in result.output


def test_json_plan_shows_each_resources_options_and_the_az_warning() -> None:
    document = json.loads(plan("--stack", "prod", "--format", "json").output)["plan"]
    options = {(r["type"], r["name"]): r["options"] for r in document["resources"]}
    assert options[("aws:ec2/instance:Instance", "us-east-1-1")] == {
        "protect": False,
        "retainOnDelete": False,
        "ignoreChanges": ["ami", "instanceType", "userData"],
        "deleteBeforeReplace": True,  # its fixed private IP must be free before a replacement is created
    }
    assert options[("aws:ebs/volume:Volume", "us-east-1-1-data")]["retainOnDelete"] is True
    bucket = ("aws:s3/bucket:Bucket", "drkit-prod-backups-123456789012-us-east-1")
    assert options[bucket] == {
        "protect": True,
        "retainOnDelete": True,
        "ignoreChanges": [],
        "deleteBeforeReplace": False,
    }
    assert options[("aws:lb/loadBalancer:LoadBalancer", "us-east-1-client")]["protect"] is False
    # The committed example stacks leave AZs to the look-up: the plan says so, per region (the witness's too).
    assert [w.split(":")[0] for w in document["warnings"]] == ["us-east-1", "us-west-2", "us-east-2"]


def test_azs_pinned_in_the_stack_file_reach_the_plan(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "prod", committed_spec("prod"))
    document = yaml.safe_load(path.read_text())
    document["config"]["drkit:availabilityZones"] = {
        "us-east-1": ["use1-az1", "use1-az2", "use1-az4"],
        "us-west-2": ["usw2-az1", "usw2-az2", "usw2-az4"],
        "us-east-2": ["use2-az1"],  # the witness region: one zone, as its one member needs
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = plan("--stack", "prod", "--stacks-dir", str(tmp_path), "--policies", str(ROOT / "policies"))
    assert result.exit_code == 0, result.output
    assert "warnings" not in result.output
    # use1-az1 is us-east-1c in the mocks' account: the pinned order is the round-robin order.
    assert re.search(r"ec2\.Instance\s+us-east-1-1  instanceType=m6i\.large  privateIp=10\.40\.0\.10", result.output)
    assert "us-east-1d" not in result.output and "us-west-2d" not in result.output
    # use2-az1 is us-east-2c in the mocks' account.
    assert "us-east-2c" in result.output and "us-east-2a" not in result.output


def test_a_witness_region_pinned_to_several_zones_is_refused(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "prod", committed_spec("prod"))
    document = yaml.safe_load(path.read_text())
    document["config"]["drkit:availabilityZones"] = {"us-east-2": ["use2-az1", "use2-az2"]}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = plan("--stack", "prod", "--stacks-dir", str(tmp_path), "--policies", str(ROOT / "policies"))
    assert result.exit_code == 2, result.output
    assert "drkit:availabilityZones.us-east-2 lists 2 zones, but us-east-2 is a witness region" in result.output
    assert "Traceback" not in result.output


def test_hybrid_plan_shows_both_clouds_by_region_and_zone_and_passes() -> None:
    result = plan("--stack", "hybrid")
    assert result.exit_code == 0, result.output
    out = result.output
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c", "us-central1-a", "us-central1-b", "us-central1-c"):
        assert re.search(rf"^  {zone}  \(\d+\)$", out, re.M), f"{zone} missing"
    assert re.search(r"^us-east-1  \(\d+ resources\)$", out, re.M) and re.search(
        r"^us-central1  \(\d+ resources\)$", out, re.M
    )
    assert len(re.findall(r"ec2\.Instance\s+us-east-1-\d  instanceType=m6i\.large", out)) == 3
    assert len(re.findall(r"compute\.Instance\s+us-central1-\d  machineType=n2-standard-2", out)) == 3
    assert re.search(r"route53\.Record\s+us-central1-secondary  name=registry-hybrid\.example\.com  type=A", out)
    assert out.rstrip().endswith("resource rules: 7 passed, 0 failed, 0 waived, 0 advisory")
    document = json.loads(plan("--stack", "hybrid", "--format", "json").output)
    assert set(document["plan"]["byRegion"]["us-central1"]) >= {"us-central1-a", "us-central1-b", "us-central1-c"}


def test_a_gcp_region_with_an_aws_instance_type_stops_the_plan(tmp_path: Path) -> None:
    spec = patched(
        committed_spec("hybrid"),
        {
            "regions": [
                {"name": "us-east-1", "provider": "aws", "role": "primary", "availabilityZones": 3},
                {"name": "us-central1", "provider": "gcp", "role": "standby", "instanceType": "m6i.large"},
            ]
        },
    )
    path = write_stack(tmp_path, "hybrid", spec)
    args = ("--stack", "hybrid", "--stacks-dir", str(path.parent), "--policies", str(ROOT / "policies"))
    # Without gcp:project the program cannot build a GCP region: unusable input, said in one line.
    unusable = plan(*args)
    assert unusable.exit_code == 2 and "no gcp:project" in unusable.output and "Traceback" not in unusable.output
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["config"]["gcp:project"] = "drkit-test"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = plan(*args)
    assert result.exit_code == 1, result.output
    assert "DR009" in result.output and "is an EC2 instance type, not a GCE machine type" in result.output
