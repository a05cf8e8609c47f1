"""Render validation reports for people (text), machines (json) and GitHub Actions (workflow commands)."""

from __future__ import annotations

from drkit.errors import InputError
from drkit.validate import StackReport

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_UNUSABLE_INPUT = 2


def exit_code(reports: list[StackReport], path_errors: list[InputError]) -> int:
    """2 when any input is unusable, else 1 when any mandatory rule fails, else 0."""
    if path_errors or any(report.verdict == "error" for report in reports):
        return EXIT_UNUSABLE_INPUT
    if any(report.verdict == "fail" for report in reports):
        return EXIT_VIOLATION
    return EXIT_OK


def summary_line(reports: list[StackReport], path_errors: list[InputError]) -> str:
    counts = {verdict: sum(1 for r in reports if r.verdict == verdict) for verdict in ("pass", "fail", "error")}
    unusable = counts["error"] + len(path_errors)
    noun = "stack" if len(reports) == 1 else "stacks"
    return f"{len(reports)} {noun}: {counts['pass']} passed, {counts['fail']} failed, {unusable} unusable"
