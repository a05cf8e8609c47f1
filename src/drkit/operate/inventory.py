"""Which inventory a playbook runs against: the one given, or the lab's for a stack."""

from __future__ import annotations

from pathlib import Path

import yaml


class InventoryError(Exception):
    """No usable inventory: the message says what to pass or run."""


def resolve_inventory(stack: str, given: Path | None, lab_state_dir: Path) -> Path:
    if given is not None:
        if not given.is_file():
            raise InventoryError(f"--inventory {given}: no such file")
        _check_stack(given, stack)
        return given
    lab_inventory = lab_state_dir / "inventory.yml"
    if lab_inventory.is_file():
        return lab_inventory
    raise InventoryError(
        f"no inventory for stack {stack}: pass --inventory FILE (`drkit inventory --stack {stack} --from-outputs"
        f" outputs.json` writes one from a Pulumi stack), or start the lab with `drkit sandbox up --stack {stack}`"
        f" (it writes {lab_inventory})"
    )


def _check_stack(path: Path, stack: str) -> None:
    """A YAML inventory that names its stack must name this one: running prod's restore with staging's
    inventory is the mistake this catches. Other inventory formats are left to Ansible."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    named = data.get("all", {}).get("vars", {}).get("drkit_stack") if isinstance(data, dict) else None
    if isinstance(named, str) and named != stack:
        raise InventoryError(f"--inventory {path} is for stack {named}, not {stack}: pass the inventory of {stack}")
