"""`drkit upgrade`: the rolling-upgrade playbook on every region's cluster of a stack, standbys first."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import load_policies_or_exit, load_stack_spec, project_root
from drkit.cli.playbook_run import inventory_option, run, stack_option, state_option
from drkit.operate.runner import PlaybookRun
from drkit.operate.upgrade_target import judge_target
from drkit.report import EXIT_UNUSABLE_INPUT
from drkit.spec.model import Spec


@click.command()
@stack_option
@inventory_option
@state_option
@click.option(
    "--to",
    "version",
    metavar="VERSION",
    callback=lambda _ctx, _param, value: _release_version(value),
    help="The etcd version to run, like 3.5.17. Default: the spec's registry.version.",
)
@click.option("--restart", is_flag=True, help="Restart members already on the version too (a rolling restart).")
@click.option(
    "--refresh-tls",
    is_flag=True,
    help="With --restart: rotate certificates, each member fetching its reissued key and certificate while stopped.",
)
@click.option("--yes", is_flag=True, help="Really upgrade. Without it: check everything and print the plan only.")
@click.option(
    "--gate-timeout",
    default=60,
    show_default=True,
    type=click.IntRange(5, 3600),
    help="Seconds a member has "
    "to pass its gate (healthy, on the version, caught up, hashkv agreeing) before the upgrade stops.",
)
def upgrade(
    stack: str,
    inventory: Path | None,
    state_dir: Path | None,
    version: str | None,
    restart: bool,
    refresh_tls: bool,
    yes: bool,
    gate_timeout: int,
) -> None:
    """Upgrade (or restart) every region's cluster one member at a time, the primary's last.

    Refused, with nothing changed: a member unhealthy, members on different versions (other than an
    interrupted upgrade to the same version), a skipped minor, a downgrade across minors, 3.4 to 3.5 with
    authentication on, a release with known data-inconsistency bugs (policy DR101) unless the stack waives
    it, a release not installed on a member. Then per cluster: a verified backup, followers first, the
    leader last after moving leadership away, each member gated before the next is touched. A member that
    fails its gate stops everything, with how to resume (re-run: members on the version are skipped) or
    roll back (restore the backup).
    """
    spec = load_stack_spec(stack)
    target = version or spec.registry.version
    extravars: dict[str, Any] = {
        "drkit_upgrade_version": target,
        "drkit_upgrade_restart": restart or refresh_tls,
        "drkit_upgrade_refresh_tls": refresh_tls,
        "drkit_upgrade_gate_timeout": gate_timeout,
        "drkit_upgrade_unsafe_release_reason": _release_waiver(stack, spec, target),
    }
    # Standbys first: a problem with the new version shows there before the primary's clients see it.
    regions = [region.name for region in (*spec.standbys, spec.primary)]
    # Every region's pre-flight passes before any region is touched: a refusal changes nothing anywhere.
    passes = [False, True] if yes else [False]
    for confirm in passes:
        for region in regions:
            what = "upgrade" if confirm else "pre-flight"
            click.echo(f"== {region}: {what}, etcd {target}{' (rolling restart)' if restart else ''}", err=True)
            extra = {**extravars, "drkit_cluster_region": region, "drkit_upgrade_confirm": "yes" if confirm else "no"}
            result = run("rolling-upgrade", stack, inventory, state_dir, extra)
            report: dict[str, Any] | None = result.stats.get("drkit_upgrade_report")
            if report and (confirm or not yes):
                click.echo(render_upgrade(report))
            if not result.ok:
                _exit_failed(result, region, regions if confirm else [])
    if yes:
        click.echo(f"every cluster of {stack} runs etcd {target}; set registry.version to {target} in the stack's spec")


def _release_version(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise click.BadParameter(f"{value!r} is not an etcd release version: give major.minor.patch, like 3.5.17")
    return value


def _release_waiver(stack: str, spec: Spec, target: str) -> str:
    """The stack's waiver that accepts a target its rules flag (DR101), or "" when none is needed; a target
    the rules refuse and no waiver accepts ends here with exit 2, before any playbook runs."""
    policies = load_policies_or_exit(project_root() / "policies")
    verdict = judge_target(spec, policies, target, date.today())
    if verdict.refusals:
        click.echo(
            f"error: {'; '.join(verdict.refusals)}. Pick a safe release, or waive the rule in"
            f" stacks/Pulumi.{stack}.yaml with a reason and an expiry date. Nothing was changed.",
            err=True,
        )
        sys.exit(EXIT_UNUSABLE_INPUT)
    return "; ".join(f"{waiver} (stacks/Pulumi.{stack}.yaml)" for waiver in verdict.waivers)


def _exit_failed(result: PlaybookRun, region: str, regions: list[str]) -> None:
    """Say why `region` failed and which regions were never started (`regions`: the upgrade's order, or
    empty for a pre-flight, which starts nothing anywhere); exit 2 for a refusal, 1 for a failure."""
    later = regions[regions.index(region) + 1 :] if region in regions else []
    untouched = f"; not started: {', '.join(later)}" if later else ""
    # The pre-flight's refusals are named "Refuse ...": the request was unusable, and nothing changed.
    refused = any(failure.task.startswith("Refuse") for failure in result.failures)
    click.echo(
        f"error: upgrade of {region} {'refused' if refused else 'failed'}: {result.failure_message()}{untouched}",
        err=True,
    )
    sys.exit(EXIT_UNUSABLE_INPUT if refused else 1)


def render_upgrade(report: dict[str, Any]) -> str:
    cluster, source, target = report["cluster"], report["from"], report["to"]
    if report.get("nothing_to_do"):
        return f"{cluster}: every member already runs {target}; nothing to do (--restart restarts them one by one)"
    order = ", ".join(report["queue"])
    skipped = f"; already on {target}: {', '.join(report['skipped'])}" if report.get("skipped") else ""
    if report.get("dry_run"):
        install = (
            f" etcd {target} is installed first on: {', '.join(report['install_on'])}."
            if report.get("install_on")
            else ""
        )
        return (
            f"DRY RUN {cluster}: {report['mode']} {source} -> {target}, in this order: {order}"
            f" (leader {report['leader']} last){skipped}. A verified backup is taken first.{install}"
            "\nNothing was stopped or changed. Re-run with --yes to upgrade."
        )
    lines = []
    for member in report.get("members", []):
        gate = member["gate"]
        moved = f", leadership moved to {member['leader_moved_to']}" if member.get("was_leader") else ""
        lines.append(
            f"  {member['member']}: {member['from'] or '?'} -> {member['to']} in {member['seconds']}s{moved};"
            f" gate passed in {gate['seconds'].get('all healthy', 0)}s (applied {gate['applied_index']}"
            f" >= leader {gate['leader_index']}, hashkv agreed at revision {gate['hashkv_revision']})"
        )
    if report.get("outcome") == "stopped":
        quorum = "quorum kept" if report["quorum_kept"] else "QUORUM LOST"
        lines.insert(0, f"STOPPED {cluster} at {report['stopped_at']} ({report['failed_task']}): {report['error']}")
        lines.append(
            f"  {report['healthy']} of {report['of']} members healthy, {quorum}; untouched:"
            f" {', '.join(report['untouched']) or 'none'}; backup {report['backup'] or 'none'}"
        )
        lines.append(f"  resume: {report['resume']}")
        lines.append(f"  roll back: {report['rollback']}")
        return "\n".join(lines)
    lines.insert(
        0,
        f"{cluster}: {report['mode']} {source} -> {target} done in {report['seconds']}s; cluster version"
        f" {report['cluster_version']}; {report['healthy']} of {report['of']} healthy;"
        f" backup before: {report['backup']}",
    )
    if report.get("unsafe_release_reason") and report["mode"] != "restart":
        lines.append(f"  note: {report['unsafe_release_reason']}")
    return "\n".join(lines)
