"""`drkit inventory --stack S --from-outputs FILE`: the Ansible inventory of a provisioned stack."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from drkit.errors import UnusableInputError
from drkit.project import default_project_root
from drkit.provision.outputs_file import read_inventory
from drkit.report import EXIT_UNUSABLE_INPUT


@click.command()
@click.option("--stack", required=True, help="The stack the outputs belong to.")
@click.option(
    "--from-outputs",
    "outputs_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON written by `pulumi stack output --json -s STACK`.",
)
@click.option(
    "--output",
    "-o",
    "destination",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Where to write the YAML inventory ('-' for stdout). Default: .drkit/inventory/<stack>.yml in the project.",
)
def inventory(stack: str, outputs_file: Path, destination: Path | None) -> None:
    """Write the Ansible inventory the playbooks use, from a stack's outputs (same groups and host variables
    as the lab's inventory). Exit 2 when the outputs file is missing or not a drkit stack's outputs."""
    try:
        document = read_inventory(outputs_file, stack)
    except UnusableInputError as failure:
        for error in failure.errors:
            click.echo(f"error: {error.render()}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
    header = (
        f"# Written by `drkit inventory --stack {stack}` from {outputs_file}; regenerate after every `pulumi up`.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False)
    if destination is not None and str(destination) == "-":
        click.echo(text, nl=False)
        return
    if destination is None:
        root = default_project_root()
        if root is None:
            raise click.UsageError("no drkit project here to write .drkit/inventory/ in: pass --output PATH")
        destination = root / ".drkit" / "inventory" / f"{stack}.yml"
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"error: {destination}: cannot write: {error.strerror}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
    click.echo(f"wrote {destination}")
