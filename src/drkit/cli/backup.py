"""`drkit backup` and `drkit backups list`: the backup playbook and the snapshots at the targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from drkit.cli.playbook_run import exit_on_failure, inventory_option, run, stack_option, state_option
from drkit.spec.units import format_size


@click.command()
@stack_option
@inventory_option
@state_option
def backup(stack: str, inventory: Path | None, state_dir: Path | None) -> None:
    """Snapshot the primary's cluster, verify it, ship it to every backup target and apply retention.

    Runs playbooks/backup.yml through ansible-runner. Exit 1 when the cluster is unhealthy, the snapshot
    fails `snapshot status`, or any target did not get a verified copy (the others still do).
    """
    result = run("backup", stack, inventory, state_dir, {})
    report: dict[str, Any] | None = result.stats.get("drkit_backup_report")
    if report:
        click.echo(render_backup(report))
    exit_on_failure(result, "backup")


def render_backup(report: dict[str, Any]) -> str:
    lines = [
        f"snapshot {report['snapshot']}: revision {report['revision']}, {report['key_count']} keys,"
        f" {format_size(int(report['bytes']))}, from {report['source']}, in {report['seconds']}s"
    ]
    retention = report.get("retention") or {}
    for target in report.get("served", []):
        kept = retention.get(target, {})
        detail = f" (retention kept {kept['kept']}, deleted {len(kept['deleted'])})" if kept else ""
        lines.append(f"  {target}: verified{detail}")
    lines.extend(f"  {failure['target']}: FAILED: {failure['error']}" for failure in report.get("failed", []))
    return "\n".join(lines)


@click.group()
def backups() -> None:
    """The snapshots held at the backup targets."""


@backups.command(name="list")
@stack_option
@inventory_option
@state_option
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_backups(stack: str, inventory: Path | None, state_dir: Path | None, output: str) -> None:
    """List every target's snapshots of the stack, newest first, with revision, keys, size and completeness."""
    result = run("backups-list", stack, inventory, state_dir, {})
    exit_on_failure(result, "listing backups")
    catalog: dict[str, Any] = result.stats.get("drkit_backups", {})
    if output == "json":
        click.echo(json.dumps(catalog, indent=2, sort_keys=True))
        return
    for target in sorted(catalog):
        entries = catalog[target].get("snapshots", [])
        click.echo(f"{target}: {len(entries)} snapshot(s)")
        for entry in entries:
            state = "complete" if entry["complete"] else "INCOMPLETE"
            click.echo(
                f"  {entry['id']}  {entry['started_at']}  rev {entry['revision']}  {entry['key_count']} keys"
                f"  {format_size(int(entry['size'] or 0))}  {state}"
            )
        unmanaged = catalog[target].get("unmanaged", [])
        if unmanaged:
            click.echo(f"  (not drkit's, left alone: {', '.join(unmanaged)})")
