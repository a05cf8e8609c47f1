"""Running a playbook from a subcommand: options every operating command shares, progress, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import lab_state_dir, project_root
from drkit.operate.inventory import InventoryError, resolve_inventory
from drkit.operate.playbooks import playbook_path, runs_dir
from drkit.operate.runner import PlaybookRun, run_playbook
from drkit.report import EXIT_UNUSABLE_INPUT

stack_option = click.option("--stack", default="local", show_default=True, help="Stack whose cluster to operate on.")
inventory_option = click.option(
    "--inventory",
    "-i",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ansible inventory. Default for a lab stack: the lab's (.drkit/sandbox/<stack>/inventory.yml).",
)
state_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The lab's state dir, when it is not the default .drkit/sandbox/<stack>/.",
)


def run(
    name: str, stack: str, inventory: Path | None, state_dir: Path | None, extravars: dict[str, Any]
) -> PlaybookRun:
    """Run playbooks/<name>.yml for the stack with a line per task; exit 2 when there is no inventory."""
    root = project_root()
    try:
        resolved = resolve_inventory(stack, inventory, lab_state_dir(stack, state_dir))
    except InventoryError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
    click.echo(f"{name}: stack {stack}, inventory {resolved}", err=True)
    # A lab's runs stay with the lab; a cloud stack's go under .drkit/runs/<stack>/ in the checkout.
    runs = lab_state_dir(stack, state_dir) / "runs" if inventory is None else runs_dir(root, stack)
    result = run_playbook(
        playbook_path(root, name),
        resolved,
        {"drkit_validate_inventory_stack": stack, **extravars},
        runs,
        lambda line: click.echo(line, err=True),
    )
    click.echo(f"artifacts: {result.artifacts}", err=True)
    return result


def exit_on_failure(result: PlaybookRun, what: str) -> None:
    if not result.ok:
        click.echo(f"error: {what} failed: {result.failure_message()}", err=True)
        sys.exit(1)
