"""`drkit drill report`: a stack's past drills from their result.json files, oldest first, each with its
measured figures next to the objective it was judged against."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.spec.units import format_duration


def parse_since(text: str) -> datetime:
    """`--since`: an ISO 8601 time (UTC when it names no zone); ValueError with an example otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (write it like 2026-12-07T15:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _at(row: dict[str, Any]) -> datetime | None:
    try:
        return parse_since(str(row.get("at", "")))
    except ValueError:
        return None


def since(rows: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """The drills finished at or after `moment` (an unreadable report, whose time is unknown, is kept)."""
    return [row for row in rows if row.get("unreadable") or ((at := _at(row)) is not None and at >= moment)]


def past_drills(directory: Path) -> list[dict[str, Any]]:
    rows = []
    for result in sorted(directory.glob("*/result.json")):
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rows.append({"report": str(result.parent), "unreadable": True})
            continue
        rows.append(
            {
                "report": str(result.parent),
                "at": data.get("at", ""),
                "kind": data.get("kind", "?"),
                "runs": len(data.get("runs", [])),
                "passed": bool(data.get("passed")),
                "rtoMax": (data.get("rto") or {}).get("max"),
                "rpoMax": (data.get("rpo") or {}).get("max"),
                "objectiveRto": data.get("objectiveRto"),
                "objectiveRpo": data.get("objectiveRpo"),
                "objectiveOverridden": bool(data.get("objectiveOverridden")),
                "lost": data.get("lostAcknowledgedWrites", 0),
            }
        )
    return rows


def _seconds(value: Any) -> str:
    return "none" if value is None else f"{float(value):.2f}s"


def render_history(stack: str, rows: list[dict[str, Any]], paths: bool = False) -> str:
    """The table; `paths`: each drill's report.md below it too."""
    lines = [
        f"drills of stack {stack}: {len(rows)}",
        f"  {'when (UTC)':<26}{'kind':<10}{'runs':>5}  {'RTO max':>9} / {'objective':<9}"
        f"  {'RPO max':>9} / {'objective':<9}  {'lost':>5}  verdict",
    ]
    for row in rows:
        if row.get("unreadable"):
            lines.append(f"  {row['report']}: result.json unreadable")
            continue
        tightened = " (tightened objective)" if row["objectiveOverridden"] else ""
        lines.append(
            f"  {row['at']:<26}{row['kind']:<10}{row['runs']:>5}  {_seconds(row['rtoMax']):>9} /"
            f" {format_duration(row['objectiveRto']):<9}  {_seconds(row['rpoMax']):>9} /"
            f" {format_duration(row['objectiveRpo']):<9}  {row['lost']:>5}  {'PASS' if row['passed'] else 'FAIL'}"
            f"{tightened}"
        )
    if paths:
        lines += ["", *[f"  {row.get('kind', '?'):<10}{row['report']}/report.md" for row in rows]]
    return "\n".join(lines)
