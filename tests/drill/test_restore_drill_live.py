"""The README's main job: the restore drill on a fresh lab, through the real console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.supervisor_client import pid_alive
from tests.conftest import ROOT
from tests.sandbox.conftest import free_block

DRKIT = Path(sys.executable).with_name("drkit")


def test_restore_drill_brings_back_every_write_made_before_the_backup(tmp_path: Path) -> None:
    state = tmp_path / "local"
    pids: set[int] = set()
    try:
        command = [str(DRKIT), "drill", "restore", "--state-dir", str(state), "--base-port", str(free_block())]
        command += ["--reports-dir", str(tmp_path / "reports"), "--measured-dir", str(tmp_path / "measured")]
        command += ["--ballast", "4MiB"]
        result = subprocess.run(
            [*command, "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        lab = Lab.existing(state)
        if lab.supervisor.running():
            pids.update(lab.supervisor.pids())
            pids.add(lab.supervisor.pid or 0)
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout)
        assert report["passed"] is True
        assert report["writes_before_backup"] > 0 and report["missing_before_backup"] == []
        assert 0 < report["rto_seconds"] <= report["objective_rto"]
        assert 0 <= report["rpo_seconds"] <= report["objective_rpo"]
        assert report["live_instances_registered"] == report["live_instances"] == 4
        assert report["dead_instances_expired"] == report["dead_instances"] == 2
        assert report["re_registrations"] >= 4, "live instances re-register once their old lease is revoked"
        assert all(Path(path).is_dir() for path in report["moved_aside"])
        # The same report files as every drill: the story, the figures, the timeline.
        files = Path(report["report"])
        assert files.parent == tmp_path / "reports" / "local" and files.name.endswith("-restore")
        assert "**Verdict: PASS**" in (files / "report.md").read_text()
        assert (files / "timeline.png").read_bytes().startswith(b"\x89PNG")
        # Calibration from the playbook's task timings, on a database with a little ballast (removed after).
        measured = yaml.safe_load((tmp_path / "measured" / "local.yaml").read_text())["constants"]
        assert {"restoreSeconds", "restoreMiBPerSecond", "restoreDatabaseMiB", "memberStartSeconds"} <= set(measured)
        assert measured["restoreDatabaseMiB"]["value"] >= 4 and report["ballast_keys"] == 4
        endpoint = f"http://127.0.0.1:{Lab.existing(state).plan.endpoint_port}"
        assert etcd_client.count(endpoint, "/drill/ballast/") == 0
    finally:
        if (state / "lab.json").exists():
            Lab.existing(state).down(purge=False)
        survivors = [pid for pid in pids if pid and pid_alive(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        if survivors:
            pytest.fail(f"lab processes survived `down`: {survivors}")
