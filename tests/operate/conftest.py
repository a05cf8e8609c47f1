"""Live labs for the backup/restore tests, and helpers that act as "someone else": etcdctl and the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import Member
from tests.conftest import ROOT
from tests.sandbox.conftest import lab_factory, policies_module, running_lab  # noqa: F401  (fixtures)

DRKIT = Path(sys.executable).with_name("drkit")
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


def drkit(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    """The real console script, against the lab's state dir."""
    command = [str(DRKIT), *args, "--stack", "local", "--state-dir", str(lab.paths.root)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def playbook(lab: Lab, name: str, *extra: str, inventory: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A playbook with plain ansible-playbook, as the docs show."""
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory or lab.paths.inventory), f"playbooks/{name}.yml", *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def etcdctl(lab: Lab, *args: str) -> str:
    """etcdctl against the primary, as another client of the registry would use it."""
    endpoints = lab.plan.primary.client_endpoints
    result = subprocess.run(
        [str(lab.binaries.etcdctl), f"--endpoints={endpoints}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


def member_pids(lab: Lab, members: Sequence[Member] | None = None) -> dict[str, int]:
    """Member name -> supervisord's pid for it (0: not running); the primary's members unless named."""
    processes = lab.supervisor.processes()
    return {member.name: int(processes[member.program]["pid"]) for member in members or lab.plan.primary.members}


def backups_dir(lab: Lab) -> Path:
    return lab.paths.backups / lab.plan.rsync_path.lstrip("/")
