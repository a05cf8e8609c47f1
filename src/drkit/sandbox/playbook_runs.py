"""A playbook run against a lab, as drills and benchmarks make them: the lab's inventory, its runs dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drkit.operate.playbooks import playbook_path
from drkit.operate.runner import PlaybookRun, Progress, run_playbook
from drkit.sandbox.paths import LabPaths


class PlaybookFailedError(Exception):
    """The run did not succeed; the message names the task, the host and where the artifacts are."""

    def __init__(self, name: str, run: PlaybookRun) -> None:
        super().__init__(f"{name} failed: {run.failure_message()} (artifacts: {run.artifacts})")
        self.run = run


def run_on_lab(
    paths: LabPaths, root: Path, name: str, extravars: dict[str, Any], progress: Progress = lambda _: None
) -> PlaybookRun:
    """playbooks/<name>.yml (from the checkout at `root`) on the lab; raises PlaybookFailedError unless it
    succeeded. The CLI's runs go through drkit.cli.playbook_run (inventory resolution, exit codes)."""
    run = run_playbook(playbook_path(root, name), paths.inventory, extravars, paths.root / "runs", progress)
    if not run.ok:
        raise PlaybookFailedError(name, run)
    return run
