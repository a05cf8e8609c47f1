"""`drkit drill ...`: break the lab on purpose and measure recovery against the spec's objectives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from drkit.cli.common import lab_state_dir, load_stack_spec, project_root
from drkit.cli.drill_faults import register_fault_drills
from drkit.cli.sandbox import lab_errors
from drkit.drill.aggregate import Summary
from drkit.drill.calibration import record_constants
from drkit.drill.report_files import environment, write_report
from drkit.drill.restore_drill import RestoreDrillResult, run_restore_drill
from drkit.drill.session import DrillError
from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import DEFAULT_BASE_PORT, plan_lab
from drkit.spec.units import format_duration, parse_size


@click.group()
def drill() -> None:
    """Drills on the local DR lab: real faults, measured RTO and RPO."""


register_fault_drills(drill)


@drill.command()
@click.option("--stack", default="local", show_default=True, help="Stack whose spec the lab runs.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), help="The lab's state dir.")
@click.option("--base-port", type=int, default=DEFAULT_BASE_PORT, show_default=True, help="First port of a new lab.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--reports-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the report goes. Default: reports/drills/ in the checkout.",
)
@click.option(
    "--measured-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where measured constants go (drkit validate reads them). Default: stacks/measured/.",
)
@click.option(
    "--ballast",
    help="Write this much data (e.g. 64MiB) before the backup and remove it afterwards, so the restore throughput"
    " recorded for drkit validate is measured on bytes, not fixed costs (it counts from 32MiB).",
)
def restore(
    stack: str,
    state_dir: Path | None,
    base_port: int,
    output: str,
    reports_dir: Path | None,
    measured_dir: Path | None,
    ballast: str | None,
) -> None:
    """Data loss on the primary: back up under load, destroy the primary, restore, measure.

    Starts the lab if it is not up, writes a ledger and leased registrations through the endpoint, runs
    the backup playbook, SIGKILLs every primary member and moves their data dirs aside, runs the restore
    playbook, then checks that every write acknowledged before the backup is back and that registrations
    were re-bound. Prints the measured RTO and RPO against the spec's `data` objectives; exit 1 when an
    objective or a check is missed. The lab is left running.
    """
    spec = load_stack_spec(stack)
    ballast_bytes = _ballast(ballast, spec.registry.quota_backend_bytes)

    def progress(line: str) -> None:
        if output == "text":
            click.echo(f"  {line}", err=True)

    with lab_errors():
        lab = Lab.prepare(plan_lab(stack, spec, base_port), lab_state_dir(stack, state_dir))
        progress(lab.up(progress))
        try:
            result, run = run_restore_drill(lab, spec, project_root(), progress, ballast_bytes)
        except DrillError as error:
            click.echo(f"error: drill failed: {error}", err=True)
            sys.exit(1)
        summary = Summary("restore", stack, [run])
        directory = write_report(
            summary, environment(lab, project_root()), reports_dir or project_root() / "reports" / "drills"
        )
    record_constants(measured_dir or project_root() / "stacks" / "measured", summary)
    # The restore table's own checks and every drill's (hashkv, split brain) must all pass.
    passed = result.passed and run.passed
    if output == "json":
        data = {**result.to_json(), "passed": passed, "reasons": run.reasons, "report": str(directory)}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render(result, passed))
        click.echo("".join(f"  why: {why}\n" for why in run.reasons) + f"report: {directory}/report.md")
    sys.exit(0 if passed else 1)


def _ballast(text: str | None, quota: int) -> int:
    """--ballast in bytes: a size up to a quarter of the quota (the lab's databases must keep room)."""
    if text is None:
        return 0
    try:
        size = parse_size(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ballast") from None
    if not 0 < size <= quota // 4:
        raise click.BadParameter(
            f"{text} is not between 1B and a quarter of quotaBackendBytes ({quota // 4 // 1024**2}MiB)",
            param_hint="--ballast",
        )
    return size


def _throughput(result: RestoreDrillResult) -> str:
    size = f"{result.snapshot_bytes / 1024**2:.1f} MiB snapshot" + (
        f" ({result.ballast_keys} MiB of it ballast)" if result.ballast_keys else ""
    )
    rate = "no task timings" if result.restore_mib_per_second is None else f"{result.restore_mib_per_second:.2f} MiB/s"
    start = "" if result.member_start_seconds is None else f"; members healthy {result.member_start_seconds:.2f}s after"
    return f"fetch/verify/restore {rate} on a {size}{start} start (recorded for drkit validate)"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(result: RestoreDrillResult, passed: bool | None = None) -> str:
    """The restore table; `passed`: the verdict with every drill's checks too (default: the table's own)."""
    missing = len(result.missing_before_backup)
    leases_ok = (
        result.live_instances_registered == result.live_instances
        and result.dead_instances_expired == result.dead_instances
    )
    lines = [
        f"drill restore: stack {result.stack}, data loss on {result.region}, recovered from backup",
        f"  backup      {result.snapshot} (revision {result.snapshot_revision}) in {result.backup_seconds}s",
        f"  restore     playbook {result.restore_seconds}s; data dirs moved aside: {len(result.moved_aside)}",
        f"  measured    {_throughput(result)}",
        f"  ledger      {result.writes_before_backup - missing} of {result.writes_before_backup} writes acknowledged"
        f" before the backup are back ({_verdict(missing == 0)}); {result.writes_lost} written after it were lost",
        f"  leases      {result.live_instances_registered} of {result.live_instances} live instances registered"
        f" ({result.re_registrations} re-registrations); {result.dead_instances_expired} of {result.dead_instances}"
        f" dead instances expired"
        f" ({_verdict(leases_ok)})",
        "",
        "              measured   objective (data)",
        f"  RTO      {result.rto_seconds:>9.2f}s   {format_duration(result.objective_rto):>9}   "
        f"{_verdict(result.rto_seconds <= result.objective_rto)}",
        f"  RPO      {result.rpo_seconds:>9.2f}s   {format_duration(result.objective_rpo):>9}   "
        f"{_verdict(result.rpo_seconds <= result.objective_rpo)}"
        f"   (writes since the backup; the schedule {result.schedule!r} bounds it in production)",
        "",
        f"verdict: {_verdict(result.passed if passed is None else passed)}",
    ]
    if missing:
        lines.insert(4, f"  missing: {', '.join(result.missing_before_backup[:10])}")
    return "\n".join(lines)
