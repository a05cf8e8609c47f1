"""`pytest -m 'not live'` is the fast suite: no test that starts etcd, a lab or Ansible runs is in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(*arguments: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}


def test_live_modules_and_tests_with_process_fixtures_are_out_of_the_fast_suite() -> None:
    fast = _collected("-m", "not live", "tests/operate", "tests/provision/test_guard_fence_script.py")
    assert "tests/operate/test_backup_restore_live.py" not in fast
    assert "tests/operate/test_member_runtime.py" not in fast  # its `installed` fixture runs Ansible
    # Pure tests of a module that also has live ones stay in.
    assert "tests/provision/test_guard_fence_script.py" in fast
    assert "tests/operate/test_etcd_tools.py" in fast


def test_the_live_selection_holds_the_labs() -> None:
    live = _collected("-m", "live", "tests/sandbox", "tests/operate/test_cluster_gate.py")
    assert "tests/sandbox/test_lab_live.py" in live
    assert "tests/operate/test_cluster_gate.py" not in live
