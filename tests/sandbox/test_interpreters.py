"""Each lab host runs its modules by an interpreter path of its own, all into drkit's one environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drkit.sandbox.interpreters import SHARED, host_interpreter
from drkit.sandbox.paths import LabPaths


def test_each_host_has_its_own_path_to_the_same_environment(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    first, second = host_interpreter(paths, "lab-east-1"), host_interpreter(paths, "lab-east-2")
    assert first != second  # Mitogen keys a local interpreter by its path: distinct paths, distinct interpreters
    for interpreter in (first, second):
        prefix = subprocess.run(
            [interpreter, "-c", "import sys, drkit; print(sys.prefix)"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert Path(prefix).resolve() == Path(sys.prefix).resolve()  # the environment, packages included


def test_asking_again_keeps_the_link(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    assert host_interpreter(paths, "lab-rsync") == host_interpreter(paths, "lab-rsync")
    assert paths.interpreter_env("lab-rsync").readlink() == Path(sys.prefix)


def test_a_link_to_another_environment_is_repointed(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    link = paths.interpreter_env("lab-east-1")
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "old-venv", target_is_directory=True)
    host_interpreter(paths, "lab-east-1")
    assert link.readlink() == Path(sys.prefix)


def test_something_that_is_not_a_link_is_left_alone(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    kept = paths.interpreter_env("lab-east-1")
    kept.mkdir(parents=True)
    (kept / "note").write_text("not drkit's")
    assert host_interpreter(paths, "lab-east-1") == SHARED
    assert (kept / "note").read_text() == "not drkit's"
