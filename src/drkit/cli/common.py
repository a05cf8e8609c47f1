"""What several subcommands share: the project root, the lab's state dir, and loading the policy set (or
saying exactly which policy file is broken)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from drkit.errors import UnusableInputError
from drkit.policy.catalog import PolicySet
from drkit.project import default_project_root
from drkit.report import EXIT_UNUSABLE_INPUT
from drkit.report import text as text_report
from drkit.spec.model import Spec
from drkit.validate import validate_file


def load_policies_or_exit(directory: Path) -> PolicySet:
    """The policy set in `directory`; on a broken policy file, each error on stderr and exit 2."""
    try:
        return PolicySet.load(directory)
    except UnusableInputError as failure:
        for error in failure.errors:
            click.echo(f"error: policy files: {error.render()}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)


def project_root() -> Path:
    root = default_project_root()
    if root is None:
        raise click.UsageError("no drkit project here (no Pulumi.yaml with policies/): run inside a drkit checkout")
    return root


def lab_state_dir(stack: str, state_dir: Path | None) -> Path:
    """The lab's state dir for a stack: the one given, else .drkit/sandbox/<stack>/ in the checkout."""
    return state_dir if state_dir is not None else project_root() / ".drkit" / "sandbox" / stack


def load_stack_spec(stack: str) -> Spec:
    """The stack's spec, validated as `drkit validate` does: the lab runs only specs that pass."""
    root = project_root()
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.name.split(".")[1] for p in (root / "stacks").glob("Pulumi.*.yaml")))
        raise click.UsageError(f"no stack {stack}: {path} does not exist (stacks: {known})")
    policies = load_policies_or_exit(root / "policies")
    report = validate_file(path, policies, date.today(), display=str(path.relative_to(root)))
    if report.verdict != "pass" or report.spec is None:
        click.echo(text_report.render([report], []), err=True, nl=False)
        click.echo(
            "error: the lab runs only specs that pass `drkit validate`: fix the spec or waive the rule", err=True
        )
        sys.exit(2 if report.verdict == "error" else 1)
    return report.spec
