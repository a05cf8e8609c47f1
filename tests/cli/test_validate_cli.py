"""`drkit validate` end to end: exit codes, formats, golden text, and the issue's done-when cases."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from drkit.cli import main
from tests.conftest import ROOT, STACKS

GOLDEN = Path(__file__).parent / "golden"
DRKIT = Path(sys.executable).with_name("drkit")


def run(*args: str, cwd: Path = ROOT) -> Result:
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["validate", "--today", "2026-11-22", *args], catch_exceptions=False)
    finally:
        os.chdir(previous)


def test_committed_stacks_pass_and_show_estimates_against_objectives() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    for stack in ("dev", "staging", "prod", "local"):
        assert f"stacks/Pulumi.{stack}.yaml  stack {stack}" in result.output
    assert re.search(r"region\s+1m40s\s+5m\s+ok\s+5s\s+5s\s+ok", result.output)  # prod: estimate beside objective
    assert result.output.rstrip().endswith("5 stacks: 5 passed, 0 failed, 0 unusable")


def test_golden_text_report() -> None:
    """The whole text report for a passing, a failing and an unusable stack. Regenerate with
    DRKIT_UPDATE_GOLDEN=1 after an intended change, and read the diff."""
    result = run("tests/cli/golden")
    expected_file = GOLDEN / "validate.txt"
    if os.environ.get("DRKIT_UPDATE_GOLDEN"):
        expected_file.write_text(result.output, encoding="utf-8")
    assert result.exit_code == 2
    assert result.output == expected_file.read_text(encoding="utf-8")


def test_json_report_is_complete() -> None:
    result = run("--format", "json", "tests/cli/golden")
    document = json.loads(result.output)
    assert document["exitCode"] == result.exit_code == 2
    by_stack = {stack["stack"]: stack for stack in document["stacks"]}
    assert by_stack["passing"]["verdict"] == "pass"
    region = by_stack["passing"]["objectives"]["region"]["rto"]
    assert region == {
        "estimateSeconds": 100.0,
        "estimate": "1m40s",
        "objectiveSeconds": 300.0,
        "objective": "5m",
        "ok": True,
        "basis": "witness lease expires 30s + guard loop 10s + DNS TTL 30s + promotion 30s",
    }
    violations = by_stack["violations"]
    statuses = {rule["id"]: rule["status"] for rule in violations["rules"]}
    assert statuses["DR001"] == "fail" and statuses["DR102"] == "waived" and statuses["DR202"] == "advisory"
    dr001 = next(rule for rule in violations["rules"] if rule["id"] == "DR001")
    assert dr001["findings"][0] | {"message": ""} == {
        "file": "tests/cli/golden/Pulumi.violations.yaml",
        "line": 10,
        "column": 16,
        "keyPath": "registry.members",
        "message": "",
    }
    assert violations["unusedWaivers"] == [
        {"file": "tests/cli/golden/Pulumi.violations.yaml", "line": 21, "column": 9, "rule": "DR003"}
    ]
    (error, *_) = by_stack["unusable"]["errors"]
    assert (error["line"], error["column"], error["keyPath"]) == (4, 44, "drkit:spec.registry.members")


def test_github_annotations() -> None:
    result = run("--format", "github", "tests/cli/golden")
    lines = result.output.splitlines()
    assert any(
        line.startswith("::error file=tests/cli/golden/Pulumi.violations.yaml,line=10,col=16,title=DR001 ")
        for line in lines
    )
    assert any(
        line.startswith("::warning file=tests/cli/golden/Pulumi.violations.yaml,line=17,col=11,title=DR202")
        for line in lines
    )
    assert any(line.startswith("::error file=tests/cli/golden/Pulumi.unusable.yaml,line=4,col=44,") for line in lines)
    assert any(
        line.startswith("::notice title=drkit passing%3A PASS::member RTO 2.1s (objective 10s)") for line in lines
    )
    assert all("\n" not in line for line in lines)


def prod_variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (STACKS / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# The "done when" copies of the prod stack: (name, replace, with, exit code, what the output names)
DONE_WHEN = [
    (
        "four-members",
        "members: 5",
        "members: 4",
        1,
        r"DR001 .*\n.*:\d+:\d+: regions us-east-1, us-west-2: 4 members \(even\)",
    ),
    (
        "two-azs",
        "role: primary, availabilityZones: 3",
        "role: primary, availabilityZones: 2",
        1,
        r"DR002 .*\n.*:\d+:\d+: region us-east-1: 5 members over 2 AZs puts 3 in one AZ",
    ),
    ("etcd-351", '"3.5.17"', '"3.5.1"', 1, r"DR101 .*\n.*Pulumi.etcd-351.yaml:15:16: etcd 3.5.1"),
    (
        "no-standby",
        "      - {name: us-west-2, provider: aws, role: standby, availabilityZones: 3, instanceType: m6i.large}\n",
        "",
        1,
        r"DR303 .*\n.*:\d+:\d+: the loss of the primary region: estimated RTO 1h6m exceeds",
    ),
    (
        "typo",
        "    tier: critical",
        "    tierr: critical",
        2,
        r"Pulumi.typo.yaml:7:5: drkit:spec.tierr: unknown key 'tierr' \(did you mean 'tier'\?\)",
    ),
    (
        "word",
        "members: 5",
        "members: five",
        2,
        r"Pulumi.word.yaml:16:16: drkit:spec.registry.members: expected an integer, got the string 'five'",
    ),
    ("broken", "    regions:\n", "    regions: [\n", 2, r"Pulumi.broken.yaml:\d+:\d+: broken YAML: "),
]


@pytest.mark.parametrize(("name", "old", "new", "code", "pattern"), DONE_WHEN, ids=[c[0] for c in DONE_WHEN])
def test_done_when_cases(tmp_path: Path, name: str, old: str, new: str, code: int, pattern: str) -> None:
    path = prod_variant(tmp_path, name, old, new)
    result = subprocess.run([str(DRKIT), "validate", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == code, result.stdout + result.stderr
    assert re.search(pattern, result.stdout), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.yaml", "no such file or directory"),
        (lambda d: d, "no stack files (Pulumi.<stack>.yaml) here"),
    ],
    ids=["missing-file", "empty-directory"],
)
def test_unusable_paths(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = run(str(path))
    assert result.exit_code == 2
    assert message in result.output


def test_broken_policy_files_are_reported_not_raised(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    subprocess.run(["cp", "-r", str(ROOT / "policies"), str(policies)], check=True)
    (policies / "rules" / "DR999_broken.py").write_text("x = (\n", encoding="utf-8")
    result = subprocess.run(
        [str(DRKIT), "validate", "--policies", str(policies), str(STACKS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "DR999_broken.py:1:1: cannot load rule file" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_today_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["validate", "--today", "tomorrow"])
    assert result.exit_code == 2
    assert "'tomorrow' is not a date like 2027-06-30" in result.output


def validate_dev_after_its_waiver(*extra: str) -> Result:
    """dev waives DR202 until 2027-05-31; judged two weeks later, the waiver has run out."""
    return CliRunner().invoke(
        main, ["validate", "--today", "2027-06-15", str(STACKS / "Pulumi.dev.yaml"), *extra], catch_exceptions=False
    )


def test_an_expired_waiver_blocks_until_someone_breaks_the_glass_with_a_reason() -> None:
    blocked = validate_dev_after_its_waiver()
    assert blocked.exit_code == 1
    assert "DR901" in blocked.output and "DR202" in blocked.output and "BREAK-GLASS" not in blocked.output

    forced = validate_dev_after_its_waiver(
        "--break-glass", "INC-4711: us-east-1 down, rebuilding dev", "--format", "json"
    )
    assert forced.exit_code == 0, forced.output
    (stack,) = json.loads(forced.output)["stacks"]
    assert stack["breakGlass"] == "INC-4711: us-east-1 down, rebuilding dev"
    status = {rule["id"]: rule["status"] for rule in stack["rules"]}
    assert status["DR901"] == "break-glass" and status["DR202"] == "waived"

    text = validate_dev_after_its_waiver("--break-glass", "INC-4711").output
    assert "BREAK-GLASS: expired waivers honoured for this run only, because: INC-4711" in text
    assert "OVERRIDE  DR901" in text


def test_breaking_the_glass_sets_aside_nothing_but_expired_waivers(tmp_path: Path) -> None:
    path = prod_variant(tmp_path, "four-members", "members: 5", "members: 4")
    result = CliRunner().invoke(main, ["validate", str(path), "--break-glass", "INC-4711"], catch_exceptions=False)
    assert result.exit_code == 1 and "FAIL      DR001" in result.output
    assert "BREAK-GLASS" not in result.output, "an override that set nothing aside is not reported as one"


def test_breaking_the_glass_needs_a_reason() -> None:
    result = validate_dev_after_its_waiver("--break-glass", "  ")
    assert result.exit_code == 2 and "say why" in result.output


SECRET_NAME = "name: {secure: v1:Zm9vYmFy:AAABAHJlZ2lzdHJ5LmV4YW1wbGUuY29t}"


def test_a_secret_name_is_taken_unread_and_said_so(tmp_path: Path) -> None:
    """`pulumi config set --secret --path drkit:spec.globalEndpoint.name`: the file holds ciphertext only."""
    path = prod_variant(tmp_path, "secret-name", "name: registry.example.com", SECRET_NAME)
    result = CliRunner().invoke(main, ["validate", "--today", "2026-11-22", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert re.search(
        r"note +.*Pulumi.secret-name.yaml:\d+:\d+: drkit:spec.globalEndpoint.name is a Pulumi secret", result.output
    )
    as_json = CliRunner().invoke(main, ["validate", "--today", "2026-11-22", str(path), "--format", "json"])
    (stack,) = json.loads(as_json.output)["stacks"]
    assert [secret["keyPath"] for secret in stack["secrets"]] == ["globalEndpoint.name"]


def test_a_secret_where_a_rule_reads_the_value_is_refused_with_why(tmp_path: Path) -> None:
    path = prod_variant(tmp_path, "secret-members", "members: 5", "members: {secure: v1:AAAB}")
    result = subprocess.run([str(DRKIT), "validate", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "drkit:spec.registry.members: expected an integer, got a Pulumi secret" in result.stdout
    assert "only names and instance types may be secrets" in result.stdout
