"""GitHub Actions workflow commands (`--format github`): annotations on the stack files in a pull request."""

from __future__ import annotations

from drkit.errors import InputError, Location
from drkit.report import summary_line
from drkit.report.objective_rows import comparisons
from drkit.spec.units import format_duration
from drkit.validate import StackReport


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, location: Location | None, title: str, message: str) -> str:
    properties = [f"title={_escape_property(title)}"]
    if location is not None:
        properties[:0] = [
            f"file={_escape_property(location.file)}",
            f"line={location.line}",
            f"col={location.column}",
        ]
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def render(reports: list[StackReport], path_errors: list[InputError]) -> str:
    lines = [_command("error", error.location, "drkit: unusable input", error.render()) for error in path_errors]
    for report in reports:
        lines.extend(_command("error", e.location, "drkit: unusable input", e.render()) for e in report.errors)
        for result in report.results:
            level = {"fail": "error", "advisory": "warning", "break-glass": "warning"}.get(result.status)
            if level is None:
                continue
            title = f"{result.rule.id} {result.rule.name}"
            lines.extend(
                _command(level, f.location, title, f"{f.message}. Fix: {result.rule.remediation}")
                for f in result.findings
            )
        for waiver, location in report.unused_waivers:
            lines.append(
                _command("warning", location, f"unused waiver of {waiver.rule}", "it silences nothing; remove it")
            )
        if report.spec is not None:
            estimates = "; ".join(
                f"{row.disruption} {row.measure.upper()} {format_duration(row.estimate)}"
                f" (objective {format_duration(row.objective)})"
                for row in comparisons(report)
            )
            lines.append(_command("notice", None, f"drkit {report.stack}: {report.verdict.upper()}", estimates))
    lines.append(summary_line(reports, path_errors))
    return "\n".join(lines) + "\n"
