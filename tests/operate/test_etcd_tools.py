"""Which tool runs a snapshot command on a host: etcdutl where the member's release has it, etcdctl's otherwise."""

from __future__ import annotations

import stat
from pathlib import Path

from ansible_collections.drkit.registry.plugins.module_utils.etcd_tools import snapshot_command

STATUS = ["/opt/etcd/current/etcdctl", "snapshot", "status"]


def _tool(path: Path, executable: bool = True) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | (stat.S_IXUSR if executable else 0))
    return path


def test_release_with_etcdutl_runs_it(tmp_path: Path) -> None:
    etcdutl = _tool(tmp_path / "etcdutl")
    assert snapshot_command(STATUS, str(etcdutl)) == [str(etcdutl), "snapshot", "status"]


def test_release_without_etcdutl_keeps_etcdctl(tmp_path: Path) -> None:
    assert snapshot_command(STATUS, str(tmp_path / "etcdutl")) == STATUS


def test_no_etcdutl_named_keeps_etcdctl() -> None:
    assert snapshot_command(STATUS, None) == STATUS
    assert snapshot_command(STATUS, "") == STATUS


def test_a_file_that_cannot_run_is_not_used(tmp_path: Path) -> None:
    assert snapshot_command(STATUS, str(_tool(tmp_path / "etcdutl", executable=False))) == STATUS


def test_the_given_command_is_not_changed(tmp_path: Path) -> None:
    command = list(STATUS)
    snapshot_command(command, str(_tool(tmp_path / "etcdutl")))
    assert command == STATUS
