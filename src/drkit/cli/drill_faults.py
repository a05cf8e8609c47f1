"""`drkit drill member|leader|az|region|partition` and `drkit drill report`: one fault per command, the
same options, runs, output and reports for all of them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import lab_state_dir, load_stack_spec, project_root
from drkit.cli.sandbox import lab_errors
from drkit.drill.aggregate import Summary
from drkit.drill.az_drill import run_az_drill
from drkit.drill.calibration import record_constants
from drkit.drill.history import parse_since, past_drills, render_history, since
from drkit.drill.lag_drill import DEFAULT_DELAY, run_lag_drill
from drkit.drill.leader_drill import run_leader_drill
from drkit.drill.member_drill import run_member_drill
from drkit.drill.partition_drill import run_partition_drill
from drkit.drill.region_drill import run_region_drill
from drkit.drill.render import render_summary
from drkit.drill.report_files import environment, write_report
from drkit.drill.result import OBJECTIVE_OF, DrillRun
from drkit.drill.session import DrillError, Progress
from drkit.sandbox.delay_proxy import parse_delay
from drkit.sandbox.lab import Lab
from drkit.sandbox.network import choose_mode
from drkit.sandbox.plan import DEFAULT_BASE_PORT, load_saved_plan, plan_lab
from drkit.spec.model import Objective, Spec
from drkit.spec.units import parse_duration

# kind -> (what it breaks, one run on the lab; returns the run and the lab as it is afterwards). The last
# argument holds the kind's own options (the lag drill's delay, in seconds).
Drill = Callable[[Lab, Spec, Path, Progress, dict[str, Any]], tuple[DrillRun, Lab]]
DRILLS: dict[str, tuple[str, Drill]] = {
    "member": (
        "A follower of the primary SIGKILLed and replaced by the member-replace playbook.",
        lambda lab, spec, root, progress, _: (run_member_drill(lab, spec, root, progress), lab),
    ),
    "leader": (
        "The primary's leader SIGKILLed three times, restarted after each new election.",
        lambda lab, spec, root, progress, _: (run_leader_drill(lab, spec, progress), lab),
    ),
    "az": (
        "Every member of the primary in the leader's AZ SIGKILLed at once, then restarted.",
        lambda lab, spec, root, progress, _: (run_az_drill(lab, spec, progress), lab),
    ),
    "region": (
        "Every member of the primary region SIGKILLed; the standby promoted by the failover engine (fence first);"
        " the old primary failed back to a standby afterwards.",
        lambda lab, spec, root, progress, _: run_region_drill(lab, spec, progress),
    ),
    "partition": (
        "The primary region cut off by the lab's namespaces partition; the guards (automatic promotion) or the"
        " failover engine promote the standby; a client inside the cut counts the old primary's"
        " acknowledgements after its fence (must be 0). Needs a namespaces lab.",
        lambda lab, spec, root, progress, _: run_partition_drill(lab, spec, progress),
    ),
    "lag": (
        "A delay on the mirror's path between the regions (a userspace delaying proxy in front of the primary's"
        " members, --delay each way); the mirror's lag is probed under the ledger's load and must stay within"
        " replication.maxLag.",
        lambda lab, spec, root, progress, own: (run_lag_drill(lab, spec, progress, own["delay"]), lab),
    ),
}


def _duration(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(f"{error} (a duration such as 500ms, 10s, 2m)", param_hint=option) from None


def _delay(value: str | None) -> float:
    if value is None:
        return DEFAULT_DELAY
    try:
        return parse_delay(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--delay") from None


def _tightened(spec: Spec, kind: str, rto: float | None, rpo: float | None) -> Spec:
    """The spec with this drill's objective replaced on the command line (rehearsing a stricter target)."""
    name = OBJECTIVE_OF[kind]
    current = spec.objectives[name]
    objective = Objective(current.rto if rto is None else rto, current.rpo if rpo is None else rpo)
    return replace(spec, objectives={**spec.objectives, name: objective})


def _open_lab(stack: str, spec: Spec, state_dir: Path | None, base_port: int, progress: Progress) -> Lab:
    directory = lab_state_dir(stack, state_dir)
    saved = load_saved_plan(directory)
    mode = saved.network if saved else choose_mode("auto")
    lab = Lab.prepare(plan_lab(stack, spec, base_port, mode, directory), directory)
    progress(lab.up(progress))
    return Lab.existing(directory)


def run_drill(kind: str, options: dict[str, Any]) -> None:
    stack, output, runs = options["stack"], options["output"], options["runs"]
    rto = _duration(options["objective_rto"], "--objective-rto")
    rpo = _duration(options["objective_rpo"], "--objective-rpo")
    own = {"delay": _delay(options.get("delay"))}
    spec = _tightened(load_stack_spec(stack), kind, rto, rpo)
    root = project_root()

    def progress(line: str) -> None:
        if output == "text":
            click.echo(f"  {line}", err=True)

    results: list[DrillRun] = []
    with lab_errors():
        lab = _open_lab(stack, spec, options["state_dir"], options["base_port"], progress)
        try:
            for index in range(1, runs + 1):
                progress(f"run {index} of {runs}")
                result, lab = DRILLS[kind][1](lab, spec, root, progress, own)
                results.append(result)
                progress(f"run {index}: {'PASS' if result.passed else 'FAIL: ' + '; '.join(result.reasons)}")
        except DrillError as error:
            click.echo(f"error: drill {kind} stopped: {error}", err=True)
            sys.exit(error.exit_code)
        summary = Summary(kind, stack, results, objective_overridden=rto is not None or rpo is not None)
        directory = write_report(summary, environment(lab, root), options["reports_dir"] or root / "reports" / "drills")
    measured = None
    if not options["no_calibrate"]:
        measured = record_constants(options["measured_dir"] or root / "stacks" / "measured", summary)
    if output == "json":
        click.echo(json.dumps({**summary.to_json(), "report": str(directory), "measured": str(measured)}, indent=2))
    else:
        click.echo(render_summary(summary, directory, measured))
    sys.exit(0 if summary.passed else 1)


def _options(command: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option("--stack", default="local", show_default=True, help="Stack whose spec the lab runs."),
        click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), help="The lab's state dir."),
        click.option(
            "--base-port", type=int, default=DEFAULT_BASE_PORT, show_default=True, help="First port of a new lab."
        ),
        click.option("--runs", type=click.IntRange(1, 1000), default=1, show_default=True, help="Repeat N times."),
        click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True),
        click.option(
            "--objective-rto", help="Judge against this RTO instead of the spec's (rehearse a tighter objective)."
        ),
        click.option("--objective-rpo", help="Judge against this RPO instead of the spec's."),
        click.option(
            "--reports-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where reports go. Default: reports/drills/ in the checkout.",
        ),
        click.option(
            "--measured-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where measured constants go (drkit validate reads them). Default: stacks/measured/.",
        ),
        click.option("--no-calibrate", is_flag=True, help="Do not record measured constants."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _command(kind: str, summary: str) -> click.Command:
    def body(**options: Any) -> None:
        run_drill(kind, options)

    body.__doc__ = (
        f"{summary}\n\nStarts the lab if it is not up and runs a ledger and leased registrations through the"
        " endpoint during the fault. Prints RTO and RPO (min/median/p95/max over --runs) against the spec's"
        f" `{OBJECTIVE_OF[kind]}` objectives and writes reports/drills/<stack>/<time>-{kind}/. Exit 1 when an"
        " objective is missed or an acknowledged write is lost (the report says why), 2 when the lab or spec"
        " cannot run it."
    )
    command = _options(body)
    if kind == "lag":
        command = click.option(
            "--delay",
            help=f"One-way delay on the mirror's path, each direction (default {DEFAULT_DELAY:g}s; e.g. 250ms, 3s).",
        )(command)
    return click.command(name=kind)(command)


def _report_command() -> click.Command:
    @click.command(name="report")
    @click.option("--stack", default="local", show_default=True)
    @click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), help="Default: reports/drills/.")
    @click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
    @click.option("--since", "since_text", help="Only drills finished at or after this UTC time (ISO 8601).")
    def report(stack: str, reports_dir: Path | None, output: str, since_text: str | None) -> None:
        """List a stack's past drills and compare their measured figures with the objectives.

        With --since, only the drills finished since then, each with where its report is (`make run` lists
        its own drills this way)."""
        directory = (reports_dir or project_root() / "reports" / "drills") / stack
        drills = past_drills(directory)
        if since_text is not None:
            try:
                moment = parse_since(since_text)
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="--since") from None
            drills = since(drills, moment)
        if not drills:
            when = f" since {since_text}" if since_text else ""
            click.echo(
                f"error: no drill reports for stack {stack}{when} in {directory}: run `drkit drill region`", err=True
            )
            sys.exit(2)
        text = render_history(stack, drills, paths=since_text is not None)
        click.echo(json.dumps(drills, indent=2) if output == "json" else text)

    return report


def register_fault_drills(group: click.Group) -> None:
    for kind, (summary, _) in DRILLS.items():
        group.add_command(_command(kind, summary))
    group.add_command(_report_command())
