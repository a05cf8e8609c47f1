"""One member's journaled restore (module_utils/member_restore.py): what each step does from each phase a
journal can be in, with recording stop/start/restore commands and real files (no etcd: the live restore
tests run the same steps against the lab)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.drkit.registry.plugins.module_utils.member_restore import (
    RestoreStepError,
    healthy_step,
    restore_step,
    stop_step,
)

OPENING = {"snapshot_id": "local-lab-east-20261207T114427Z", "token": "drkit-lab-east-restore-0a1b2c3d4e"}


class Member:
    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "lab-east-1"
        self.data.mkdir()
        (self.data / "member").write_text("old data")
        self.journal_path = tmp_path / "lab-east-1.restore" / "journal.json"
        self.calls: list[str] = []

    def stop(self) -> None:
        self.calls.append("stop")

    def wait(self) -> None:
        self.calls.append("closed")

    def start(self) -> None:
        self.calls.append("start")

    def restore_into(self, into: Path) -> None:
        self.calls.append("restore")
        into.mkdir()
        (into / "member").write_text("restored")

    def journal(self) -> dict[str, object]:
        return dict(json.loads(self.journal_path.read_text()))


def test_a_fresh_restore_stops_moves_aside_restores_and_starts(tmp_path: Path) -> None:
    member = Member(tmp_path)
    journal = stop_step(member.journal_path, {}, OPENING, member.stop, member.wait)
    assert member.calls == ["stop", "closed"] and member.journal()["phase"] == "started"
    journal = restore_step(member.journal_path, journal, member.data, member.restore_into, member.start)
    assert member.calls == ["stop", "closed", "restore", "start"]
    assert journal == member.journal() and journal["phase"] == "restored"
    assert journal["snapshot_id"] == OPENING["snapshot_id"] and journal["token"] == OPENING["token"]
    (aside,) = journal["moved_aside"]  # type: ignore[misc]
    assert (Path(aside) / "member").read_text() == "old data", "the old data dir is kept, moved aside"
    assert (member.data / "member").read_text() == "restored"
    assert not member.data.with_name("lab-east-1.restoring").exists()


def test_a_restore_interrupted_after_the_move_keeps_the_data_moved_aside_and_finishes(tmp_path: Path) -> None:
    member = Member(tmp_path)
    journal = stop_step(member.journal_path, {}, OPENING, member.stop, member.wait)

    def dies(into: Path) -> None:
        into.mkdir()
        (into / "half").write_text("partial")
        raise RestoreStepError("etcdutl snapshot restore was killed")

    with pytest.raises(RestoreStepError):
        restore_step(member.journal_path, journal, member.data, dies, member.start)
    moved = member.journal()
    assert moved["phase"] == "moved" and len(moved["moved_aside"]) == 1  # type: ignore[arg-type]

    member.calls.clear()
    resumed = stop_step(member.journal_path, moved, {**OPENING}, member.stop, member.wait)
    resumed = restore_step(member.journal_path, resumed, member.data, member.restore_into, member.start)
    assert member.calls == ["stop", "closed", "restore", "start"]
    assert resumed["moved_aside"] == moved["moved_aside"], "nothing more to move aside, nothing lost"
    assert (Path(str(moved["moved_aside"][0])) / "member").read_text() == "old data"  # type: ignore[index]
    assert not (member.data / "half").exists() and (member.data / "member").read_text() == "restored"


def test_a_restored_member_is_neither_stopped_nor_moved_aside_again(tmp_path: Path) -> None:
    member = Member(tmp_path)
    journal = stop_step(member.journal_path, {}, OPENING, member.stop, member.wait)
    journal = restore_step(member.journal_path, journal, member.data, member.restore_into, member.start)
    member.calls.clear()
    again = stop_step(member.journal_path, journal, OPENING, member.stop, member.wait)
    again = restore_step(member.journal_path, again, member.data, member.restore_into, member.start)
    assert member.calls == ["start"]
    assert again["moved_aside"] == journal["moved_aside"] and (member.data / "member").read_text() == "restored"


def test_healthy_is_recorded_once_the_member_answers_and_a_member_that_never_does_fails(tmp_path: Path) -> None:
    member = Member(tmp_path)
    journal = stop_step(member.journal_path, {}, OPENING, member.stop, member.wait)
    journal = restore_step(member.journal_path, journal, member.data, member.restore_into, member.start)
    answers = iter([False, False, True])
    healthy = healthy_step(member.journal_path, journal, lambda: next(answers), timeout=5, poll=0.01)
    assert healthy["phase"] == "healthy" and member.journal()["phase"] == "healthy"
    with pytest.raises(RestoreStepError, match=r"did not answer healthy within 0\.05s"):
        healthy_step(member.journal_path, journal, lambda: False, timeout=0.05, poll=0.01)


def _read_step(journal: Path) -> dict[str, object]:
    """The module's read step, run by Ansible itself on localhost (as the restore playbook runs it)."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local", "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", "-m", "drkit.registry.member_restore",
         "-a", f"step=read journal={journal} data_dir={journal.parent / 'data'}"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(root / "playbooks" / "collections"),
             "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"},
    )  # fmt: skip
    outcome: dict[str, object] = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return outcome


def test_the_read_step_returns_the_journal_and_changes_nothing(tmp_path: Path) -> None:
    assert _read_step(tmp_path / "journal.json")["journal"] == {}
    journal = {"snapshot_id": "local-lab-east-20261207T114427Z", "phase": "moved", "moved_aside": ["/x.pre"]}
    (tmp_path / "journal.json").write_text(json.dumps(journal))
    outcome = _read_step(tmp_path / "journal.json")
    assert outcome["journal"] == journal and outcome["changed"] is False
    assert json.loads((tmp_path / "journal.json").read_text()) == journal


def test_a_journal_that_is_not_json_fails_the_step_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text("{half")
    outcome = _read_step(tmp_path / "journal.json")
    assert outcome.get("failed") is True
    assert f"cannot read the restore journal {tmp_path / 'journal.json'}" in str(outcome["msg"])
    assert (tmp_path / "journal.json").read_text() == "{half"  # kept as it was
