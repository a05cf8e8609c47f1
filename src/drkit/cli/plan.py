"""`drkit plan --stack S`: what `pulumi up -s S` would build, offline (Pulumi mocks), and the resource rules."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import yaml

from drkit.cli.validate import _IsoDate
from drkit.errors import UnusableInputError
from drkit.policy.catalog import PolicySet
from drkit.policy.resources import evaluate_resources
from drkit.project import default_project_root
from drkit.provision import gate
from drkit.provision.errors import ProvisionError
from drkit.provision.plan_report import as_json, render_text
from drkit.report import EXIT_OK, EXIT_UNUSABLE_INPUT, EXIT_VIOLATION, jsonout, text


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_UNUSABLE_INPUT)


@click.command()
@click.option("--stack", required=True, help="Stack to plan: stacks/Pulumi.<stack>.yaml.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@click.option(
    "--stacks-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the stack files are. Default: stacks/ of the project around the working directory.",
)
@click.option(
    "--policies",
    "policies_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Policy directory. Default: policies/ of the project around the working directory.",
)
@click.option("--today", type=_IsoDate(), default=None, help="Judge waiver expiry as of this date.")
def plan(
    stack: str, output_format: str, stacks_dir: Path | None, policies_dir: Path | None, today: date | None
) -> None:
    """Run the Pulumi program offline and list what it would create, by region and AZ, then check the
    resource rules (DR4xx: mandatory unless the tier makes one advisory, waivable like any rule). No
    credentials, no Pulumi CLI.

    The spec is validated first, as `pulumi up` does; when a spec rule fails, the plan is still shown (what
    would be built once it passes) and the exit status is 1. Exit 0 when everything passes, 1 on a spec or
    resource rule failure, 2 on unusable input.
    """
    if stacks_dir is None or policies_dir is None:
        root = default_project_root()
        if root is None:
            raise click.UsageError(
                "no drkit project here (no Pulumi.yaml with policies/): pass --stacks-dir and --policies"
            )
        stacks_dir = stacks_dir or root / "stacks"
        policies_dir = policies_dir or root / "policies"
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.name.split(".")[1] for p in stacks_dir.glob("Pulumi.*.yaml"))) or "none"
        _fail(f"no stack {stack}: {path} does not exist (stacks there: {known})")
    try:
        # Loaded once: the spec rules judge the spec, the resource rules (same set) what it builds.
        policies = PolicySet.load(policies_dir)
    except UnusableInputError as failure:
        for error in failure.errors:
            click.echo(f"error: policy files: {error.render()}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
    today = today or date.today()
    report = gate.validate_stack(path, policies, today, _display(path))
    if report.verdict == "error" or report.spec is None:
        click.echo(text.render([report], []), err=True, nl=False)
        sys.exit(EXIT_UNUSABLE_INPUT)
    rejection = gate.rejection(report)
    # Imported here: pulumi_aws takes a moment to load, and the checks above need none of it.
    from drkit.provision.offline import run_offline

    try:
        result = run_offline(report.spec, stack, _program_config(path))
    except ProvisionError as error:
        _fail(str(error))
    except Exception as error:  # a bug in the program must still read as one line, not a traceback
        _fail(f"the Pulumi program failed offline: {type(error).__name__}: {error} (a drkit bug: please report it)")
    regions = [region.name for region in report.spec.regions]
    results, _unused = evaluate_resources(policies, report.spec, result.resources, today)
    failed = rejection is not None or any(r.blocks for r in results)
    code = EXIT_VIOLATION if failed else EXIT_OK
    if output_format == "json":
        document = {
            "exitCode": code,
            "validation": json.loads(jsonout.render([report], []))["stacks"][0],
            "plan": as_json(result, regions, results),
        }
        click.echo(json.dumps(document, indent=2, default=str))
    else:
        if rejection is not None:
            click.echo(rejection)
            click.echo("What pulumi up would build once the spec passes:\n")
        else:
            passed = sum(1 for r in report.results if r.status == "pass")
            click.echo(f"spec: {report.file}  tier {report.spec.tier}  PASS ({passed} spec rules passed)")
        click.echo(render_text(result, regions, results), nl=False)
    sys.exit(code)


def _program_config(path: Path) -> dict[str, Any]:
    """The stack file's config keys the program reads besides drkit:spec (pinned AZs, bucket prefix)."""
    from drkit.provision.stack_config import config_from_stack_file

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    config = document.get("config") if isinstance(document, dict) else None
    return config_from_stack_file(config) if isinstance(config, dict) else {}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
