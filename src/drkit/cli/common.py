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
from drkit.spec.model import Spec
from drkit.validate import NoSuchStackError, StackSpecError, passing_stack_spec


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
    try:
        return passing_stack_spec(project_root(), stack, date.today())
    except NoSuchStackError as error:
        raise click.UsageError(error.message) from None
    except StackSpecError as error:
        click.echo(error.message, err=True)
        sys.exit(error.exit_code)
