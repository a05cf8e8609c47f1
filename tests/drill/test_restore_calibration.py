"""The restore drill's calibration from the restore playbook's task timings (hand-made job events), the
ballast's size, and how drkit validate's data estimate takes the throughput (only from a database that is
big enough) and says where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from drkit.drill.aggregate import Summary
from drkit.drill.calibration import record_constants
from drkit.drill.restore_calibration import ballast_keys, read_events, restore_constants, task_spans
from drkit.policy.catalog import PolicySet
from drkit.validate import validate_file
from tests.conftest import TODAY, committed_spec, write_stack
from tests.drill.fixtures import drill_run

MIB = 1024**2


def _event(task: str, host: str, start: str, end: str, event: str = "runner_on_ok") -> dict[str, object]:
    day = "2026-12-07T15:41:"
    return {"event": event, "event_data": {"task": task, "host": host, "start": day + start, "end": day + end}}


EVENTS = [
    _event("Pick the snapshot and fetch it to lab-east-1", "lab-east-1", "17.0+00:00", "18.0+00:00"),
    _event("Fetch and verify the same snapshot on every other member", "lab-east-2", "18.1+00:00", "18.6+00:00"),
    _event("Fetch and verify the same snapshot on every other member", "lab-east-3", "18.2+00:00", "19.1+00:00"),
    _event("Move the data dir aside (never deleted), restore", "lab-east-1", "20.5+00:00", "22.5+00:00"),
    _event("Move the data dir aside (never deleted), restore", "lab-east-2", "20.6+00:00", "24.5+00:00"),
    _event("Wait until every member is healthy, and record it", "lab-east-1", "24.6+00:00", "25.4+00:00"),
    _event("Wait until every member is healthy, and record it", "lab-east-2", "24.7+00:00", "25.6+00:00"),
    _event("Show the restore plan", "lab-east-1", "10.0+00:00", "30.0+00:00"),  # not a data task
    {"event": "playbook_on_task_start", "event_data": {"task": "Move the data dir aside"}},  # no times
]


def test_task_spans_run_from_the_first_hosts_start_to_the_last_hosts_end() -> None:
    spans = task_spans(EVENTS)
    assert spans["Fetch and verify the same snapshot on every other member"] == pytest.approx(1.0)
    assert spans["Move the data dir aside (never deleted), restore"] == pytest.approx(4.0)


def test_restore_constants_count_the_data_tasks_and_the_wait_for_health() -> None:
    constants = restore_constants(task_spans(EVENTS), 64 * MIB)
    # fetch 1.0 + verify on the others 1.0 + restore 4.0 = 6 s for 64 MiB
    assert constants["restoreMiBPerSecond"] == pytest.approx(64 / 6.0)
    assert constants["restoreDatabaseMiB"] == 64
    assert constants["memberStartSeconds"] == pytest.approx(1.0)
    assert restore_constants({}, 64 * MIB) == {}
    assert "restoreMiBPerSecond" not in restore_constants(task_spans(EVENTS), 0)


def test_job_events_are_read_from_the_artifacts_and_a_broken_one_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "job_events").mkdir()
    (tmp_path / "job_events" / "1-a.json").write_text(json.dumps(EVENTS[0]))
    (tmp_path / "job_events" / "2-b.json").write_text("{not json")
    assert read_events(tmp_path) == [EVENTS[0]]
    assert read_events(tmp_path / "none") == []


def test_ballast_is_whole_mebibytes() -> None:
    assert [ballast_keys(size) for size in (1, MIB, MIB + 1, 64 * MIB)] == [1, 1, 2, 64]


def test_a_throughput_is_recorded_worst_first_as_the_lowest(tmp_path: Path) -> None:
    runs = [drill_run(constants={"restoreMiBPerSecond": 9.0}), drill_run(constants={"restoreMiBPerSecond": 4.0})]
    path = record_constants(tmp_path, Summary("restore", "local", runs))
    assert path is not None and yaml.safe_load(path.read_text())["constants"]["restoreMiBPerSecond"]["value"] == 4.0


def _measured(tmp_path: Path, rate: float, size: float) -> None:
    (tmp_path / "measured").mkdir(exist_ok=True)
    at = "2026-12-07T16:00:00+00:00"
    constants = {
        "restoreMiBPerSecond": {"value": rate, "drill": "restore", "at": at, "runs": 1},
        "restoreDatabaseMiB": {"value": size, "drill": "restore", "at": at, "runs": 1},
        "memberStartSeconds": {"value": 1.5, "drill": "restore", "at": at, "runs": 1},
    }
    (tmp_path / "measured" / "local.yaml").write_text(yaml.safe_dump({"constants": constants}))


def test_validate_uses_a_throughput_measured_on_a_big_enough_database_and_says_so(
    tmp_path: Path, policies: PolicySet
) -> None:
    stack = write_stack(tmp_path, "local", committed_spec("local"))
    _measured(tmp_path, rate=20.0, size=64.0)
    data = validate_file(stack, policies, TODAY).estimates["data"]
    # 512 MiB quota at 20 MiB/s = 25.6 s, + operator 1m + start 1.5 s (also measured by the restore drill)
    assert data.rto == pytest.approx(60 + 512 / 20.0 + 1.5)
    assert "at 20.0MiB/s measured by drill restore on a 64.0MiB database (2026-12-07T16:00:00+00:00, 1 runs)" in (
        data.rto_basis
    )
    assert "start 1.5s measured by drill restore" in data.rto_basis


def test_validate_keeps_the_default_throughput_for_a_tiny_database_and_says_why(
    tmp_path: Path, policies: PolicySet
) -> None:
    stack = write_stack(tmp_path, "local", committed_spec("local"))
    before = validate_file(stack, policies, TODAY).estimates["data"]
    assert before.rto is not None
    _measured(tmp_path, rate=0.05, size=0.2)
    data = validate_file(stack, policies, TODAY).estimates["data"]
    assert data.rto == pytest.approx(before.rto - 30 + 1.5)  # only the measured start changed it
    assert "at the default 50MiB/s (the 0.05MiB/s measured by drill restore on a 0.2MiB database" in data.rto_basis
    assert "under 32MiB fixed costs dominate" in data.rto_basis
