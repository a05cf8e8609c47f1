"""Which inventory a playbook runs against: the one given, or the lab's for a stack."""

from __future__ import annotations

from pathlib import Path

import yaml


class InventoryError(Exception):
    """No usable inventory: the message says what to pass or run."""


def resolve_inventory(stack: str, given: Path | None, lab_state_dir: Path) -> Path:
    if given is not None:
        if not given.exists():
            raise InventoryError(f"--inventory {given}: no such file")
        if not given.is_file():
            # A FIFO would block the reader forever; a device or directory is no inventory either.
            raise InventoryError(f"--inventory {given}: not a regular file; pass the inventory file itself")
        _check_yaml(given, stack)
        return given
    lab_inventory = lab_state_dir / "inventory.yml"
    if lab_inventory.is_file():
        return lab_inventory
    raise InventoryError(
        f"no inventory for stack {stack}: pass --inventory FILE (`drkit inventory --stack {stack} --from-outputs"
        f" outputs.json` writes one from a Pulumi stack), or start the lab with `drkit sandbox up --stack {stack}`"
        f" (it writes {lab_inventory})"
    )


def _check_yaml(path: Path, stack: str) -> None:
    """A YAML inventory must parse and name registry members: Ansible only warns about an inventory it
    cannot read, runs the play on no host and exits 0. (Other formats are left to Ansible, and drkit's
    runner still fails a play that ran on no host.)"""
    if path.suffix not in (".yml", ".yaml"):
        _check_stack(path, stack)
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise InventoryError(f"--inventory {path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InventoryError(f"--inventory {path}{where}: not valid YAML: {problem}") from None
    _check_stack(path, stack)
    if not _has_registry_hosts(data):
        raise InventoryError(
            f"--inventory {path}: no hosts in a `registry` group (all.children.registry): nothing to act on;"
            " write it with `drkit inventory --from-outputs` or use the lab's"
        )


def _has_registry_hosts(data: object) -> bool:
    def hosts_under(group: object) -> bool:
        if not isinstance(group, dict):
            return False
        if isinstance(group.get("hosts"), dict) and group["hosts"]:
            return True
        children = group.get("children")
        return isinstance(children, dict) and any(hosts_under(child) for child in children.values())

    def find(group: object) -> bool:
        if not isinstance(group, dict):
            return False
        children = group.get("children")
        if not isinstance(children, dict):
            return False
        return hosts_under(children.get("registry")) or any(find(child) for child in children.values())

    return isinstance(data, dict) and find(data.get("all"))


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
