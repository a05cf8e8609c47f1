"""What several subcommands share: loading the policy set, or saying exactly which policy file is broken."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from drkit.errors import UnusableInputError
from drkit.policy.catalog import PolicySet
from drkit.report import EXIT_UNUSABLE_INPUT


def load_policies_or_exit(directory: Path) -> PolicySet:
    """The policy set in `directory`; on a broken policy file, each error on stderr and exit 2."""
    try:
        return PolicySet.load(directory)
    except UnusableInputError as failure:
        for error in failure.errors:
            click.echo(f"error: policy files: {error.render()}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
