"""`drkit restore`: the restore playbook, a dry run unless --yes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from drkit.cli.playbook_run import exit_on_failure, inventory_option, run, stack_option, state_option


@click.command()
@stack_option
@inventory_option
@state_option
@click.option("--snapshot", default="latest", show_default=True, help="Snapshot ID, or latest (the newest valid).")
@click.option(
    "--target",
    default="any",
    show_default=True,
    help="Where the snapshot may come from: a backup target's inventory name, rsync or s3. Default: the newest"
    " verified snapshot at any target.",
)
@click.option("--yes", is_flag=True, help="Really restore. Without it: fetch, verify and print the plan only.")
def restore(stack: str, inventory: Path | None, state_dir: Path | None, snapshot: str, target: str, yes: bool) -> None:
    """Restore the primary's cluster from a verified snapshot.

    The snapshot is fetched to every member and verified (sha256, snapshot status, manifest) before any
    member is stopped; a corrupt or truncated one is refused and the cluster left running. With --yes every
    member is stopped, its data dir moved aside (never deleted), restored with a new cluster token, started,
    verified against the manifest, and registrations re-bound to fresh leases. Re-running after an
    interruption finishes the same restore.
    """
    extravars = {
        "drkit_restore_snapshot": snapshot,
        "drkit_restore_confirm": "yes" if yes else "no",
        "drkit_restore_target": target,
    }
    result = run("restore", stack, inventory, state_dir, extravars)
    report: dict[str, Any] | None = result.stats.get("drkit_restore_report")
    if report:
        click.echo(render_restore(report, result.stats.get("drkit_leases_report")))
    exit_on_failure(result, "restore")


def render_restore(report: dict[str, Any], leases: dict[str, Any] | None) -> str:
    lines = []
    if report.get("fell_back"):
        rejected = "; ".join(f"{r['id']} at {r['target']}: {r['reason']}" for r in report.get("rejected", []))
        lines.append(f"FELL BACK to an older snapshot: {rejected}")
    what = (
        f"{report['snapshot']} (revision {report['revision']}, {report['key_count']} keys, taken {report['taken_at']})"
    )
    if report.get("dry_run"):
        lines.append(
            f"DRY RUN: would restore {', '.join(report['members'])} from {what}, verified at {report['source']}."
        )
        lines.append("Nothing was stopped or changed. Re-run with --yes to restore.")
        return "\n".join(lines)
    if "seconds_down" not in report:
        # finish.yml never ran: the restore stopped part-way (its journal lets the same command resume it).
        lines.append(f"restore of {', '.join(report['members'])} from {what} did NOT finish (see the error below).")
        lines.append("  Re-run the same command to resume it: its journal keeps what was done.")
        lines.extend(f"  previous data kept at {path}" for path in report.get("moved_aside", []))
        return "\n".join(lines)
    resumed = " (resumed an interrupted restore)" if report.get("resumed") else ""
    lines.append(f"restored {', '.join(report['members'])} from {what}{resumed}")
    lines.append(f"  source: {report['source']}")
    lines.append(f"  down for {report['seconds_down']}s (stop to healthy); new cluster token {report['token']}")
    for path in report.get("moved_aside", []):
        lines.append(f"  previous data kept at {path}")
    if leases:
        lines.append(
            f"  leases: {leases['rebound']} of {leases['keys']} registrations under {', '.join(leases['prefixes'])}"
            f" re-bound to a fresh {leases['ttl']}s lease; {leases['revoked']} old leases revoked"
        )
    return "\n".join(lines)
