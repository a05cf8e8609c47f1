"""The files a drill leaves (report.md, result.json, timeline.png), `drkit drill report` over them, and the
measured constants that `drkit validate`'s estimates take in place of their defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from drkit.calibration import load_measured, measured_path
from drkit.drill.aggregate import Summary
from drkit.drill.calibration import record_constants
from drkit.drill.history import parse_since, past_drills, render_history, since
from drkit.drill.report_files import write_report
from drkit.estimates import estimate_all
from drkit.policy.catalog import PolicySet
from drkit.validate import validate_file
from tests.conftest import STACKS, TODAY, committed_spec, write_stack
from tests.drill.fixtures import drill_run

ENV = {"drkitCommit": "abc123", "network": "namespaces"}


def test_a_report_tells_the_story_and_keeps_every_figure(tmp_path: Path) -> None:
    summary = Summary("region", "local", [drill_run(), drill_run(rpo_seconds=7.5)])
    directory = write_report(summary, ENV, tmp_path)
    assert directory.parent == tmp_path / "local" and directory.name.endswith("-region")
    markdown = (directory / "report.md").read_text()
    assert "**Verdict: FAIL** over 2 run(s); 4 acknowledged writes lost." in markdown
    assert "- run 2: RPO 7.50s missed the region objective of 5s" in markdown
    assert "RTO 2m, RPO 5s" in markdown and "drkit failover --to lab-west" in markdown
    assert "- drkitCommit: abc123" in markdown
    result = json.loads((directory / "result.json").read_text())
    assert result["passed"] is False and result["rpo"]["max"] == 7.5 and result["environment"] == ENV
    png = (directory / "timeline.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_drill_report_lists_past_drills_against_their_objectives(tmp_path: Path) -> None:
    write_report(Summary("region", "local", [drill_run()]), ENV, tmp_path)
    write_report(Summary("member", "local", [drill_run(kind="member", rto_seconds=99.0)], True), ENV, tmp_path)
    rows = past_drills(tmp_path / "local")
    assert {row["kind"] for row in rows} == {"region", "member"}
    text = render_history("local", rows)
    assert "drills of stack local: 2" in text
    assert "99.00s / 2m" in text and "FAIL (tightened objective)" not in text  # 99s is within 2m: PASS
    assert "PASS (tightened objective)" in text


def test_drill_report_since_keeps_the_drills_finished_since_then_with_their_paths() -> None:
    rows = [
        {"at": "2026-12-07T15:00:00+00:00", "kind": "restore", "report": "/r/1"},
        {"at": "2026-12-07T15:10:00+00:00", "kind": "region", "report": "/r/2"},
        {"report": "/r/3", "unreadable": True},
        {"at": "", "kind": "member", "report": "/r/4"},
    ]
    moment = parse_since("2026-12-07T15:05:00Z")
    assert [row["report"] for row in since(rows, moment)] == ["/r/2", "/r/3"]
    assert parse_since("2026-12-07T15:05:00") == moment  # no zone: UTC
    with pytest.raises(ValueError, match="is not a time"):
        parse_since("yesterday")
    full = {"runs": 1, "passed": True, "rtoMax": 1.0, "rpoMax": 0.0, "objectiveRto": 120.0, "objectiveRpo": 5.0,
            "objectiveOverridden": False, "lost": 0}  # fmt: skip
    text = render_history("local", [rows[1] | full], paths=True)
    assert "  region    /r/2/report.md" in text


def test_measured_constants_are_merged_worst_first_and_read_back(tmp_path: Path) -> None:
    runs = [drill_run(constants={"promotionSeconds": 2.0}), drill_run(constants={"promotionSeconds": 3.5})]
    path = record_constants(tmp_path, Summary("region", "local", runs))
    assert path == measured_path(tmp_path, "local")
    record_constants(tmp_path, Summary("leader", "local", [drill_run(constants={"leaderElectionSeconds": 1.2})]))
    measured = load_measured(path)
    assert measured["promotionSeconds"].value == 3.5 and measured["promotionSeconds"].runs == 2
    assert measured["leaderElectionSeconds"].drill == "leader"
    path.write_text("constants: [not, a, mapping]\n")
    with pytest.raises(ValueError, match="not a measured-constants file"):
        load_measured(path)


def test_estimates_use_measured_constants_and_say_so(tmp_path: Path, policies: PolicySet) -> None:
    stack = write_stack(tmp_path, "local", committed_spec("local"))
    before = validate_file(stack, policies, TODAY).estimates
    (tmp_path / "measured").mkdir()
    measured = {
        "leaderElectionSeconds": {"value": 1.25, "drill": "leader", "at": "2026-12-07T12:00:00+00:00", "runs": 3},
        "promotionSeconds": {"value": 4.0, "drill": "region", "at": "2026-12-07T12:05:00+00:00", "runs": 1},
    }
    (tmp_path / "measured" / "local.yaml").write_text(yaml.safe_dump({"constants": measured}))
    after = validate_file(stack, policies, TODAY).estimates
    assert after["member"].rto == 1.25 and after["member"].rto != before["member"].rto
    assert "measured by drill leader (2026-12-07T12:00:00+00:00, 3 runs)" in after["member"].rto_basis
    assert "promotion 4s measured by drill region" in after["region"].rto_basis
    # Without measurements the defaults stand, and the committed stacks/ has no measured file of tests.
    report = validate_file(STACKS / "Pulumi.local.yaml", policies, TODAY)
    assert report.spec is not None
    assert estimate_all(report.spec)["member"].rto_basis == before["member"].rto_basis


def test_a_damaged_measured_file_is_a_located_error(tmp_path: Path, policies: PolicySet) -> None:
    stack = write_stack(tmp_path, "local", committed_spec("local"))
    (tmp_path / "measured").mkdir()
    (tmp_path / "measured" / "local.yaml").write_text("constants: {x: {value: nope}}\n")
    report = validate_file(stack, policies, TODAY)
    assert report.verdict == "error"
    assert "not a measured-constants file" in report.errors[0].render()
