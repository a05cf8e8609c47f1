"""Every rule against its fixtures (checkov style): each case patches a committed stack and must make the rule
pass, or fail (or be advisory) with the expected finding at the expected place.

Fixture files live in tests/policy/fixtures/<rule ID>.yaml, for spec rules (here) and resource rules
(`scope: resources`, run by tests/provision/test_rule_fixtures.py over the base stack's offline plan):

    base: prod                  # the committed stack whose DR spec is the starting point
    pass:
      - name: short description
        patch: {}               # merged into the base spec (tests.conftest.patched)
        base: staging           # optional: another committed stack for this case
    fail:
      - name: short description
        patch: {registry: {members: 4}}
        message: "is even"      # a substring of one of the rule's findings
        path: registry.members  # format_key_path(finding.path) of that finding
        status: advisory        # optional: pin "fail" or "advisory" (either is accepted without it)
        xfail: "reason"         # optional: a known rule problem; the case is expected to fail until fixed
        xfail_location: "why"   # optional (fail cases): all else is checked, but the finding is known not
                                # to point at the line of its key yet

A finding whose key is written in the file must point at the line of that key (for a list item: the line of
its "- "); a finding about a key the spec leaves to its default points at the nearest ancestor key written.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from drkit.errors import KeyPath, format_key_path
from drkit.policy.catalog import PolicySet
from drkit.policy.engine import RuleResult
from drkit.policy.rule import CATEGORIES, SEVERITIES
from drkit.spec.stackfile import SPEC_PATH
from drkit.validate import StackReport, validate_file
from tests.conftest import ROOT, STACKS, TODAY, committed_spec, patched, write_stack

FIXTURES = Path(__file__).parent / "fixtures"
RULE_FILES = ROOT / "policies" / "rules"
KINDS = ("pass", "fail")
CASE_KEYS = {"name", "patch", "base", "message", "path", "status", "xfail", "xfail_location"}
RULE_ID = re.compile(r"^DR[0-9]{3}$")


def _as_text_dates(value: Any) -> Any:
    """PyYAML reads unquoted dates as date objects; the spec keeps them as text."""
    if isinstance(value, dict):
        return {key: _as_text_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_text_dates(item) for item in value]
    return value.isoformat() if isinstance(value, date) else value


def load_fixtures(scope: str | None = "spec") -> dict[str, dict[str, Any]]:
    """The fixtures of one scope's rules (None: both)."""
    found = {
        path.stem: _as_text_dates(yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted(FIXTURES.glob("*.yaml"))
    }
    return {rule_id: f for rule_id, f in found.items() if scope is None or f.get("scope", "spec") == scope}


def _cases() -> list[Any]:
    params = []
    for rule_id, fixture in load_fixtures().items():
        for kind in KINDS:
            for case in fixture.get(kind) or []:
                marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
                params.append(
                    pytest.param(
                        rule_id, fixture["base"], kind, case, id=f"{rule_id}-{kind}-{case['name']}", marks=marks
                    )
                )
    return params


def _result(report: StackReport, rule_id: str) -> RuleResult:
    found = [result for result in report.results if result.rule.id == rule_id]
    assert len(found) == 1, f"{rule_id}: expected one result, got {len(found)}"
    return found[0]


def _written_line(text: str, spec_path: KeyPath) -> tuple[int, bool]:
    """1-based line where `spec_path` is written in the stack file (the line of its key, or for a list item
    the line of the item), and True; or, when the spec leaves it to its default, the line of the nearest
    ancestor key that is written, and False."""
    node = yaml.compose(text)
    line = 1
    for part in (*SPEC_PATH, *spec_path):
        if isinstance(part, int):
            if not isinstance(node, yaml.SequenceNode) or part >= len(node.value):
                return line, False
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            matches = [(k, v) for k, v in node.value if k.value == part] if isinstance(node, yaml.MappingNode) else []
            if not matches:
                return line, False
            key, node = matches[0]
            line = key.start_mark.line + 1
    return line, True


@pytest.mark.parametrize(("rule_id", "base", "kind", "case"), _cases())
def test_rule_case(
    rule_id: str, base: str, kind: str, case: dict[str, Any], policies: PolicySet, tmp_path: Path
) -> None:
    spec = patched(committed_spec(case.get("base", base)), case.get("patch") or {})
    path = write_stack(tmp_path, "case", spec)
    report = validate_file(path, policies, TODAY)
    assert report.verdict != "error", "the fixture is not a valid spec:\n" + "\n".join(
        error.render() for error in report.errors
    )
    result = _result(report, rule_id)
    shown = [(finding.message, format_key_path(finding.path)) for finding in result.findings]

    if kind == "pass":
        assert result.status == "pass", f"{rule_id} should pass, got {result.status}: {shown}"
        return

    expected_status = case.get("status")
    if expected_status:
        assert result.status == expected_status, f"{rule_id}: expected {expected_status}, got {result.status}"
    else:
        assert result.status in ("fail", "advisory"), f"{rule_id} should fail, got {result.status}"
    matching = [
        finding
        for finding in result.findings
        if case["message"] in finding.message and format_key_path(finding.path) == case["path"]
    ]
    assert matching, f"no finding with {case['message']!r} at {case['path']}; findings: {shown}"

    finding = matching[0]
    assert finding.location.file == str(path)
    if not finding.path:  # about the spec as a whole: no key to point at
        return
    line, written = _written_line(path.read_text(encoding="utf-8"), finding.path)
    where = f"{format_key_path(finding.path)} is {'written' if written else 'defaulted; its nearest ancestor'}"
    problem = f"{where} on line {line}, the finding points at line {finding.location.line}"
    pointed = finding.location.line == line
    known = case.get("xfail_location")
    if known and not pointed:
        pytest.xfail(known)
    assert not known, f"the finding now points at line {line}: remove xfail_location from the case"
    assert pointed, problem


def test_every_rule_has_fixtures(policies: PolicySet) -> None:
    """Both scopes: every rule, spec or resources, has a fixture file with pass and fail cases."""
    fixtures = load_fixtures(None)
    rule_ids = {rule.id for rule in policies.rules}
    assert sorted(set(fixtures) - rule_ids) == [], "fixture files naming no rule"
    for rule_id in sorted(rule_ids):
        assert rule_id in fixtures, f"{rule_id} has no fixture file tests/policy/fixtures/{rule_id}.yaml"
        fixture = fixtures[rule_id]
        assert fixture.get("scope", "spec") == policies.rules_by_id[rule_id].scope, f"{rule_id}: scope differs"
        for kind in KINDS:
            cases = fixture.get(kind) or []
            assert cases, f"{rule_id}: no {kind} case"
            assert len({case["name"] for case in cases}) == len(cases), f"{rule_id}: duplicate {kind} case names"


@pytest.mark.parametrize("rule_id", sorted(load_fixtures()))
def test_fixture_shape(rule_id: str) -> None:
    fixture = load_fixtures()[rule_id]
    assert set(fixture) <= {"base", *KINDS}, f"{rule_id}: unknown top-level keys"
    stacks = {path.name.split(".")[1] for path in STACKS.glob("Pulumi.*.yaml")}
    assert fixture["base"] in stacks
    for kind in KINDS:
        for case in fixture.get(kind) or []:
            assert set(case) <= CASE_KEYS, f"{rule_id} {case.get('name')}: unknown keys {set(case) - CASE_KEYS}"
            assert case.get("name"), f"{rule_id}: a {kind} case without a name"
            assert isinstance(case.get("patch"), dict), f"{rule_id} {case['name']}: patch must be a mapping"
            assert case.get("base", fixture["base"]) in stacks, f"{rule_id} {case['name']}: unknown base"
            if kind == "fail":
                assert case.get("message") and case.get("path"), f"{rule_id} {case['name']}: message and path"
                assert case.get("status", "fail") in ("fail", "advisory")
            else:
                fail_only = {"message", "path", "status", "xfail_location"}
                assert not fail_only & set(case), f"{rule_id} {case['name']}: pass case"


def test_rule_metadata(policies: PolicySet) -> None:
    assert policies.rules, "no rules loaded"
    assert [rule.id for rule in policies.rules] == sorted(rule.id for rule in policies.rules)
    for rule in policies.rules:
        assert RULE_ID.match(rule.id), rule.id
        assert rule.name.startswith("Ensure "), f"{rule.id}: {rule.name!r}"
        assert rule.category in CATEGORIES, f"{rule.id}: category {rule.category!r}"
        assert rule.severity in SEVERITIES, f"{rule.id}: severity {rule.severity!r}"
        assert rule.remediation.strip(), f"{rule.id}: no remediation"
        assert rule.description.strip(), f"{rule.id}: no description (docstring)"
        files = sorted(RULE_FILES.glob(f"{rule.id}_*.py"))
        assert len(files) == 1, f"{rule.id}: expected one policies/rules/{rule.id}_*.py, found {files}"


def test_every_rule_file_is_a_rule(policies: PolicySet) -> None:
    ids = {path.name.split("_")[0] for path in RULE_FILES.glob("DR*.py")}
    assert ids == {rule.id for rule in policies.rules}
