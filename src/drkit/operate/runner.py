"""Run one of drkit's playbooks through ansible-runner: one progress line per task, artifacts kept.

The playbooks are plain Ansible (users may run them with ansible-playbook); this adds what a CLI needs: a
line per task as it finishes, the reports the playbooks hand over with set_stats, the failure that
stopped the run, and the run's artifacts (events, stdout) under .drkit/runs/<stack>/<ident>/.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner

Progress = Callable[[str], None]


@dataclass
class Failure:
    task: str
    host: str
    message: str


@dataclass
class PlaybookRun:
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    rc: int
    stats: dict[str, Any]  # what the playbook handed over with set_stats
    failures: list[Failure]
    artifacts: Path
    inventory: Path | None = None
    processed: list[str] = field(default_factory=list)  # hosts the plays ran on (Ansible's recap)
    unreachable: list[str] = field(default_factory=list)

    @property
    def did_nothing(self) -> bool:
        """Ansible exits 0 when the inventory does not parse or matches no host: the play ran nowhere.
        drkit treats that as the failure it is, so a scheduled backup never reports success for nothing."""
        return not self.processed or set(self.processed) <= set(self.unreachable)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0 and not self.did_nothing

    def failure_message(self) -> str:
        if self.status == "successful" and self.rc == 0 and self.did_nothing:
            where = f"inventory {self.inventory}" if self.inventory else "the inventory"
            if not self.processed:
                return (
                    f"the playbook ran on no host: {where} did not parse or matches none of the playbook's hosts"
                    " (it needs a `registry` group of members); nothing was done"
                )
            return f"every host of {where} was unreachable ({', '.join(sorted(self.unreachable))}); nothing was done"
        if not self.failures:
            return f"the playbook ended with status {self.status} (exit {self.rc}); see {self.artifacts / 'stdout'}"
        last = self.failures[-1]
        return f"{last.task} ({last.host}): {last.message}"


@dataclass
class _TaskLine:
    """Collects one task's results over its hosts, printed as one line when the task is over."""

    name: str
    started: float
    counts: dict[str, int] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)

    def add(self, outcome: str, host: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.hosts.add(host)

    def render(self) -> str:
        seconds = time.monotonic() - self.started
        if not self.counts:
            mark, detail = "·", ""
        else:
            mark = "✗" if self.counts.get("failed") or self.counts.get("unreachable") else "✓"
            if set(self.counts) == {"skipped"}:
                mark = "-"
            detail = "  " + " ".join(f"{key}={value}" for key, value in sorted(self.counts.items()))
            # One host: name it, so a one-member-at-a-time play (an upgrade) shows whose turn it is.
            if len(self.hosts) == 1:
                detail += f"  [{next(iter(self.hosts))}]"
        return f"  {mark} {seconds:5.1f}s  {self.name}{detail}"


_OUTCOMES = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


class _Events:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: _TaskLine | None = None
        self.stats: dict[str, Any] = {}
        self.failures: list[Failure] = []
        self.processed: list[str] = []
        self.unreachable: list[str] = []

    def handle(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind in ("playbook_on_task_start", "playbook_on_play_start", "playbook_on_stats"):
            self._finish_task()
        if kind == "playbook_on_task_start" and not data.get("is_conditional"):
            self.task = _TaskLine(str(data.get("task") or data.get("name") or "?"), time.monotonic())
        elif kind in _OUTCOMES and self.task is not None:
            outcome = _OUTCOMES[kind]
            result = data.get("res", {}) or {}
            if outcome == "ok" and result.get("changed"):
                outcome = "changed"
            if outcome == "failed" and data.get("ignore_errors"):
                outcome = "ignored"
            host = str(data.get("host", "?"))
            self.task.add(outcome, host)
            if outcome in ("failed", "unreachable"):
                self.failures.append(Failure(self.task.name, host, _message(result)))
        elif kind == "playbook_on_stats":
            self.stats = dict(data.get("artifact_data") or {})
            self.processed = sorted(data.get("processed") or {})
            self.unreachable = sorted(data.get("dark") or {})
        return True  # keep the event in the artifacts

    def _finish_task(self) -> None:
        if self.task is not None:
            # Ansible's own argument-spec checks are worth a line only when they fail.
            if not self.task.name.startswith("Validating arguments against arg spec") or "failed" in self.task.counts:
                self.progress(self.task.render())
            self.task = None


def _message(result: dict[str, Any]) -> str:
    message = str(result.get("msg") or "").strip()
    stderr = str(result.get("stderr") or "").strip()
    if stderr and (not message or message.startswith("non-zero return code")):
        message = stderr.splitlines()[-1]
    return message or "failed"


def strategy_env() -> dict[str, str]:
    """Mitogen's linear strategy, unless DRKIT_ANSIBLE_STRATEGY=linear asks for Ansible's own.

    Mitogen keeps one Python interpreter per host and sends modules to it, instead of packing, copying and
    starting each module per task: measured on the lab's 128 MB restore, the playbook overhead drops by about
    a third and the cluster's down time from 1.95x to 1.52x its floor (benchmarks/backup_restore.py, in the
    backup runbook). Task semantics are Ansible's own (same linear order, same results); connections Mitogen
    does not know (amazon.aws.aws_ssm) run through Ansible's own plugin under it. Playbooks run with plain
    ansible-playbook keep Ansible's default strategy: both are tested."""
    if os.environ.get("DRKIT_ANSIBLE_STRATEGY", "mitogen") == "linear":
        return {}
    import ansible_mitogen

    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def run_playbook(
    playbook: Path,
    inventory: Path,
    extravars: dict[str, Any],
    runs_dir: Path,
    progress: Progress,
) -> PlaybookRun:
    ident = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{playbook.stem}"
    runs_dir.mkdir(parents=True, exist_ok=True)
    events = _Events(progress)
    runner = ansible_runner.run(
        private_data_dir=str(runs_dir),
        ident=ident,
        playbook=str(playbook.resolve()),
        inventory=str(inventory.resolve()),
        extravars=extravars,
        event_handler=events.handle,
        quiet=True,
        envvars={
            # The ansible-playbook beside this interpreter (the venv's, even when the venv is not activated).
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            **strategy_env(),
        },
        rotate_artifacts=50,
    )
    events._finish_task()
    return PlaybookRun(
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        stats=events.stats,
        failures=events.failures,
        artifacts=Path(runner.config.artifact_dir),
        inventory=inventory,
        processed=events.processed,
        unreachable=events.unreachable,
    )
