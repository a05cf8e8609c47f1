"""What a switchover, failover or failback did: steps with durations, fencing evidence, the RPO bound and the
time until writes were accepted again, against the spec's `region` objectives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from drkit.failover.control import FenceAction
from drkit.spec.units import format_duration


@dataclass(frozen=True)
class StepRecord:
    name: str
    seconds: float
    detail: str
    resumed: bool = False  # done by an earlier, interrupted run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FailoverReport:
    operation: str  # switchover, failover, failback
    stack: str
    source: str
    target: str
    epoch: int
    dry_run: bool
    objective_rto: float
    objective_rpo: float
    steps: list[StepRecord] = field(default_factory=list)
    fences: list[FenceAction] = field(default_factory=list)
    forced_reason: str = ""
    outcome: str = "done"  # done, refused, failed, planned (dry run)
    message: str = ""
    writes_accepted_after: float | None = None  # seconds from the command's start
    last_mirrored_heartbeat: float | None = None  # wall time of the primary's newest heartbeat the standby held
    mirror_stopped_at: float | None = None  # wall time
    caught_up_revision: int | None = None  # switchover: the primary's revision the standby was seen to reach
    plan: list[str] = field(default_factory=list)

    @property
    def rpo_bound(self) -> float | None:
        """Seconds of the primary's writes the standby may lack: from the newest mirrored heartbeat to the
        moment the mirror was stopped (0 for a switchover, which waits for the mirror to catch up)."""
        if self.operation == "switchover" and self.caught_up_revision is not None:
            return 0.0
        if self.last_mirrored_heartbeat is None or self.mirror_stopped_at is None:
            return None
        return max(0.0, self.mirror_stopped_at - self.last_mirrored_heartbeat)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["steps"] = [step.to_json() for step in self.steps]
        body["fences"] = [fence.to_json() for fence in self.fences]
        body["rpoBoundSeconds"] = self.rpo_bound
        return body


def _clock(wall: float | None) -> str:
    return "-" if wall is None else datetime.fromtimestamp(wall, UTC).strftime("%H:%M:%S.%f")[:-3] + "Z"


def _verdict(value: float | None, objective: float) -> str:
    if value is None:
        return "unknown"
    return "PASS" if value <= objective else "FAIL"


def render(report: FailoverReport) -> str:
    head = f"{report.operation}: stack {report.stack}, {report.source} -> {report.target}"
    if report.operation != "failback":
        head += f" (epoch {report.epoch})"
    lines = [head]
    if report.dry_run:
        lines.append("dry run: nothing was changed. The plan:")
        lines.extend(f"  {number}. {step}" for number, step in enumerate(report.plan, 1))
        lines.append("run again with --yes to carry it out")
        return "\n".join(lines)
    for step in report.steps:
        mark = " (done by an earlier run)" if step.resumed else ""
        lines.append(f"  {step.name:<20} {step.seconds:>7.2f}s  {step.detail}{mark}")
    if report.fences:
        lines.append("fencing:")
        lines.extend(
            f"  {fence.method:<20} {'ok' if fence.ok else 'FAILED':<7} {fence.detail}" for fence in report.fences
        )
    if report.forced_reason:
        lines.append(f"forced: {report.forced_reason}")
    if report.operation in ("switchover", "failover") and report.outcome == "done":
        rpo = report.rpo_bound
        lines.append("")
        lines.append("              measured   objective (region)")
        writes = report.writes_accepted_after
        lines.append(
            f"  time to writes {format_duration(writes):>7}   "
            f"{format_duration(report.objective_rto):>9}   {_verdict(writes, report.objective_rto)}"
            "   (this command; detection and the operator's response come before it)"
        )
        bound = (
            "caught up before promoting"
            if report.operation == "switchover"
            else (
                f"newest mirrored heartbeat {_clock(report.last_mirrored_heartbeat)}, mirror stopped"
                f" {_clock(report.mirror_stopped_at)}"
            )
        )
        lines.append(
            f"  RPO bound      {format_duration(rpo):>7}   {format_duration(report.objective_rpo):>9}   "
            f"{_verdict(rpo, report.objective_rpo)}   ({bound})"
        )
    lines.append("")
    lines.append(f"{report.outcome}: {report.message}" if report.message else report.outcome)
    return "\n".join(lines)
