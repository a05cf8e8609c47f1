"""`drkit validate [PATH...]`: the CI gate over every stack's DR spec."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from drkit.cli.common import load_policies_or_exit
from drkit.project import default_project_root
from drkit.report import exit_code, github, jsonout, text
from drkit.validate import validate_paths

_RENDERERS = {"text": text.render, "json": jsonout.render, "github": github.render}


class _IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date like 2027-06-30", param, ctx)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(_RENDERERS)),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for workflow annotations.",
)
@click.option(
    "--policies",
    "policies_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Policy directory (schema, tiers, rules). Default: policies/ of the project around the working directory.",
)
@click.option(
    "--today",
    type=_IsoDate(),
    default=None,
    help="Judge waiver expiry as of this date instead of today (reproducible CI runs).",
)
@click.option(
    "--break-glass",
    "break_glass",
    metavar='"REASON"',
    default=None,
    help="Emergency only: honour expired waivers for this run (every other rule still applies); the reason is"
    " printed with the report. pulumi up reads it from DRKIT_BREAK_GLASS.",
)
def validate(
    paths: tuple[Path, ...],
    output_format: str,
    policies_dir: Path | None,
    today: date | None,
    break_glass: str | None,
) -> None:
    """Check DR specs: schema first, then the policy rules, with estimated RTO/RPO against the objectives.

    PATHS are stack files (Pulumi.<env>.yaml) or directories of them; default: every stack in stacks/.
    Exit 0 when every stack passes, 1 on a rule violation, 2 on unusable input.
    """
    if break_glass is not None and not break_glass.strip():
        raise click.BadParameter(
            "say why (an incident, a ticket): the reason is what makes it auditable", param_hint="--break-glass"
        )
    root = default_project_root()
    if policies_dir is None:
        if root is None:
            raise click.UsageError(
                f"no drkit project in {Path.cwd()} or above (no Pulumi.yaml beside policies/schema/): run drkit"
                " inside a project, or pass --policies DIR and the stack files"
            )
        policies_dir = root / "policies"
    if not paths:
        if root is None:
            raise click.UsageError("no drkit project here to find stacks/ in: name the stack files to check")
        paths = (_relative(root / "stacks"),)
    policies = load_policies_or_exit(policies_dir)
    reports, path_errors = validate_paths(
        list(paths), policies, today or date.today(), break_glass.strip() if break_glass else None
    )
    click.echo(_RENDERERS[output_format](reports, path_errors), nl=False)
    sys.exit(exit_code(reports, path_errors))


def _relative(path: Path) -> Path:
    """Show paths relative to the working directory when they are under it (shorter, clickable in CI)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
