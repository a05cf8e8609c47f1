"""Drills record what they measured (seconds to replace a member, elect a leader, restart an AZ's members,
promote a standby, detect a cut-off primary) in stacks/measured/<stack>.yaml (drkit.calibration), where
`drkit validate`'s estimates use them in place of the guessed defaults, saying so (drkit.estimates)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from drkit.calibration import Measured, measured_path, record
from drkit.drill.aggregate import Summary

# Constants where less is worse (a throughput); every other one is seconds, or a size kept as measured.
LOWER_IS_WORSE = frozenset({"restoreMiBPerSecond"})


def record_constants(directory: Path, summary: Summary) -> Path | None:
    """The worst value of each constant over the summary's runs, merged into the stack's file."""
    names = {name for run in summary.runs for name in run.constants}
    if not names:
        return None
    at = datetime.now(UTC).isoformat(timespec="seconds")
    constants = {
        name: Measured(
            name,
            (min if name in LOWER_IS_WORSE else max)(
                run.constants[name] for run in summary.runs if name in run.constants
            ),
            summary.kind,
            at,
            len(summary.runs),
        )
        for name in names
    }
    return record(measured_path(directory, summary.stack), constants)


def _worst(name: str, values: list[float]) -> float:
    return min(values) if name in LOWER_IS_WORSE else max(values)
