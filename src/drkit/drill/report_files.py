"""The files every drill leaves: reports/drills/<stack>/<UTC time>-<kind>/ with report.md (the story a person
reads), result.json (every figure, every run) and timeline.png (the worst run)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.drill.aggregate import Summary
from drkit.drill.result import DrillRun
from drkit.drill.timeline import render_timeline
from drkit.sandbox.lab import Lab
from drkit.spec.units import format_duration


def environment(lab: Lab, root: Path) -> dict[str, Any]:
    """Where the figures were measured: they mean little without the machine and the lab's shape."""
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "drkitCommit": commit or "unknown",
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "etcd": str(lab.binaries.etcd),
        "network": lab.plan.network,
        "regions": {region.name: [member.name for member in region.members] for region in lab.plan.regions},
    }


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}s"


def _run_line(index: int, run: DrillRun) -> str:
    verdict = "PASS" if run.passed else "FAIL: " + "; ".join(run.reasons)
    return (
        f"| {index} | {_seconds(run.rto_seconds)} | {run.rpo_seconds:.2f}s | {run.acked} | {run.failed} |"
        f" {run.lost} | {run.registrations.live_kept}/{run.registrations.live} kept,"
        f" {run.registrations.dead_expired}/{run.registrations.dead} expired |"
        f" {'equal' if run.consistent else 'DIFFER'} | {verdict} |"
    )


def render_markdown(summary: Summary, env: dict[str, Any], when: str) -> str:
    first = summary.runs[0]
    rto, rpo = summary.rto, summary.rpo
    overridden = " (tightened on the command line, not the spec's)" if summary.objective_overridden else ""
    lines = [
        f"# Drill {summary.kind} on stack {summary.stack}, {when}",
        "",
        f"**Verdict: {'PASS' if summary.passed else 'FAIL'}** over {len(summary.runs)} run(s);"
        f" {summary.lost} acknowledged writes lost.",
        "",
        "## Objective",
        "",
        f"The spec's `{first.objective}` objectives{overridden}: RTO {format_duration(first.objective_rto)},"
        f" RPO {format_duration(first.objective_rpo)}.",
        "",
        "## What was done",
        "",
        f"Fault: {first.fault}.",
        "",
        "A ledger wrote through the lab's endpoint at a fixed rate the whole time (every attempt kept); service"
        " instances kept leased registrations alive, and two dead ones were left to expire. Afterwards every"
        " acknowledged key was read back, registrations were read one leaseTtl after recovery, and hashkv was"
        " compared across the serving region's members.",
        "",
    ]
    for index, run in enumerate(summary.runs, 1):
        lines.append(f"Run {index}:")
        lines += [f"- {action}" for action in run.actions]
        lines.append("")
    lines += [
        "## Measured",
        "",
        "| | min | median | p95 | max | objective |",
        "|---|---|---|---|---|---|",
    ]
    if rto is not None:
        lines.append(
            f"| RTO | {rto.min:.2f}s | {rto.median:.2f}s | {rto.p95:.2f}s | {rto.max:.2f}s |"
            f" {format_duration(first.objective_rto)} |"
        )
    lines += [
        f"| RPO | {rpo.min:.2f}s | {rpo.median:.2f}s | {rpo.p95:.2f}s | {rpo.max:.2f}s |"
        f" {format_duration(first.objective_rpo)} |",
        "",
        "| run | RTO | RPO | acked | failed | lost | registrations | hashkv | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
        *[_run_line(index, run) for index, run in enumerate(summary.runs, 1)],
        "",
    ]
    if first.old_primary_acks_after_fence is not None:
        counts = ", ".join(str(run.old_primary_acks_after_fence) for run in summary.runs)
        lines += [f"Writes the isolated old primary acknowledged after its fence, per run: {counts} (must be 0).", ""]
    if first.max_lag_seconds is not None:
        lines += [
            f"Mirror lag under {first.delay_seconds:g}s of delay each way on the mirror's path (probes: a key written"
            f" on the primary, timed until the standby has it), against replication.maxLag"
            f" {format_duration(first.max_lag_seconds)}:",
            "",
            "| run | worst lag | probes (seen at, seconds after the delay went on: lag) |",
            "|---|---|---|",
            *[
                f"| {index} | {_seconds(run.lag_seconds)} | "
                + ", ".join(f"{at:.1f}: {_seconds(lag)}" for at, lag in run.lag_samples)
                + " |"
                for index, run in enumerate(summary.runs, 1)
            ],
            "",
        ]
    constants = {name for run in summary.runs for name in run.constants}
    if constants:
        lines.append(
            "Measured constants (calibration): "
            + ", ".join(
                f"{name} max {max(run.constants.get(name, 0.0) for run in summary.runs):.2f}"
                for name in sorted(constants)
            )
            + "."
        )
        lines.append("")
    lines += [
        "## Verdict",
        "",
        "PASS: every objective met, no acknowledged write lost beyond the RPO, registrations and hashes right."
        if summary.passed
        else "FAIL:\n\n" + "\n".join(f"- {why}" for why in summary.reasons),
        "",
        "![timeline](timeline.png)",
        "",
        f"The timeline shows the run with the longest RTO (run {summary.runs.index(summary.worst) + 1}).",
        "",
        "## Environment",
        "",
        *[f"- {key}: {value}" for key, value in env.items()],
        "",
    ]
    return "\n".join(lines)


def write_report(summary: Summary, env: dict[str, Any], reports: Path) -> Path:
    now = datetime.now(UTC)
    directory = reports / summary.stack / f"{now:%Y%m%dT%H%M%SZ}-{summary.kind}"
    directory.mkdir(parents=True, exist_ok=True)
    when = f"{now:%Y-%m-%d %H:%M:%S} UTC"
    data = {**summary.to_json(with_timeline=False), "at": now.isoformat(timespec="seconds"), "environment": env}
    (directory / "result.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (directory / "report.md").write_text(render_markdown(summary, env, when), encoding="utf-8")
    worst = summary.worst
    render_timeline(
        worst, directory / "timeline.png", f"drkit drill {summary.kind}, stack {summary.stack}: {worst.fault}"
    )
    return directory
