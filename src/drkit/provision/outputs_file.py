"""Read the inventory out of `pulumi stack output --json`, or say exactly what is wrong with the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drkit.errors import InputError, Location, UnusableInputError

_HOW = "write it with `pulumi stack output --json -s {stack} > {file}`"


def _refuse(file: str, message: str, hint: str, line: int = 1, column: int = 1) -> UnusableInputError:
    return UnusableInputError([InputError(Location(file, line, column), message, hint=hint)])


def read_inventory(path: Path, stack: str) -> dict[str, Any]:
    """The `inventory` output of stack `stack`; raises UnusableInputError naming the file and the fix."""
    file = str(path)
    how = _HOW.format(stack=stack, file=file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _refuse(file, "no such file", how) from None
    except (OSError, UnicodeDecodeError) as error:
        raise _refuse(file, f"cannot read the file: {getattr(error, 'strerror', None) or error}", how) from None
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise _refuse(file, f"not JSON: {error.msg}", how, error.lineno, error.colno) from None
    if not isinstance(outputs, dict):
        raise _refuse(file, "expected the JSON object of stack outputs", how)
    inventory = outputs.get("inventory")
    if inventory is None:
        found = ", ".join(sorted(outputs)) or "none"
        raise _refuse(
            file, f"no 'inventory' output (outputs here: {found})", "is this the output of a drkit stack? " + how
        )
    if inventory == "[secret]":
        raise _refuse(file, "the inventory output is shown as [secret]", "add --show-secrets, or " + how)
    registry = _get(inventory, "all", "children", "registry", "children")
    if not isinstance(registry, dict) or not registry:
        raise _refuse(file, "the inventory output has no registry groups (all.children.registry.children)", how)
    written_for = _get(inventory, "all", "vars", "drkit_stack")
    if written_for != stack:
        raise _refuse(
            file,
            f"these are the outputs of stack {written_for!r}, not {stack!r}",
            f"pass --stack {written_for}, or " + how,
        )
    return dict(inventory)


def _get(value: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value
