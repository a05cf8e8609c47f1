"""The rules that judge `drkit upgrade` targets: the stack's own rules and waivers, over the spec as it would
be after the upgrade."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from drkit.operate.upgrade_target import judge_target
from drkit.policy.catalog import PolicySet
from drkit.spec.model import Spec, Waiver
from drkit.validate import validate_file
from tests.conftest import ROOT

TODAY = date(2026, 12, 2)


def spec_of(stack: str, policies: PolicySet) -> Spec:
    report = validate_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml", policies, TODAY)
    assert report.spec is not None
    return report.spec


def test_a_safe_target_needs_no_waiver(policies: PolicySet) -> None:
    verdict = judge_target(spec_of("prod", policies), policies, "3.5.27", TODAY)
    assert verdict.refusals == () and verdict.waivers == ()


def test_a_target_with_known_bugs_or_unknown_is_refused(policies: PolicySet) -> None:
    prod = spec_of("prod", policies)
    unsafe = judge_target(prod, policies, "3.5.1", TODAY)
    assert len(unsafe.refusals) == 1 and "3.5.0-3.5.2 can leave members with diverging data" in unsafe.refusals[0]
    unknown = judge_target(prod, policies, "3.9.0", TODAY)
    assert "not a release line drkit knows" in unknown.refusals[0]


def test_the_stacks_waiver_accepts_it_until_it_expires(policies: PolicySet) -> None:
    local = spec_of("local", policies)
    verdict = judge_target(local, policies, "3.5.1", TODAY)
    assert verdict.refusals == ()
    assert verdict.waivers[0].startswith("DR101 waived until 2027-05-31: The lab proves the rolling 3.4 -> 3.5")
    expired = replace(local, waivers=tuple(replace(w, expires=date(2026, 12, 1)) for w in local.waivers))
    assert judge_target(expired, policies, "3.5.1", TODAY).refusals


def test_a_waiver_kept_for_upgrade_targets_is_not_reported_unused(policies: PolicySet) -> None:
    # local runs 3.4.23 (DR101 passes) and waives DR101 for its upgrade to 3.5.1: that waiver serves.
    report = validate_file(ROOT / "stacks" / "Pulumi.local.yaml", policies, TODAY)
    assert report.verdict == "pass" and report.unused_waivers == ()
    assert any(isinstance(w, Waiver) and w.rule == "DR101" for w in report.spec.waivers)  # type: ignore[union-attr]
