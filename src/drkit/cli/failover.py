"""`drkit switchover`, `drkit failover`, `drkit failback`: move the primary to another region, planned or
not, and turn a fenced old primary into a standby again. Dry runs unless --yes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import lab_state_dir, load_stack_spec, project_root
from drkit.cli.sandbox import lab_errors
from drkit.failover.aws_deployment import ClientTls, CloudInventoryError, aws_deployment
from drkit.failover.control import ControlPlaneError
from drkit.failover.deployment import Deployment
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.journal import Journal, JournalError
from drkit.failover.lab import lab_deployment
from drkit.failover.registry import RegistryError
from drkit.failover.report import render
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec


@dataclass(frozen=True)
class CloudAccess:
    """How to reach a cloud stack: its inventory, and TLS files on this machine."""

    inventory: Path | None = None
    tls: ClientTls = field(default_factory=ClientTls)


def _deployment(stack: str, spec: Spec, state_dir: Path | None, cloud: CloudAccess) -> Deployment:
    if all(region.provider == "local" for region in spec.regions):
        return lab_deployment(Lab.existing(lab_state_dir(stack, state_dir)))
    if cloud.inventory is None:
        raise CloudInventoryError(
            f"stack {stack} runs on AWS: pass --inventory FILE (`drkit inventory --stack {stack} --from-outputs"
            " outputs.json` writes it) so drkit can reach each region's members"
        )
    import boto3  # only cloud stacks need it; the lab's commands stay quick to start

    state_dir = project_root() / ".drkit" / "failover" / stack
    if any(region.provider == "gcp" for region in spec.regions):
        from drkit.failover.gcp_deployment import mixed_deployment

        project = _gcp_project(stack)
        return mixed_deployment(stack, spec, cloud.inventory, boto3.session.Session(), cloud.tls, state_dir, project)
    return aws_deployment(stack, spec, cloud.inventory, boto3.session.Session(), cloud.tls, state_dir)


def _gcp_project(stack: str) -> str:
    """The stack file's gcp:project: the GCP regions' fencing and the roles record are in that project."""
    import yaml

    path = project_root() / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    project = ((document or {}).get("config") or {}).get("gcp:project")
    if not isinstance(project, str) or not project:
        raise CloudInventoryError(f"{path}: config gcp:project is not set; the stack's GCP regions live in it")
    return project


def _run(stack: str, state_dir: Path | None, request: Request, output: str, cloud: CloudAccess) -> None:
    spec = load_stack_spec(stack)

    def progress(line: str) -> None:
        if output == "text":
            click.echo(f"  {line}", err=True)

    with lab_errors():
        try:
            deployment = _deployment(stack, spec, state_dir, cloud)
        except CloudInventoryError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        try:
            report = carry_out(deployment, request, progress)
        except FailoverRefusedError as error:
            click.echo(f"error: {request.operation} refused: {error}", err=True)
            sys.exit(error.exit_code)
        except (JournalError, ControlPlaneError) as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except RegistryError as error:
            journal = Journal.load(deployment.state_dir)
            where = journal.describe() if journal else "before any change"
            click.echo(
                f"error: {request.operation} stopped: {error}. Where it stopped: {where}. Run the same command"
                " again to resume.",
                err=True,
            )
            sys.exit(1)
    click.echo(json.dumps(report.to_json(), indent=2) if output == "json" else render(report))


stack_option = click.option("--stack", default="local", show_default=True, help="The stack whose regions to act on.")
state_option = click.option(
    "--state-dir", type=click.Path(path_type=Path, file_okay=False), help="The lab's state dir (lab stacks)."
)
yes_option = click.option("--yes", is_flag=True, help="Carry it out (without it: a dry run that changes nothing).")
format_option = click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def common_options(command: Callable[..., None]) -> Callable[..., None]:
    """--stack, --state-dir, --yes, --format, and for cloud stacks --inventory and the TLS files."""
    options = [
        stack_option,
        state_option,
        yes_option,
        format_option,
        click.option(
            "--inventory",
            "-i",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Cloud stacks: the inventory from `drkit inventory --from-outputs` (members' client URLs).",
        ),
        click.option("--cacert", type=click.Path(dir_okay=False, exists=True), help="Cloud stacks: CA file (TLS)."),
        click.option("--cert", type=click.Path(dir_okay=False, exists=True), help="Cloud stacks: client cert."),
        click.option("--key", type=click.Path(dir_okay=False, exists=True), help="Cloud stacks: client key."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class Where:
    """What the common options say: which stack, how to reach it, how to answer."""

    stack: str
    state_dir: Path | None
    yes: bool
    output: str
    cloud: CloudAccess

    @classmethod
    def of(cls, options: dict[str, Any]) -> Where:
        tls = ClientTls(options["cacert"], options["cert"], options["key"])
        access = CloudAccess(options["inventory"], tls)
        return cls(options["stack"], options["state_dir"], options["yes"], options["output"], access)

    def run(self, operation: str, target: str, force_reason: str = "") -> None:
        _run(self.stack, self.state_dir, Request(operation, target, self.yes, force_reason), self.output, self.cloud)


@click.command()
@click.option("--to", "target", required=True, help="The standby region to promote.")
@common_options
def switchover(target: str, **options: Any) -> None:
    """Planned move of the primary to standby TO, losing no acknowledged write.

    Refused (nothing changed) when either region is unhealthy or the mirror lags beyond replication.maxLag.
    Writes stop at the endpoint, the mirror is waited on until it has delivered the primary's last revision,
    the standby is promoted and the mirror reversed: the old primary becomes its standby."""
    Where.of(options).run("switchover", target)


@click.command()
@click.option("--to", "target", required=True, help="The standby region to promote.")
@click.option("--force", is_flag=True, help="Promote even if the old primary answers and could not be fenced.")
@click.option("--reason", default="", help="Why --force is safe; required with --force, kept in the report.")
@common_options
def failover(target: str, force: bool, reason: str, **options: Any) -> None:
    """Unplanned: the primary is dead or cut off. Fence it, then promote standby TO.

    The old primary's members are stopped, their client port cut and their region taken out of the endpoint,
    whichever of these can be reached. Promotion is refused while the old primary answers unfenced, unless
    --force --reason "...". The old primary stays fenced until `drkit failback`."""
    if force and not reason.strip():
        raise click.UsageError('--force needs --reason "why promoting without a fence is safe" (kept in the report)')
    if reason.strip() and not force:
        raise click.UsageError("--reason goes with --force")
    Where.of(options).run("failover", target, reason.strip() if force else "")


@click.command()
@click.option("--region", help="The fenced region to re-seed (default: the only fenced one).")
@common_options
def failback(region: str | None, **options: Any) -> None:
    """Turn the old primary, fenced by a failover, into a standby of the current primary.

    Its data is moved aside (never deleted), it restarts empty and is re-seeded by the mirror from revision
    0. A later `drkit switchover --to REGION` moves the primary back."""
    where = Where.of(options)
    if region is None:
        spec = load_stack_spec(where.stack)
        with lab_errors():
            try:
                fenced = _deployment(where.stack, spec, where.state_dir, where.cloud).fenced
            except CloudInventoryError as error:
                click.echo(f"error: {error}", err=True)
                sys.exit(2)
        if len(fenced) != 1:
            problem = "several regions are fenced" if fenced else "no region is fenced: nothing to fail back"
            click.echo(
                f"error: {problem}" + (f" ({', '.join(fenced)}): name one with --region" if fenced else ""), err=True
            )
            sys.exit(2)
        region = fenced[0]
    where.run("failback", region)
