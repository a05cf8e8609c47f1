"""The lag drill's judgement on hand-made probes (no lab), and how its figures show in reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.drill.aggregate import Summary
from drkit.drill.lag_drill import LagSample, lag_reason, probe_timeout, window, worst_lag
from drkit.drill.render import render_summary
from drkit.drill.report_files import render_markdown
from tests.drill.fixtures import drill_run


def test_window_and_probe_timeout_grow_with_the_delay() -> None:
    assert window(0.3) == 4.0 and window(2.5) == 7.5
    assert probe_timeout(0.5, 2.0) == 7.0 and probe_timeout(5.0, 2.0) == 13.0


@pytest.mark.parametrize(
    ("lags", "expected"),
    [([], None), ([0.5, 0.52, 0.51], 0.52), ([0.5, None], 7.0)],  # a probe never seen counts as the timeout
)
def test_worst_lag(lags: list[float | None], expected: float | None) -> None:
    assert worst_lag([LagSample(float(i), lag) for i, lag in enumerate(lags)], timeout=7.0) == expected


def test_lag_within_max_lag_passes_and_past_it_fails_saying_why() -> None:
    def samples(*lags: float | None) -> list[LagSample]:
        return [LagSample(float(i), lag) for i, lag in enumerate(lags)]

    assert lag_reason(samples(0.5, 2.0), 7.0, max_lag=2.0, delay=0.5) is None  # at maxLag is within it
    assert lag_reason(samples(0.5, 2.52), 7.0, 2.0, 2.5) == (
        "mirror lag 2.52s exceeded replication.maxLag 2s (delay 2.5s each way on the mirror's path)"
    )
    never = lag_reason(samples(0.5, None), 7.0, 2.0, 3.0)
    assert never is not None and "1 of 2 probes had not reached the standby 7.0s after" in never
    assert lag_reason([], 7.0, 2.0, 0.5) == "no lag probe was taken under the delay"


def test_reports_show_the_lag_against_max_lag(tmp_path: Path) -> None:
    run = drill_run(
        kind="lag", lag_seconds=2.52, max_lag_seconds=2.0, delay_seconds=2.5,
        lag_samples=[(2.5, 2.52), (5.0, None)], failed_checks=["mirror lag 2.52s exceeded replication.maxLag 2s"],
    )  # fmt: skip
    summary = Summary("lag", "local", [run])
    text = render_summary(summary, tmp_path, None)
    assert "mirror lag under 2.5s of delay each way: worst 2.52s (replication.maxLag 2s)" in text
    assert "why: run 1: mirror lag 2.52s exceeded replication.maxLag 2s" in text
    markdown = render_markdown(summary, {"drkitCommit": "abc"}, "now")
    assert "| 1 | 2.52s | 2.5: 2.52s, 5.0: none |" in markdown
    assert json.loads(json.dumps(summary.to_json()))["runs"][0]["lag_samples"] == [[2.5, 2.52], [5.0, None]]
