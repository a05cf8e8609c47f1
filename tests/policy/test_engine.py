"""The engine and the tier presets over real stacks: waivers, the mandatory/advisory split, and objectives
taken from the tier preset when the spec omits them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from drkit.errors import format_key_path
from drkit.policy.catalog import PolicySet
from drkit.policy.engine import RuleResult
from drkit.suggest import did_you_mean
from drkit.validate import StackReport, validate_file
from tests.conftest import STACKS, TODAY, committed_spec, patched, write_stack

REASON = "Set aside while the replacement is rolled out; reviewed by the platform team."


def run(policies: PolicySet, tmp_path: Path, base: str, patch: dict[str, Any]) -> tuple[StackReport, Path]:
    path = write_stack(tmp_path, base, patched(committed_spec(base), patch))
    return validate_file(path, policies, TODAY), path


def result(report: StackReport, rule_id: str) -> RuleResult:
    return next(result for result in report.results if result.rule.id == rule_id)


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of `path` containing `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def waiver(rule: str, expires: str) -> dict[str, str]:
    return {"rule": rule, "reason": REASON, "expires": expires}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local", "hybrid"])
def test_committed_stacks_pass(stack: str, policies: PolicySet) -> None:
    report = validate_file(STACKS / f"Pulumi.{stack}.yaml", policies, TODAY)
    assert report.verdict == "pass", [error.render() for error in report.errors] or [
        (r.rule.id, r.status) for r in report.results if r.status == "fail"
    ]
    assert len(report.results) == len(policies.spec_rules)
    assert report.unused_waivers == ()


# --- waivers -------------------------------------------------------------------------------------------


def test_expired_waiver_no_longer_silences_its_rule(policies: PolicySet, tmp_path: Path) -> None:
    report, path = run(
        policies,
        tmp_path,
        "prod",
        {"registry": {"tls": False, "clients": []}, "waivers": [waiver("DR102", "2026-11-21")]},
    )
    assert report.verdict == "fail"
    tls = result(report, "DR102")
    assert tls.status == "fail"
    assert tls.waiver is None
    expired = result(report, "DR901")
    assert expired.status == "fail"
    [finding] = expired.findings
    assert finding.message == "the waiver of DR102 expired on 2026-11-21"
    assert format_key_path(finding.path) == "waivers[0].expires"
    assert finding.location.line == line_of(path, "expires:")
    # An expired waiver is DR901's business, not an unused one.
    assert report.unused_waivers == ()


def test_expired_waiver_of_an_advisory_rule_fails_the_stack_through_dr901(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(policies, tmp_path, "dev", {"waivers": [waiver("DR202", "2026-06-30")]})
    assert result(report, "DR202").status == "advisory"
    assert result(report, "DR901").status == "fail"
    assert report.verdict == "fail"


def test_current_waiver_turns_a_failure_into_waived(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(
        policies,
        tmp_path,
        "prod",
        {"registry": {"tls": False, "clients": []}, "waivers": [waiver("DR102", "2027-05-31")]},
    )
    tls = result(report, "DR102")
    assert tls.status == "waived"
    assert tls.waiver is not None
    assert tls.waiver.rule == "DR102"
    assert tls.findings, "a waived result keeps its findings"
    assert result(report, "DR901").status == "pass"
    assert report.verdict == "pass"
    assert report.unused_waivers == ()


def test_waiver_expiring_today_still_holds(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(
        policies,
        tmp_path,
        "prod",
        {"registry": {"tls": False, "clients": []}, "waivers": [waiver("DR102", TODAY.isoformat())]},
    )
    assert result(report, "DR102").status == "waived"
    assert result(report, "DR901").status == "pass"
    assert report.verdict == "pass"


def test_committed_dev_waiver_silences_an_advisory_rule(policies: PolicySet) -> None:
    report = validate_file(STACKS / "Pulumi.dev.yaml", policies, TODAY)
    assert result(report, "DR202").status == "waived"
    assert report.unused_waivers == ()


def test_waiver_silencing_nothing_is_unused(policies: PolicySet, tmp_path: Path) -> None:
    report, path = run(
        policies,
        tmp_path,
        "prod",
        {
            "registry": {"tls": False, "clients": []},
            "waivers": [waiver("DR102", "2027-05-31"), waiver("DR202", "2027-05-31")],
        },
    )
    assert report.verdict == "pass"
    assert result(report, "DR202").status == "pass"
    [(unused, location)] = report.unused_waivers
    assert unused.rule == "DR202"
    assert unused.index == 1
    assert location.file == str(path)
    assert location.line == line_of(path, "rule: DR202")


@pytest.mark.parametrize(
    ("waivers", "message"),
    [
        ([waiver("DR999", "2027-05-31")], "waiver for unknown rule DR999"),
        ([waiver("DR901", "2027-05-31")], "DR901 cannot be waived"),
        ([waiver("DR202", "2027-05-31"), waiver("DR202", "2027-06-30")], "a second waiver for DR202"),
        ([waiver("DR202", "2026-01-31"), waiver("DR202", "2027-06-30")], "a second waiver for DR202"),
    ],
    ids=["unknown rule", "DR901 not waivable", "two waivers of one rule", "renewal beside the expired one"],
)
def test_bad_waiver_is_an_input_error(
    waivers: list[dict[str, str]], message: str, policies: PolicySet, tmp_path: Path
) -> None:
    report, path = run(policies, tmp_path, "dev", {"waivers": waivers})
    assert report.verdict == "error"
    assert report.results == ()
    [error] = report.errors
    assert message in error.message
    index = len(waivers) - 1
    assert error.key_path == ("drkit:spec", "waivers", index, "rule")
    assert error.location.file == str(path)
    rule_lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if "rule: " in line]
    assert error.location.line == rule_lines[index]
    assert message in error.render()


# --- tiers: mandatory and advisory ---------------------------------------------------------------------


def test_object_lock_is_advisory_for_standard(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(
        policies, tmp_path, "staging", {"backups": {"targets": [{"type": "s3", "replicaRegion": "eu-central-1"}]}}
    )
    assert result(report, "DR202").status == "advisory"
    assert report.verdict == "pass"


def test_object_lock_is_mandatory_for_critical(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(
        policies,
        tmp_path,
        "prod",
        {
            "backups": {
                "targets": [
                    {"type": "s3", "replicaRegion": "us-west-2"},
                    {"type": "rsync", "host": "backup-1.internal", "path": "/srv/b", "region": "us-west-2"},
                ]
            }
        },
    )
    assert result(report, "DR202").status == "fail"
    assert report.verdict == "fail"


def test_tls_is_advisory_for_sandbox(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(policies, tmp_path, "local", {"waivers": []})
    assert result(report, "DR102").status == "advisory"
    assert report.verdict == "pass"


def test_tls_is_mandatory_for_standard(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(policies, tmp_path, "staging", {"registry": {"tls": False, "clients": []}})
    assert result(report, "DR102").status == "fail"
    assert report.verdict == "fail"


def test_tier_presets_list_only_known_rules(policies: PolicySet) -> None:
    ids = set(policies.rules_by_id)
    for tier in policies.tiers.values():
        assert tier.advisory <= ids, f"{tier.name}: unknown advisory rules {tier.advisory - ids}"
    assert policies.tiers["critical"].advisory == frozenset()


def test_member_minimum_follows_the_tier(policies: PolicySet, tmp_path: Path) -> None:
    as_critical, _ = run(policies, tmp_path, "prod", {"registry": {"members": 3}})
    as_standard, _ = run(policies, tmp_path, "prod", {"tier": "standard", "registry": {"members": 3}})
    assert result(as_critical, "DR001").status == "fail"
    assert result(as_standard, "DR001").status == "pass"


# --- objectives from the tier preset -------------------------------------------------------------------


def test_omitted_objectives_take_the_tier_values(policies: PolicySet) -> None:
    report = validate_file(STACKS / "Pulumi.staging.yaml", policies, TODAY)
    assert report.spec is not None
    preset = policies.tiers["standard"].objectives
    assert report.spec.objectives["member"] == preset["member"]
    assert report.spec.objectives["az"] == preset["az"]
    # Written objectives are kept as written (staging: region 1h / 30m).
    assert report.spec.objectives["region"].rto == 3600
    assert report.spec.objectives["region"].rpo == 1800
    assert report.spec.objectives["region"] != preset["region"]


@pytest.mark.parametrize("base", ["dev", "staging", "prod", "local"])
def test_no_objectives_means_the_tier_preset(base: str, policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(policies, tmp_path, base, {"objectives": None})
    assert report.verdict != "error", [error.render() for error in report.errors]
    assert report.spec is not None
    assert report.spec.objectives == policies.tiers[report.spec.tier].objectives
    assert result(report, "DR320").status == "pass"


def test_half_written_objective_takes_the_other_half_from_the_tier(policies: PolicySet, tmp_path: Path) -> None:
    report, _ = run(policies, tmp_path, "prod", {"objectives": {"region": {"rpo": None}}})
    assert report.spec is not None
    assert report.spec.objectives["region"].rto == 300  # as written: 5m
    assert report.spec.objectives["region"].rpo == policies.tiers["critical"].objectives["region"].rpo


def test_unknown_rule_hint_suggests_only_waivable_rules(policies: PolicySet, tmp_path: Path) -> None:
    rules = policies.rules_by_id
    unwaivable = [rule.id for rule in policies.rules if not rule.waivable]
    # Unknown IDs whose closest rule IDs include an unwaivable rule (the hint may not name it).
    near = [
        f"DR{number:03d}"
        for number in range(1000)
        if f"DR{number:03d}" not in rules and any(i in did_you_mean(f"DR{number:03d}", rules) for i in unwaivable)
    ]
    for rule_id in near[-3:]:
        report, _ = run(policies, tmp_path, "dev", {"waivers": [waiver(rule_id, "2027-05-31")]})
        [error] = report.errors
        assert f"waiver for unknown rule {rule_id}" in error.message
        assert not any(unwaivable_id in error.hint for unwaivable_id in unwaivable), error.render()


# --- one waiver mechanism for both scopes ----------------------------------------------------------------


def test_a_resource_rule_waiver_is_accepted_and_judged_where_resource_rules_run(
    policies: PolicySet, tmp_path: Path
) -> None:
    """validate knows DR4xx IDs (no 'unknown rule'), does not call their waivers unused (it does not run them);
    the resource evaluation does, when the rule passes, and applies them when it fails."""
    from drkit.policy.resources import evaluate_resources
    from drkit.provision.resources import PlannedResource

    report, _ = run(policies, tmp_path, "staging", {"waivers": [waiver("DR402", "2027-05-31")]})
    assert report.verdict == "pass" and report.unused_waivers == ()
    assert all(r.rule.scope == "spec" for r in report.results)
    assert report.spec is not None
    unencrypted = PlannedResource("urn:test:v", "aws:ebs/volume:Volume", "v", {"encrypted": False})
    results, unused = evaluate_resources(policies, report.spec, (unencrypted,), TODAY)
    assert {r.rule.id: r.status for r in results}["DR402"] == "waived" and unused == ()
    results, unused = evaluate_resources(policies, report.spec, (), TODAY)
    assert {r.rule.id: r.status for r in results}["DR402"] == "pass"
    assert [w.rule for w in unused] == ["DR402"]
    # Expired, it no longer silences the resource rule either (and DR901 fails the spec for it).
    expired, _ = evaluate_resources(policies, report.spec, (unencrypted,), date(2027, 6, 1))
    assert {r.rule.id: r.status for r in expired}["DR402"] == "fail"
