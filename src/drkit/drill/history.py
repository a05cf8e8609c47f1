"""`drkit drill report`: a stack's past drills from their result.json files, oldest first, each with its
measured figures next to the objective it was judged against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drkit.spec.units import format_duration


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


def render_history(stack: str, rows: list[dict[str, Any]]) -> str:
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
    return "\n".join(lines)
