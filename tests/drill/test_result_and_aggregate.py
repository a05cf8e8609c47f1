"""How a run is judged (each reason a check can give) and how runs add up."""

from __future__ import annotations

import pytest

from drkit.drill.aggregate import Summary
from drkit.drill.measure import Registrations
from tests.drill.fixtures import drill_run


def test_a_run_within_its_objectives_passes_with_no_reason() -> None:
    run = drill_run()
    assert run.passed and run.reasons == [] and run.consistent


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"rto_seconds": None}, "no write was acknowledged"),
        ({"rto_seconds": 121.0}, "RTO 121.00s missed the region objective of 2m"),
        ({"rpo_seconds": 6.0}, "RPO 6.00s missed the region objective of 5s"),
        ({"objective_rpo": 0.0, "rpo_seconds": 0.0}, "2 acknowledged writes lost (objective RPO 0s)"),
        ({"registrations": Registrations(4, 3, 2, 2)}, "only 3 of 4 live instances still registered"),
        ({"registrations": Registrations(4, 4, 2, 1)}, "1 of 2 dead instances still registered past leaseTtl"),
        ({"hashes": {"a": 1, "b": 2}}, "hashkv differs"),
        ({"split_brain": 3}, "split brain: 3 writes"),
        ({"old_primary_acks_after_fence": 1}, "the isolated old primary acknowledged 1 writes after"),
    ],
)
def test_each_missed_check_is_a_reason(changes: dict[str, object], reason: str) -> None:
    run = drill_run(**changes)
    assert not run.passed
    assert any(reason in why for why in run.reasons), run.reasons


def test_summary_spreads_and_totals_over_runs() -> None:
    runs = [drill_run(rto_seconds=float(value), rpo_seconds=value / 10) for value in (4, 1, 3, 2)]
    summary = Summary("region", "local", [*runs, drill_run(rto_seconds=9.0, rpo_seconds=6.0)])
    assert summary.rto is not None and (summary.rto.min, summary.rto.median, summary.rto.max) == (1.0, 3.0, 9.0)
    assert summary.lost == 10
    assert not summary.passed and summary.reasons == ["run 5: RPO 6.00s missed the region objective of 5s"]
    assert summary.worst.rto_seconds == 9.0
    data = summary.to_json()
    assert data["lostAcknowledgedWrites"] == 10 and [run["passed"] for run in data["runs"]] == [True] * 4 + [False]
    assert "timeline" not in data["runs"][0]
