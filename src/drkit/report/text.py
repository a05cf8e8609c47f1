"""The report people read in a terminal or a CI log."""

from __future__ import annotations

from drkit.errors import InputError, format_key_path
from drkit.report import summary_line
from drkit.report.objective_rows import comparisons
from drkit.spec.stackfile import SPEC_KEY
from drkit.spec.units import format_duration
from drkit.validate import StackReport

_VERDICT_WORDS = {"pass": "PASS", "fail": "FAIL", "error": "UNUSABLE INPUT"}


def render(reports: list[StackReport], path_errors: list[InputError]) -> str:
    blocks = [f"error: {error.render()}" for error in path_errors]
    blocks.extend(_stack(report) for report in reports)
    blocks.append(summary_line(reports, path_errors))
    return "\n\n".join(blocks) + "\n"


def _stack(report: StackReport) -> str:
    header = f"{report.file}  stack {report.stack or '?'}"
    if report.spec is not None:
        header += f"  tier {report.spec.tier}"
    lines = [f"{header}  {_VERDICT_WORDS[report.verdict]}"]
    if report.errors:
        lines.extend(f"  error: {error.render()}" for error in report.errors)
        return "\n".join(lines)
    lines.extend(_objective_table(report))
    counts = {
        status: sum(1 for r in report.results if r.status == status)
        for status in ("pass", "fail", "waived", "advisory")
    }
    lines.append(
        f"  rules: {counts['pass']} passed, {counts['fail']} failed, {counts['waived']} waived,"
        f" {counts['advisory']} advisory"
    )
    if report.break_glass:
        lines.append(
            f"  BREAK-GLASS: expired waivers honoured for this run only, because: {report.break_glass}."
            " Renew or remove them once the emergency is over."
        )
    for result in report.results:
        if result.status == "pass":
            continue
        rule = result.rule
        if result.status == "waived" and result.waiver is not None:
            lines.append(f"  waived    {rule.id} until {result.waiver.expires.isoformat()}: {result.waiver.reason}")
            continue
        label = {"fail": "FAIL    ", "break-glass": "OVERRIDE"}.get(result.status, "advisory")
        lines.append(f"  {label}  {rule.id} [{rule.severity}] {rule.name}")
        lines.extend(f"            {finding.location}: {finding.message}" for finding in result.findings)
        lines.append(f"            fix: {rule.remediation}")
    for path, location in report.secrets:
        lines.append(
            f"  note      {location}: {format_key_path((SPEC_KEY, *path))} is a Pulumi secret: taken as given, not read"
        )
    for waiver, location in report.unused_waivers:
        lines.append(f"  note      {location}: the waiver of {waiver.rule} silences nothing; remove it")
    return "\n".join(lines)


def _objective_table(report: StackReport) -> list[str]:
    rows = comparisons(report)
    by_disruption: dict[str, dict[str, tuple[str, str, str]]] = {}
    for row in rows:
        mark = "ok" if row.ok else "MISS"
        by_disruption.setdefault(row.disruption, {})[row.measure] = (
            format_duration(row.estimate),
            format_duration(row.objective),
            mark,
        )
    table = [("disruption", "RTO est", "objective", "", "RPO est", "objective", "")]
    for disruption, measures in by_disruption.items():
        table.append((disruption, *measures["rto"], *measures["rpo"]))
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table
    ]
