"""The terminal table a drill prints: RTO and RPO over its runs against the objective, the verdict, why."""

from __future__ import annotations

from pathlib import Path

from drkit.drill.aggregate import Summary
from drkit.spec.units import format_duration


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render_summary(summary: Summary, report: Path, measured: Path | None) -> str:
    first = summary.runs[0]
    rto, rpo = summary.rto, summary.rpo
    lines = [
        f"drill {summary.kind}: stack {summary.stack}, {len(summary.runs)} run(s); {first.fault}",
        "",
        f"          {'min':>8} {'median':>8} {'p95':>8} {'max':>8}   objective ({first.objective})",
    ]
    if rto is None:
        lines.append("  RTO     no write acknowledged after the fault")
    else:
        lines.append(
            f"  RTO     {rto.min:>7.2f}s {rto.median:>7.2f}s {rto.p95:>7.2f}s {rto.max:>7.2f}s"
            f"   {format_duration(first.objective_rto):>9}  {_verdict(rto.max <= first.objective_rto)}"
        )
    lines += [
        f"  RPO     {rpo.min:>7.2f}s {rpo.median:>7.2f}s {rpo.p95:>7.2f}s {rpo.max:>7.2f}s"
        f"   {format_duration(first.objective_rpo):>9}  {_verdict(rpo.max <= first.objective_rpo)}",
        "",
        f"  acknowledged writes {sum(run.acked for run in summary.runs)}, lost {summary.lost}",
        "  runs    " + " ".join(_verdict(run.passed) for run in summary.runs),
    ]
    if first.old_primary_acks_after_fence is not None:
        counts = ", ".join(str(run.old_primary_acks_after_fence) for run in summary.runs)
        lines.append(f"  old primary's acks after its fence: {counts}")
    if first.max_lag_seconds is not None:
        lags = ", ".join("none" if run.lag_seconds is None else f"{run.lag_seconds:.2f}s" for run in summary.runs)
        lines.append(
            f"  mirror lag under {first.delay_seconds:g}s of delay each way: worst {lags}"
            f" (replication.maxLag {format_duration(first.max_lag_seconds)})"
        )
    lines += ["", f"verdict: {_verdict(summary.passed)}"]
    lines += [f"  why: {why}" for why in summary.reasons]
    lines.append(f"report: {report}/report.md")
    if measured is not None:
        lines.append(f"measured constants: {measured}")
    return "\n".join(lines)
