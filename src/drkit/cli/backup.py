"""`drkit backup` and `drkit backups list`: the backup playbook and the snapshots at the targets."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import load_stack_spec
from drkit.cli.playbook_run import exit_on_failure, inventory_option, run, stack_option, state_option
from drkit.operate.freshness import copies, freshness
from drkit.spec.units import format_size, parse_duration


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
    """List the stack's snapshots, newest first, with every copy: rsync targets, S3 bucket, replica bucket.

    Each copy says whether it verifies (rsync: the file is there at the manifest's size; S3: the version the
    manifest names is there with its size and sha256), and for S3 its class, lock and ReplicationStatus.
    """
    catalog = _catalog(stack, inventory, state_dir)
    if output == "json":
        click.echo(json.dumps(catalog, indent=2, sort_keys=True, default=str))
        return
    for target in sorted(catalog):
        entry = catalog[target]
        where = f"s3://{entry.get('bucket')}" if entry.get("type") == "s3" else entry.get("url", "")
        count = len(entry.get("snapshots") or [])
        problem = f": UNREADABLE: {entry['error']}" if entry.get("error") else ""
        click.echo(f"{target} ({entry.get('type', 'rsync')}) {where}: {count} snapshot(s){problem}")
        if entry.get("unmanaged"):
            click.echo(f"  (not drkit's, left alone: {', '.join(entry['unmanaged'])})")
    for snapshot_id, (summary, found) in copies(catalog).items():
        click.echo(
            f"{snapshot_id}  {summary['started_at']}  rev {summary['revision']}  {summary['key_count']} keys"
            f"  {format_size(int(summary['size'] or 0))}"
        )
        for copy in found:
            click.echo(f"  {copy.where}: {'verifies' if copy.verifies else 'DOES NOT VERIFY'} ({copy.detail})")


def _catalog(stack: str, inventory: Path | None, state_dir: Path | None) -> dict[str, Any]:
    result = run("backups-list", stack, inventory, state_dir, {})
    exit_on_failure(result, "listing backups")
    catalog: dict[str, Any] = result.stats.get("drkit_backups", {})
    return catalog


@backups.command(name="check")
@stack_option
@inventory_option
@state_option
@click.option(
    "--max-age",
    help="Oldest acceptable newest verified backup (e.g. 15m, 1h). Default: the spec's data RPO objective.",
)
def check_backups(stack: str, inventory: Path | None, state_dir: Path | None, max_age: str | None) -> None:
    """Exit 1 when a target's newest verified backup is older than --max-age (or it has none, or cannot be
    read); 0 when every target is fresh. One line per target."""
    if max_age is None:
        limit = load_stack_spec(stack).objectives["data"].rpo
    else:
        try:
            limit = parse_duration(max_age)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--max-age") from None
    rows = freshness(_catalog(stack, inventory, state_dir), datetime.now(UTC), limit)
    for row in rows:
        click.echo(row.line())
    if not rows:
        click.echo("no backup target in the inventory", err=True)
    if not rows or not all(row.fresh for row in rows):
        sys.exit(1)
