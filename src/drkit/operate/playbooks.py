"""Where drkit's playbooks are, and where their runs keep artifacts."""

from __future__ import annotations

from pathlib import Path


def playbook_path(root: Path, name: str) -> Path:
    return root / "playbooks" / f"{name}.yml"


def runs_dir(root: Path, stack: str) -> Path:
    return root / ".drkit" / "runs" / stack
