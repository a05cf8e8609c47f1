"""Where a drkit checkout's stacks/ and policies/ are."""

from __future__ import annotations

from pathlib import Path

_MARKER = Path("policies") / "schema" / "dr-spec.schema.json"


def find_project_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding Pulumi.yaml and policies/."""
    for directory in (start.resolve(), *start.resolve().parents):
        if (directory / "Pulumi.yaml").is_file() and (directory / _MARKER).is_file():
            return directory
    return None


def default_project_root() -> Path | None:
    """The project around the working directory, or None.

    Never the checkout drkit was installed from: run outside a project, `drkit validate` would otherwise
    judge that checkout's stacks (or policies) instead of saying there is nothing here to check.
    """
    return find_project_root(Path.cwd())
