"""The spec gate: the program builds only a spec that passes `drkit validate`, and stops with its report.

Both `pulumi up` (through `entry`) and `drkit plan` validate the stack file itself, so a violation reads
exactly as `drkit validate` prints it: file:line:col, rule ID, fix.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from drkit.errors import InputError, Location, UnusableInputError
from drkit.policy.catalog import PolicySet
from drkit.report import text
from drkit.spec import secrets
from drkit.spec.model import Spec, build_spec
from drkit.spec.stackfile import SPEC_KEY, read_stack_file
from drkit.validate import StackReport, validate_file


class SpecRejectedError(Exception):
    """The spec cannot be built; the message is what `drkit validate` prints for it."""


def stack_path(root: Path, stack: str) -> Path:
    return root / "stacks" / f"Pulumi.{stack}.yaml"


# `DRKIT_BREAK_GLASS="reason" pulumi up -s prod`: the emergency override of expired waivers for the program
# (drkit validate --break-glass for the CLI). An environment variable, not stack config: it belongs to one run
# by one person, and must not stay in the stack file for the next.
BREAK_GLASS_ENV = "DRKIT_BREAK_GLASS"


def validate_stack(
    path: Path,
    policies: Path | PolicySet,
    today: date,
    display: str | None = None,
    break_glass: str | None = None,
) -> StackReport:
    """The stack's validation report against a policy set (or the directory to load it from, once); a broken
    policy set is reported as an unusable input, never raised."""
    if isinstance(policies, Path):
        try:
            policies = PolicySet.load(policies)
        except UnusableInputError as failure:
            return StackReport(display or str(path), None, tuple(failure.errors))
    return validate_file(path, policies, today, display, break_glass)


def break_glass_record(reason: str) -> dict[str, str]:
    """Who overrode expired waivers, when and why: exported as the stack output breakGlass."""
    return {
        "reason": reason,
        "by": os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown",
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def rejection(report: StackReport) -> str | None:
    """The validate report when the program must not build this spec, else None."""
    if report.verdict == "pass" and report.spec is not None:
        return None
    return (
        text.render([report], [])
        + "pulumi up builds only specs that pass `drkit validate`: fix the spec or waive the rule (in an emergency,"
        f' when only expired waivers block: {BREAK_GLASS_ENV}="reason" pulumi up)\n'
    )


def config_matches_file(config_spec: Any, path: Path) -> InputError | None:
    """The engine's drkit:spec must be the one in the stack file drkit validated (an ESC environment or a
    --config flag could override it, and would then go unchecked), but for the file's secrets, which the
    engine hands over decrypted."""
    try:
        written = read_stack_file(path).spec
    except UnusableInputError as failure:
        return failure.errors[0]
    if secrets.same_spec(json.loads(_canonical(written)), json.loads(_canonical(config_spec))):
        return None
    return InputError(
        Location(str(path), 1, 1),
        f"the {SPEC_KEY} Pulumi passed to the program differs from the one in this file",
        hint="keep the spec in the stack file only (no ESC environment or --config override), so drkit validates"
        " what is built",
    )


def spec_to_build(report: StackReport, config_spec: Any, policies_dir: Path) -> Spec:
    """What the program builds: the validated spec, or, when the file holds secrets, the engine's decrypted
    copy of it (config_matches_file checked it is the same but for those values), with the same defaults."""
    assert report.spec is not None
    if not report.secrets:
        return report.spec
    policies = PolicySet.load(policies_dir)
    raw = policies.spec_schema.with_defaults(config_spec)
    return build_spec(raw, policies.tiers[raw["tier"]].objectives)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
