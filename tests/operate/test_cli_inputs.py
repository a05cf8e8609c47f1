"""Operating commands refuse unusable input with exit 2 and say what to pass, before running anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from drkit.cli import main
from drkit.operate.inventory import InventoryError, resolve_inventory
from drkit.operate.runner import _Events


def test_no_lab_and_no_inventory_says_how_to_get_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["backup", "--stack", "prod", "--state-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no inventory for stack prod: pass --inventory FILE" in result.output
    assert "drkit inventory --stack prod" in result.output and "Traceback" not in result.output


def test_a_missing_inventory_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["restore", "--stack", "prod", "-i", str(tmp_path / "inv.yml")])
    assert result.exit_code == 2
    assert f"--inventory {tmp_path / 'inv.yml'}: no such file" in result.output


def test_another_stacks_inventory_is_refused(tmp_path: Path) -> None:
    inventory = tmp_path / "staging.yml"
    inventory.write_text("all:\n  vars:\n    drkit_stack: staging\n")
    with pytest.raises(InventoryError, match="is for stack staging, not prod"):
        resolve_inventory("prod", inventory, tmp_path)


def test_progress_is_one_line_per_task_with_its_outcomes() -> None:
    lines: list[str] = []
    events = _Events(lines.append)
    events.handle({"event": "playbook_on_task_start", "event_data": {"task": "Save a snapshot"}})
    events.handle({"event": "runner_on_ok", "event_data": {"host": "a", "res": {"changed": True}}})
    events.handle({"event": "playbook_on_task_start", "event_data": {"task": "Ship it"}})
    events.handle({"event": "runner_on_failed", "event_data": {"host": "a", "res": {"msg": "rsync: refused"}}})
    events.handle({"event": "playbook_on_stats", "event_data": {"artifact_data": {"report": 1}}})
    assert len(lines) == 2
    assert lines[0].startswith("  ✓") and lines[0].endswith("Save a snapshot  changed=1  [a]")
    assert lines[1].startswith("  ✗") and lines[1].endswith("Ship it  failed=1  [a]")
    assert events.stats == {"report": 1}
    assert events.failures[0].message == "rsync: refused"


def test_a_task_over_several_hosts_counts_them_without_names() -> None:
    lines: list[str] = []
    events = _Events(lines.append)
    events.handle({"event": "playbook_on_task_start", "event_data": {"task": "Stop etcd"}})
    for host in ("a", "b"):
        events.handle({"event": "runner_on_ok", "event_data": {"host": host, "res": {"changed": True}}})
    events.handle({"event": "playbook_on_stats", "event_data": {}})
    assert lines[0].endswith("Stop etcd  changed=2")


@pytest.mark.parametrize("version", ["3.5", "v3.5.17", "latest"])
def test_an_upgrade_target_that_is_not_a_release_version_is_refused(version: str) -> None:
    result = CliRunner().invoke(main, ["upgrade", "--stack", "local", "--to", version])
    assert result.exit_code == 2
    assert "is not an etcd release version: give major.minor.patch, like 3.5.17" in result.output
    assert "Traceback" not in result.output


def test_an_unsafe_upgrade_target_without_a_waiver_is_refused_before_any_playbook(tmp_path: Path) -> None:
    # prod waives nothing: 3.5.1's known data-inconsistency bugs refuse it (policy DR101), lab or not.
    result = CliRunner().invoke(main, ["upgrade", "--stack", "prod", "--to", "3.5.1", "-i", str(tmp_path / "x.yml")])
    assert result.exit_code == 2
    assert "etcd 3.5.1: 3.5.0-3.5.2 can leave members with diverging data" in result.output
    assert "(policy DR101)" in result.output and "waive the rule in stacks/Pulumi.prod.yaml" in result.output
