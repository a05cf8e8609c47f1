"""The resource rules as a CrossGuard policy pack (policies/pulumi/__main__.py constructs it).

Everything but constructing the PolicyPack is here, so tests exercise the same validate functions the pack
runs (constructing a PolicyPack starts a gRPC server and blocks). The pack loads the checkout's policy set
once: its resource rules become the pack's policies, its spec rules validate the stack file (once per
preview, as `drkit validate` does), and the stack's tier and waivers apply as in `drkit plan`. PULUMI_STACK
names the stack, as Pulumi sets it for packs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from drkit.policy.catalog import PolicySet
from drkit.policy.resources import evaluate_resources
from drkit.policy.rule import Rule
from drkit.project import find_project_root
from drkit.provision import gate
from drkit.provision.resources import PlannedResource
from drkit.spec.model import Spec

PACK_NAME = "drkit-dr"
_ABSENT = object()


def known(value: Any) -> Any:
    """A plain copy of engine properties with the values a preview does not know yet left out.

    A rule then sees only what is decided; where it needs a value that is unknown, it fails on its absence
    rather than passing, which is the safe side for a DR gate."""
    if isinstance(value, Mapping):
        plain = {}
        for key in list(value):
            item = _read(value, key)
            if item is not _ABSENT:
                plain[key] = known(item)
        return plain
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [_read(value, index) for index in range(len(value))]
        return [known(item) for item in items if item is not _ABSENT]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError:
        return _ABSENT


def planned(resources: Sequence[PolicyResource]) -> tuple[PlannedResource, ...]:
    """The engine's resources as the plain data the rules read (the same shape `drkit plan` records)."""
    converted = []
    for resource in resources:
        region = None
        if resource.provider is not None:
            provider_props = known(resource.provider.props)
            region = provider_props.get("region") if isinstance(provider_props, dict) else None
        converted.append(
            PlannedResource(
                urn=resource.urn,
                type=resource.resource_type,
                name=resource.name,
                props=known(resource.props),
                region=region,
                secret_props=frozenset(resource.opts.additional_secret_outputs) if resource.opts else frozenset(),
                parent=resource.parent.urn if resource.parent is not None else None,
                # The engine tells a pack protect and ignoreChanges, not retainOnDelete.
                options=(
                    {"protect": bool(resource.opts.protect), "ignoreChanges": sorted(resource.opts.ignore_changes)}
                    if resource.opts
                    else {}
                ),
            )
        )
    return tuple(converted)


def stack_spec(stack: str, root: Path, today: date, policies: PolicySet) -> tuple[Spec | None, str | None]:
    """The stack's validated spec, or the validate report saying why there is none."""
    report = gate.validate_stack(gate.stack_path(root, stack), policies, today, f"stacks/Pulumi.{stack}.yaml")
    message = gate.rejection(report)
    return (report.spec if message is None else None), message


SpecSource = Callable[[], tuple[Spec | None, str | None]]


def _checkout() -> Path | None:
    return find_project_root(Path.cwd()) or find_project_root(Path(__file__).parent)


def checkout_policies() -> PolicySet:
    """The policy set of the checkout the pack runs in (raises UnusableInputError when it is broken: the
    pack cannot start without its rules, and says which file is wrong)."""
    root = _checkout()
    if root is None:
        raise RuntimeError("drkit's policy pack runs inside a drkit checkout (no Pulumi.yaml with policies/ found)")
    return PolicySet.load(root / "policies")


def spec_from_environment(policies: PolicySet) -> SpecSource:
    def source() -> tuple[Spec | None, str | None]:
        stack = os.environ.get("PULUMI_STACK")
        root = _checkout()
        if not stack or root is None:
            return None, "drkit's policy pack needs PULUMI_STACK and the drkit checkout (run it with `pulumi preview`)"
        return stack_spec(stack, root, date.today(), policies)

    return source


def validator(
    rule: Rule, policies: PolicySet, spec_source: SpecSource
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        spec, problem = spec_source()
        if spec is None:
            report_violation(f"{rule.id}: cannot check without a valid drkit:spec: {problem}", None)
            return
        (result,), _ = evaluate_resources(policies, spec, planned(args.resources), rules=(rule,))
        # Waived and advisory results are not violations, as in `drkit plan`; only a blocking failure is.
        if result.blocks:
            for finding in result.findings:
                report_violation(f"{rule.id}: {finding.message} (fix: {rule.remediation})", finding.urn)

    return validate


def policy_name(rule: Rule) -> str:
    return rule.id.lower()


def stack_policies(
    spec_source: SpecSource | None = None, policies: PolicySet | None = None
) -> list[StackValidationPolicy]:
    """One mandatory stack policy per resource rule of the policy set, named by its ID (dr401, ...). The set
    is loaded once here, and the stack's spec validated once, on the first policy that asks for it."""
    policies = policies or checkout_policies()
    source = functools.cache(spec_source or spec_from_environment(policies))
    return [
        StackValidationPolicy(
            name=policy_name(rule),
            description=f"{rule.id}: {rule.name}",
            validate=validator(rule, policies, source),
            enforcement_level=EnforcementLevel.MANDATORY,
            severity=Severity(rule.severity),
            remediation_steps=rule.remediation,
        )
        for rule in policies.resource_rules
    ]
