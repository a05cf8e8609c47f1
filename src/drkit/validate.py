"""`drkit validate`: every stack file through the schema, then the rules, into one report per stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from drkit.calibration import load_measured, measured_path
from drkit.errors import InputError, KeyPath, Location, UnusableInputError
from drkit.estimates import Estimate, estimate_all
from drkit.policy.catalog import PolicySet
from drkit.policy.engine import RuleResult, evaluate
from drkit.policy.rule import RuleContext
from drkit.spec import consistency, secrets
from drkit.spec.model import Objective, Spec, Waiver, build_spec
from drkit.spec.stackfile import SPEC_KEY, StackFile, read_stack_file, stack_name
from drkit.suggest import did_you_mean

Verdict = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class StackReport:
    file: str
    stack: str | None
    errors: tuple[InputError, ...] = ()
    spec: Spec | None = None
    results: tuple[RuleResult, ...] = ()
    estimates: Mapping[str, Estimate] = field(default_factory=dict)
    unused_waivers: tuple[tuple[Waiver, Location], ...] = ()
    break_glass: str | None = None  # the reason given for an emergency override, when one was used
    secrets: tuple[tuple[KeyPath, Location], ...] = ()  # Pulumi secrets in the spec, taken unread

    @property
    def verdict(self) -> Verdict:
        if self.errors:
            return "error"
        return "fail" if any(result.status == "fail" for result in self.results) else "pass"

    @property
    def objectives(self) -> dict[str, Objective]:
        return self.spec.objectives if self.spec else {}


def collect_stack_files(paths: list[Path]) -> tuple[list[Path], list[InputError]]:
    """Stack files named on the command line; a directory stands for its Pulumi.*.yaml files."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("Pulumi.*.yaml"))
            # Pulumi reads only .yaml: a .yml stack would be skipped by Pulumi and by a silent glob alike.
            errors.extend(
                InputError(
                    Location(str(misnamed), 1, 1),
                    "stack files end in .yaml: Pulumi ignores this file",
                    hint=f"rename it to {misnamed.with_suffix('.yaml').name}",
                )
                for misnamed in sorted(path.glob("Pulumi.*.yml"))
            )
            if not found:
                errors.append(InputError(Location(str(path), 1, 1), "no stack files (Pulumi.<stack>.yaml) here"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(InputError(Location(str(path), 1, 1), "no such file or directory"))
    return files, errors


def validate_file(
    path: Path, policies: PolicySet, today: date, display: str | None = None, break_glass: str | None = None
) -> StackReport:
    """The stack's report. Never raises: whatever a file does to drkit is reported against that file.
    `break_glass`: the reason for an emergency override of expired waivers (drkit.policy.engine)."""
    file = display or str(path)
    try:
        return _validate_file(path, policies, today, file, break_glass)
    except (Exception, RecursionError, MemoryError) as error:
        # Every input problem has its own located error; reaching here is a bug in drkit, said as such.
        message = f"drkit failed on this file: a bug in drkit ({type(error).__name__}: {str(error)[:200]})"
        hint = "please report it with the file; meanwhile look at the values this file changed"
        return StackReport(file, stack_name(path), (InputError(Location(file, 1, 1), message, hint=hint),))


def _validate_file(
    path: Path, policies: PolicySet, today: date, file: str, break_glass: str | None = None
) -> StackReport:
    try:
        stack = read_stack_file(path, file)
    except UnusableInputError as failure:
        return StackReport(file, stack_name(path), tuple(failure.errors))
    errors = policies.spec_schema.errors(stack.spec, stack.locate, (SPEC_KEY,))
    if errors:
        return StackReport(file, stack.stack, tuple(errors))
    # Secrets the schema allowed stand in as unread strings (drkit.spec.secrets); the report names them.
    raw = policies.spec_schema.with_defaults(secrets.opaque(stack.spec))
    errors = consistency.check(raw, stack.locate, (SPEC_KEY,))
    if errors:
        return StackReport(file, stack.stack, tuple(errors))
    tier = policies.tiers.get(raw["tier"])
    if tier is None:
        message = f"tier '{raw['tier']}' has no preset in {policies.directory / 'tiers'}"
        return StackReport(file, stack.stack, (InputError(stack.locate(("tier",)), message, (SPEC_KEY, "tier")),))
    spec = build_spec(raw, tier.objectives)
    errors = _waiver_errors(spec, stack, policies)
    if errors:
        return StackReport(file, stack.stack, tuple(errors))
    # Constants drills measured for this stack (stacks/measured/<stack>.yaml) replace the estimates' defaults.
    measured_file = measured_path(path.parent / "measured", stack.stack)
    try:
        measured = load_measured(measured_file)
    except ValueError as error:
        return StackReport(file, stack.stack, (InputError(Location(str(measured_file), 1, 1), str(error)),))
    context = RuleContext(spec, tier, estimate_all(spec, measured), policies.releases, today)
    try:
        results, unused = evaluate(policies.spec_rules, context, stack.locate, break_glass)
    except UnusableInputError as failure:
        return StackReport(file, stack.stack, tuple(failure.errors))
    return StackReport(
        file,
        stack.stack,
        spec=spec,
        results=results,
        estimates=context.estimates,
        unused_waivers=tuple((waiver, stack.locate(("waivers", waiver.index))) for waiver in unused),
        secrets=tuple((path, stack.locate(path)) for path in secrets.secret_paths(stack.spec)),
        # Reported only when it set something aside: an override that changed nothing is not one.
        break_glass=break_glass if any(r.status == "break-glass" for r in results) else None,
    )


def _waiver_errors(spec: Spec, stack: StackFile, policies: PolicySet) -> list[InputError]:
    rules = policies.rules_by_id
    errors = []
    seen: set[str] = set()
    for waiver in spec.waivers:
        path: KeyPath = ("waivers", waiver.index, "rule")
        rule = rules.get(waiver.rule)
        if rule is None:
            waivable = [rule_id for rule_id, candidate in rules.items() if candidate.waivable]
            hint = did_you_mean(waiver.rule, waivable) or "docs/policy-index.md lists the rule IDs"
            errors.append(
                InputError(stack.locate(path), f"waiver for unknown rule {waiver.rule}", (SPEC_KEY, *path), hint)
            )
        elif not rule.waivable:
            errors.append(
                InputError(stack.locate(path), f"{rule.id} cannot be waived", (SPEC_KEY, *path), rule.remediation)
            )
        elif waiver.rule in seen:
            errors.append(
                InputError(stack.locate(path), f"a second waiver for {waiver.rule}", (SPEC_KEY, *path), "keep one")
            )
        seen.add(waiver.rule)
    return errors


def validate_paths(
    paths: list[Path], policies: PolicySet, today: date, break_glass: str | None = None
) -> tuple[list[StackReport], list[InputError]]:
    files, errors = collect_stack_files(paths)
    return [validate_file(path, policies, today, break_glass=break_glass) for path in files], errors


class StackSpecError(Exception):
    """A stack that cannot be run: what to print (the report, or why there is none) and the exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


class NoSuchStackError(StackSpecError):
    """The stack named has no file in stacks/ (a usage error: the message lists the stacks there are)."""


def passing_stack_spec(root: Path, stack: str, today: date) -> Spec:
    """stacks/Pulumi.<stack>.yaml under root, validated as `drkit validate` does: what runs a stack (the lab,
    the operations, a member's guard) runs only specs that pass. No click and no Ansible here: a cloud
    member's guard calls this with the few libraries its runtime has (playbooks/roles/drkit_runtime)."""
    from drkit.report import EXIT_UNUSABLE_INPUT
    from drkit.report import text as text_report

    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.name.split(".")[1] for p in (root / "stacks").glob("Pulumi.*.yaml")))
        raise NoSuchStackError(f"no stack {stack}: {path} does not exist (stacks: {known})", EXIT_UNUSABLE_INPUT)
    try:
        policies = PolicySet.load(root / "policies")
    except UnusableInputError as failure:
        lines = [f"error: policy files: {error.render()}" for error in failure.errors]
        raise StackSpecError("\n".join(lines), EXIT_UNUSABLE_INPUT) from None
    report = validate_file(path, policies, today, display=str(path.relative_to(root)))
    if report.verdict != "pass" or report.spec is None:
        message = text_report.render([report], []).rstrip("\n")
        message += "\nerror: the lab runs only specs that pass `drkit validate`: fix the spec or waive the rule"
        raise StackSpecError(message, EXIT_UNUSABLE_INPUT if report.verdict == "error" else 1)
    return report.spec
