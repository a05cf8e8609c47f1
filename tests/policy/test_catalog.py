"""Loading policy files: broken or inconsistent rule files are reported with their place, never raised."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drkit.errors import UnusableInputError
from drkit.policy.catalog import PolicySet, load_rules
from tests.conftest import ROOT


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_the_checkout_policies_load(tmp_path: Path) -> None:
    policies = PolicySet.load(copy_policies(tmp_path))
    assert [rule.id for rule in policies.rules] == sorted(rule.id for rule in policies.rules)
    assert set(policies.tiers) == {"critical", "standard", "sandbox"}


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("DR998_syntax.py", "x = (\n", "cannot load rule file"),
        ("DR998_raises.py", "\n\nraise RuntimeError('boom')\n", "cannot load rule file: boom"),
        ("DR998_empty.py", "x = 1\n", "exactly one rule"),
        ("DR998_bad_import.py", "from policies_copy import *\n", "cannot load rule file"),
    ],
)
def test_broken_rule_files(tmp_path: Path, name: str, source: str, message: str) -> None:
    policies = copy_policies(tmp_path)
    (policies / "rules" / name).write_text(source, encoding="utf-8")
    with pytest.raises(UnusableInputError) as failure:
        load_rules(policies / "rules")
    (error,) = failure.value.errors
    assert error.location.file.endswith(name)
    assert message in error.message


def test_a_rule_file_whose_id_does_not_match_its_name(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    source = (policies / "rules" / "DR102_tls_enabled.py").read_text(encoding="utf-8")
    (policies / "rules" / "DR997_copy.py").write_text(source, encoding="utf-8")
    with pytest.raises(UnusableInputError, match="exactly one rule whose ID starts its name"):
        load_rules(policies / "rules")


def test_a_bad_tier_preset_is_located(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    preset = policies / "tiers" / "standard.yaml"
    preset.write_text(preset.read_text(encoding="utf-8").replace("minMembers: 3", "minMember: 3"), encoding="utf-8")
    with pytest.raises(UnusableInputError) as failure:
        PolicySet.load(policies)
    rendered = [error.render() for error in failure.value.errors]
    assert any("standard.yaml" in text and "did you mean 'minMembers'?" in text for text in rendered), rendered


def test_a_rule_must_say_what_must_be_true() -> None:
    from drkit.policy.rule import rule

    with pytest.raises(ValueError, match="starting with 'Ensure '"):
        rule(id="DR900", name="Members are odd", category="availability", severity="high", remediation="x")
    with pytest.raises(ValueError, match="category"):
        rule(id="DR900", name="Ensure x", category="vibes", severity="high", remediation="x")
    with pytest.raises(ValueError, match="DR001"):
        rule(id="R1", name="Ensure x", category="availability", severity="high", remediation="x")
    with pytest.raises(ValueError, match="resource rules are numbered DR4xx"):
        rule(id="DR050", name="Ensure x", category="security", severity="high", remediation="x", scope="resources")
    with pytest.raises(ValueError, match="resource rules are numbered DR4xx"):
        rule(id="DR450", name="Ensure x", category="security", severity="high", remediation="x")
    with pytest.raises(ValueError, match="scope 'cloud'"):
        rule(id="DR450", name="Ensure x", category="security", severity="high", remediation="x", scope="cloud")  # type: ignore[arg-type]


def test_a_rule_that_raises_is_reported_at_its_line(tmp_path: Path) -> None:
    from drkit.validate import validate_file
    from tests.conftest import STACKS, TODAY

    policies = copy_policies(tmp_path)
    source = (
        "from drkit.policy import rule\n\n\n"
        "@rule(id='DR998', name='Ensure nothing', category='availability', severity='low', remediation='x')\n"
        "def check(ctx):\n"
        "    return [1 / 0]\n"
    )
    (policies / "rules" / "DR998_crash.py").write_text(source, encoding="utf-8")
    report = validate_file(STACKS / "Pulumi.prod.yaml", PolicySet.load(policies), TODAY)
    assert report.verdict == "error"
    (error,) = report.errors
    assert error.location.file.endswith("DR998_crash.py") and error.location.line == 6
    assert "rule DR998 failed while checking: ZeroDivisionError" in error.message


def test_resource_rules_load_from_the_same_directory_with_their_scope(tmp_path: Path) -> None:
    policies = PolicySet.load(copy_policies(tmp_path))
    assert {rule.scope for rule in policies.rules} == {"spec", "resources"}
    assert all(rule.id.startswith("DR4") for rule in policies.resource_rules)
    assert set(policies.spec_rules) | set(policies.resource_rules) == set(policies.rules)
    # A broken resource rule file is reported like a broken spec rule file.
    (tmp_path / "policies" / "rules" / "DR499_broken.py").write_text("x = (\n", encoding="utf-8")
    with pytest.raises(UnusableInputError) as failure:
        load_rules(tmp_path / "policies" / "rules")
    assert failure.value.errors[0].location.file.endswith("DR499_broken.py")
