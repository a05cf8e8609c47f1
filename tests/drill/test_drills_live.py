"""Every fault drill through the real console script on one shared live lab (namespaces where they can be
built, so the partition drill's cut is real): each must pass with no acknowledged write lost, leave its
report files, and one deliberately tightened objective must fail with the reason in the report.

The drills restore the lab themselves (restarted members, a failed-back old primary), so the tests do not
depend on their order; reports and measured constants go to temporary dirs, never the checkout's."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.policy.catalog import PolicySet
from drkit.sandbox.lab import Lab
from drkit.sandbox.network import choose_mode
from drkit.sandbox.plan import plan_lab
from tests.conftest import ROOT
from tests.drill.test_restore_drill_live import DRKIT
from tests.sandbox.conftest import free_block, live_lab, local_spec, policies_module  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def drill_lab(policies_module: PolicySet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:  # noqa: F811
    network = os.environ.get("DRKIT_LAB_NETWORK") or choose_mode("auto")
    state = tmp_path_factory.mktemp("drill-lab") / "local"
    plan = plan_lab("local", local_spec(policies_module), free_block(), network, state)
    with live_lab(Lab.prepare(plan, state)) as lab:
        yield lab


def _drill(lab: Lab, out: Path, kind: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = [
        str(DRKIT), "drill", kind, "--state-dir", str(lab.paths.root), "--format", "json",
        "--reports-dir", str(out / "reports"), "--measured-dir", str(out / "measured"), *extra,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    return result, data


def _passed(result: subprocess.CompletedProcess[str], data: dict[str, Any]) -> dict[str, Any]:
    assert result.returncode == 0, (data.get("reasons"), result.stderr[-3000:])
    assert data["passed"] and data["lostAcknowledgedWrites"] == 0
    run = data["runs"][0]
    assert run["acked"] > 50 and run["consistent"] and len(run["hashes"]) == 3
    assert run["registrations"] == {"live": 4, "live_kept": 4, "dead": 2, "dead_expired": 2}
    assert run["split_brain"] == 0
    report = Path(data["report"])
    assert (report / "report.md").is_file() and (report / "result.json").is_file()
    assert (report / "timeline.png").read_bytes().startswith(b"\x89PNG")
    return run


@pytest.mark.parametrize("kind", ["member", "leader", "az"])
def test_quorum_keeping_drills_lose_nothing(drill_lab: Lab, tmp_path: Path, kind: str) -> None:
    run = _passed(*_drill(drill_lab, tmp_path, kind))
    assert run["rpo_seconds"] == 0 and 0 < run["rto_seconds"] <= run["objective_rto"]
    measured = (tmp_path / "measured" / "local.yaml").read_text()
    name = {"member": "memberReplaceSeconds", "leader": "leaderElectionSeconds", "az": "memberStartSeconds"}[kind]
    assert name in measured


def test_region_drill_promotes_the_standby_and_fails_back(drill_lab: Lab, tmp_path: Path) -> None:
    primary = Lab.existing(drill_lab.paths.root).plan.primary.name
    run = _passed(*_drill(drill_lab, tmp_path, "region"))
    assert run["serving_region"] != primary and run["rpo_seconds"] <= run["objective_rpo"]
    after = {region.name: region.role for region in Lab.existing(drill_lab.paths.root).plan.regions}
    assert after == {primary: "standby", run["serving_region"]: "primary"}, "the old primary is a standby again"


def test_partition_drill_counts_no_ack_from_the_isolated_old_primary(drill_lab: Lab, tmp_path: Path) -> None:
    if not drill_lab.network.enabled:
        result, _ = _drill(drill_lab, tmp_path, "partition")
        assert result.returncode == 2 and "namespaces" in result.stderr
        pytest.skip("a loopback lab cannot be partitioned (the refusal was checked)")
    run = _passed(*_drill(drill_lab, tmp_path, "partition"))
    assert run["old_primary_acks_after_fence"] == 0
    # Not 0 for want of trying: the client inside the cut had writes acknowledged until the fence.
    inside = next(action for action in run["actions"] if action.startswith("the client inside"))
    assert int(inside.split(": ")[1].split()[0]) > 0, inside
    assert Lab.existing(drill_lab.paths.root).network.saved().partitioned == frozenset()


def test_a_tightened_objective_fails_the_drill_and_the_report_says_why(drill_lab: Lab, tmp_path: Path) -> None:
    result, data = _drill(drill_lab, tmp_path, "az", "--objective-rto", "1ms")
    assert result.returncode == 1, result.stderr[-3000:]
    assert not data["passed"] and data["objectiveOverridden"]
    assert any("missed the az objective of" in why for why in data["reasons"]), data["reasons"]
    report = (Path(data["report"]) / "report.md").read_text()
    assert "**Verdict: FAIL**" in report and "missed the az objective of" in report
    assert "tightened on the command line" in report


def test_unusable_input_is_exit_2_with_a_message(drill_lab: Lab, tmp_path: Path) -> None:
    result, _ = _drill(drill_lab, tmp_path, "member", "--objective-rto", "soon")
    assert result.returncode == 2 and "not a duration" in result.stderr
    result, _ = _drill(drill_lab, tmp_path, "lag", "--delay", "slow")
    assert result.returncode == 2 and "'slow' is not a delay" in result.stderr
    listing = subprocess.run(
        [str(DRKIT), "drill", "report", "--reports-dir", str(tmp_path / "none")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert listing.returncode == 2 and "no drill reports for stack local" in listing.stderr


def test_lag_drill_measures_the_mirror_lag_under_a_delay_against_max_lag(drill_lab: Lab, tmp_path: Path) -> None:
    # Well inside the lab's replication.maxLag of 2s: passes, and the lag probed is the delay (and a little).
    run = _passed(*_drill(drill_lab, tmp_path, "lag", "--delay", "300ms"))
    assert run["max_lag_seconds"] == 2.0 and 0.3 <= run["lag_seconds"] < 1.0, run["lag_samples"]
    # Past it: exit 1, and the report says the lag exceeded maxLag.
    result, data = _drill(drill_lab, tmp_path, "lag", "--delay", "2.5s", "--no-calibrate")
    assert result.returncode == 1, result.stderr[-3000:]
    assert data["lostAcknowledgedWrites"] == 0 and data["runs"][0]["lag_seconds"] >= 2.5
    assert any("exceeded replication.maxLag 2s" in why for why in data["reasons"]), data["reasons"]
    assert "exceeded replication.maxLag 2s" in (Path(data["report"]) / "report.md").read_text()
    # The lab's own mirror is back, and no proxy or make-mirror of the drill's is left.
    processes = Lab.existing(drill_lab.paths.root).supervisor.processes()
    assert processes["mirror-lab-west"]["statename"] == "RUNNING"
    pgrep = ["pgrep", "-f", "drkit.sandbox.delay_proxy"]
    leftovers = subprocess.run(pgrep, capture_output=True, text=True, check=False)
    assert not leftovers.stdout.strip(), leftovers.stdout
