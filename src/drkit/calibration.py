"""Constants measured by drills, kept next to the stack (stacks/measured/<stack>.yaml): `drkit drill` writes
them (drkit.drill.calibration), `drkit validate`'s estimates read them in place of guessed defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HEADER = (
    "# Written by `drkit drill`: constants measured on the lab (the worst of each drill's runs). drkit validate's\n"
    "# estimates use them in place of its defaults and name the drill and date they come from.\n"
)


@dataclass(frozen=True)
class Measured:
    name: str
    value: float
    drill: str
    at: str  # UTC, ISO 8601
    runs: int


def measured_path(directory: Path, stack: str) -> Path:
    return directory / f"{stack}.yaml"


def load_measured(path: Path) -> dict[str, Measured]:
    """The constants in the file; {} when there is none. A damaged file is reported, never half-read."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {
            name: Measured(name, float(entry["value"]), str(entry["drill"]), str(entry["at"]), int(entry["runs"]))
            for name, entry in data.get("constants", {}).items()
        }
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: not a measured-constants file ({error}); delete it and run a drill again") from None


def record(path: Path, constants: dict[str, Measured]) -> Path:
    current = load_measured(path) | constants
    body: dict[str, Any] = {
        "constants": {
            name: {"value": m.value, "drill": m.drill, "at": m.at, "runs": m.runs}
            for name, m in sorted(current.items())
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path
