"""One member's restore in the order its journal records, so a re-run after an interruption resumes it.

Phases: started -> moved -> restored (-> healthy -> done, which the playbook records once the cluster is).
Three steps, each one task for every member at once, so every member is stopped before any is started:

- stop: open the journal (the snapshot and cluster token it restores), stop the member, wait until its
  client port is closed;
- restore: move the data dir aside (never deleted; the journal lists where), restore the snapshot into
  `<data dir>.restoring` with the new token, put it in place, start the member;
- healthy: wait until the member answers healthy (polled finely: the cluster is down until then), record it.

Each step skips what the journal says is done, and never moves a restored data dir aside. The journal is
replaced atomically (write, then rename) after every phase. These were a dozen Ansible tasks, each with its
own round trip, while the cluster was down; as one module per step they cost three.
Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Journal = dict[str, Any]
Run = Callable[[list[str]], None]  # runs a command, raising RestoreStepError when it fails

STOPPABLE = ("started", "moved")


class RestoreStepError(Exception):
    pass


def utc_now(fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return datetime.now(UTC).strftime(fmt)


def write_journal(path: Path, journal: Journal) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(journal, indent=4, sort_keys=True) + "\n", "utf-8")
    partial.chmod(0o600)
    partial.replace(path)


def record(path: Path, journal: Journal, **update: Any) -> Journal:
    journal = {**journal, **update}
    write_journal(path, journal)
    return journal


def wait_port_closed(host: str, port: int, timeout: float, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=poll):
                pass
        except OSError:
            return
        if time.monotonic() >= deadline:
            raise RestoreStepError(f"{host}:{port} still accepts connections {timeout:g}s after the stop command")
        time.sleep(poll)


def stop_step(
    journal_path: Path,
    journal: Journal,
    opening: Journal,
    stop: Callable[[], None],
    wait_closed: Callable[[], None],
) -> Journal:
    """Open the journal (`opening`: snapshot_id, token; the phase and start time kept from a resumed one)
    and stop the member unless it is restored already."""
    journal = record(
        journal_path,
        journal,
        **opening,
        phase=journal.get("phase", "started"),
        started_at=journal.get("started_at", utc_now()),
        moved_aside=journal.get("moved_aside", []),
    )
    if journal["phase"] in STOPPABLE:
        stop()
        wait_closed()
    return journal


def restore_step(
    journal_path: Path,
    journal: Journal,
    data_dir: Path,
    restore_into: Callable[[Path], None],
    start: Callable[[], None],
) -> Journal:
    """Move aside, restore, put in place, start: each phase skipped when the journal has it done."""
    if journal["phase"] in STOPPABLE and data_dir.exists():
        aside = data_dir.with_name(f"{data_dir.name}.pre-restore-{utc_now('%Y%m%dT%H%M%S.%fZ')}")
        data_dir.rename(aside)  # same directory, so a rename: never a copy, never a delete
        journal = record(journal_path, journal, phase="moved", moved_aside=[*journal["moved_aside"], str(aside)])
    if journal["phase"] == "started":
        journal = record(journal_path, journal, phase="moved")
    if journal["phase"] == "moved":
        restoring = data_dir.with_name(data_dir.name + ".restoring")
        # drkit's own output of an interrupted run, rebuilt from the snapshot: never a user's data dir.
        shutil.rmtree(restoring, ignore_errors=True)
        restore_into(restoring)
        if not data_dir.exists():
            restoring.rename(data_dir)
        journal = record(journal_path, journal, phase="restored")
    start()
    return journal


def healthy_step(
    journal_path: Path, journal: Journal, healthy: Callable[[], bool], timeout: float, poll: float = 0.2
) -> Journal:
    """Wait until the member answers healthy (it needs its peers: run once every member is started), then
    record it. Polled every `poll` seconds: the cluster is down until then, and a coarser wait is pure loss."""
    deadline = time.monotonic() + timeout
    while not healthy():
        if time.monotonic() >= deadline:
            raise RestoreStepError(f"the restored member did not answer healthy within {timeout:g}s")
        time.sleep(poll)
    return record(journal_path, journal, phase="healthy")
