"""A playbook-running command never reports success after doing nothing (issue: a scheduled backup that
exits 0 because Ansible matched no host). Unusable inventories are refused before Ansible runs (exit 2);
one Ansible reads but that names no registry member makes the play run nowhere, which is a failure (exit 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from drkit.cli import main
from drkit.operate.inventory import InventoryError, resolve_inventory
from drkit.operate.runner import PlaybookRun

COMMANDS = [
    ["backup"],
    ["backups", "list"],
    ["restore"],
    ["upgrade", "--to", "3.4.23"],
]


def _invoke(arguments: list[str], inventory: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*arguments, "--stack", "local", "--inventory", str(inventory)])
    return result.exit_code, result.output


def test_a_fifo_or_a_device_is_not_an_inventory(tmp_path: Path) -> None:
    fifo = tmp_path / "inventory.yml"
    os.mkfifo(fifo)
    with pytest.raises(InventoryError, match="not a regular file"):
        resolve_inventory("local", fifo, tmp_path)  # returns at once: the FIFO is never opened
    with pytest.raises(InventoryError, match="/dev/null: not a regular file"):
        resolve_inventory("local", Path("/dev/null"), tmp_path)


def test_broken_yaml_is_located(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  children:\n    registry: [\n")
    with pytest.raises(InventoryError, match=r"inventory.yml:4:1: not valid YAML"):
        resolve_inventory("local", inventory, tmp_path)


@pytest.mark.parametrize(
    "text",
    ["", "all:\n  vars: {drkit_stack: local}\n", "all:\n  children:\n    registry: {children: {region_a: {}}}\n"],
)
def test_a_yaml_inventory_without_registry_members_is_refused(tmp_path: Path, text: str) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(text)
    with pytest.raises(InventoryError, match="no hosts in a `registry` group"):
        resolve_inventory("local", inventory, tmp_path)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_refuses_unusable_inventories_before_running(tmp_path: Path, command: list[str]) -> None:
    for text, reason in [
        ("all: [\n", "not valid YAML"),
        ("", "no hosts in a `registry` group"),
        ("all:\n  vars: {drkit_stack: prod}\n", "is for stack prod, not local"),
    ]:
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(text)
        code, output = _invoke(command, inventory)
        assert code == 2, output
        assert reason in output and "Traceback" not in output
        assert len([line for line in output.splitlines() if line.startswith("error:")]) == 1


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_a_play_that_ran_on_no_host_fails(tmp_path: Path, command: list[str]) -> None:
    """An INI inventory Ansible reads, with no `registry` group: Ansible exits 0 having done nothing."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[webservers]\nweb-1 ansible_connection=local\n")
    code, output = _invoke(command, inventory)
    assert code == 1, output
    assert "ran on no host" in output and "nothing was done" in output and "Traceback" not in output


def test_a_run_whose_hosts_were_all_unreachable_is_not_ok(tmp_path: Path) -> None:
    run = PlaybookRun("successful", 0, {}, [], tmp_path, tmp_path / "inv.yml", ["a", "b"], ["a", "b"])
    assert not run.ok and "every host of inventory" in run.failure_message()
    partly = PlaybookRun("successful", 0, {}, [], tmp_path, tmp_path / "inv.yml", ["a", "b"], ["a"])
    assert partly.ok
