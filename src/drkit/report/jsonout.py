"""The machine-readable report (`--format json`)."""

from __future__ import annotations

import json
from typing import Any

from drkit.errors import InputError, Location, format_key_path
from drkit.report import exit_code
from drkit.report.objective_rows import comparisons
from drkit.spec.units import format_duration
from drkit.validate import StackReport


def _where(location: Location) -> dict[str, Any]:
    return {"file": location.file, "line": location.line, "column": location.column}


def _error(error: InputError) -> dict[str, Any]:
    return {
        **_where(error.location),
        "keyPath": format_key_path(error.key_path) if error.key_path else None,
        "message": error.message,
        "hint": error.hint or None,
    }


def _stack(report: StackReport) -> dict[str, Any]:
    objectives: dict[str, dict[str, Any]] = {}
    for row in comparisons(report):
        objectives.setdefault(row.disruption, {})[row.measure] = {
            "estimateSeconds": row.estimate,
            "estimate": format_duration(row.estimate),
            "objectiveSeconds": row.objective,
            "objective": format_duration(row.objective),
            "ok": row.ok,
            "basis": row.basis,
        }
    return {
        "file": report.file,
        "stack": report.stack,
        "tier": report.spec.tier if report.spec else None,
        "verdict": report.verdict,
        "errors": [_error(error) for error in report.errors],
        "objectives": objectives,
        "rules": [
            {
                "id": result.rule.id,
                "name": result.rule.name,
                "category": result.rule.category,
                "severity": result.rule.severity,
                "status": result.status,
                "findings": [
                    {**_where(f.location), "keyPath": format_key_path(f.path), "message": f.message}
                    for f in result.findings
                ],
                "waiver": {"reason": result.waiver.reason, "expires": result.waiver.expires.isoformat()}
                if result.waiver
                else None,
            }
            for result in report.results
        ],
        "unusedWaivers": [{**_where(location), "rule": waiver.rule} for waiver, location in report.unused_waivers],
        "breakGlass": report.break_glass,
        "secrets": [{**_where(location), "keyPath": format_key_path(path)} for path, location in report.secrets],
    }


def render(reports: list[StackReport], path_errors: list[InputError]) -> str:
    document = {
        "exitCode": exit_code(reports, path_errors),
        "errors": [_error(error) for error in path_errors],
        "stacks": [_stack(report) for report in reports],
    }
    return json.dumps(document, indent=2) + "\n"
