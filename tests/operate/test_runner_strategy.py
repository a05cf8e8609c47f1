"""drkit's playbook runs use Mitogen's linear strategy (measured faster in benchmarks/backup_restore.py),
with Ansible's own strategy one environment variable away."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.operate.runner import strategy_env


def test_runs_use_mitogens_linear_strategy_from_the_installed_package() -> None:
    env = strategy_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()


def test_ansibles_own_strategy_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRKIT_ANSIBLE_STRATEGY", "linear")
    assert strategy_env() == {}
