"""What a policy rule is: a stable ID, a name saying what must be true, a scope, and a check over plain data.

Rules live one per file in policies/rules/ and are written with the `rule` decorator:

    @rule(id="DR001", name="Ensure ...", category="availability", severity="high", remediation="...")
    def check(ctx: RuleContext) -> Iterator[Finding]:
        ...

A rule's scope says what it judges: `spec` rules (the default; DR0xx-DR3xx, DR9xx) judge the promise, the
typed spec in a RuleContext; `resources` rules (DR4xx) judge what the Pulumi program would build against it,
a ResourceContext of plain resource data. Both are loaded, waived, made mandatory or advisory by tier, and
indexed the same way; `drkit validate` runs the spec rules, `drkit plan` and the CrossGuard pack both scopes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from drkit.errors import KeyPath

if TYPE_CHECKING:
    from drkit.estimates import Estimate
    from drkit.policy.releases import EtcdReleases
    from drkit.policy.tiers import TierPreset
    from drkit.provision.resources import PlannedResource
    from drkit.spec.model import Spec

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
CATEGORIES = ("availability", "integrity", "security", "backup", "objectives", "governance")
RULE_ID = re.compile(r"^DR[0-9]{3}$")
Scope = Literal["spec", "resources"]
SCOPES: tuple[Scope, ...] = ("spec", "resources")


@dataclass(frozen=True)
class Finding:
    """One way a spec (or what is built from it) breaks a rule: the spec key path it is about (for
    file:line:col) and, for a resource rule, the URN of the resource it is about."""

    message: str
    path: KeyPath = ()
    urn: str | None = None


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read: the typed spec, its tier preset, the estimates and the release table."""

    spec: Spec
    tier: TierPreset
    estimates: dict[str, Estimate]
    releases: EtcdReleases
    today: date


@dataclass(frozen=True)
class ResourceContext:
    """What a resource rule reads: the validated spec, its tier, and the resources a plan or preview holds."""

    spec: Spec
    resources: tuple[PlannedResource, ...]
    tier: TierPreset | None = None  # None: every resource rule is mandatory
    today: date | None = None  # waiver expiry is judged as of this day (None: today)

    def of_type(self, *type_tokens: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type in type_tokens]

    def tagged(self, type_token: str, role: str) -> list[PlannedResource]:
        # Imported here: drkit.provision's package imports nothing heavy, but spec rules never need it.
        from drkit.provision import tags

        return [resource for resource in self.of_type(type_token) if resource.tags.get(tags.ROLE) == role]


# A spec rule's check takes a RuleContext, a resource rule's a ResourceContext (by its scope).
Check = Callable[[Any], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    category: str
    severity: Severity
    remediation: str
    check: Check
    scope: Scope = "spec"
    waivable: bool = True
    # The rule also judges the version `drkit upgrade` moves a cluster to (the spec as it would be after the
    # upgrade), so a waiver of it serves upgrades even while the running version passes.
    judges_upgrade_targets: bool = False

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    def findings(self, context: RuleContext | ResourceContext) -> list[Finding]:
        return list(self.check(context))


def check_rule_metadata(id: str, name: str, category: str, severity: str, scope: str = "spec") -> None:
    """The naming scheme every drkit rule follows, spec-level (DR0xx-DR3xx, DR9xx) or resource-level (DR4xx)."""
    if not RULE_ID.match(id):
        raise ValueError(f"rule ID {id!r} must look like DR001")
    if scope not in SCOPES:
        raise ValueError(f"rule {id}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    if (scope == "resources") != id.startswith("DR4"):
        raise ValueError(f"rule {id}: resource rules are numbered DR4xx, and DR4xx rules have scope resources")
    if category not in CATEGORIES:
        raise ValueError(f"rule {id}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {id}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not name.startswith("Ensure "):
        raise ValueError(f"rule {id}: the name must say what must be true, starting with 'Ensure '")


def rule(
    *,
    id: str,
    name: str,
    category: str,
    severity: Severity,
    remediation: str,
    scope: Scope = "spec",
    waivable: bool = True,
    judges_upgrade_targets: bool = False,
) -> Callable[[Check], Rule]:
    """Turn a check function into a Rule. The arguments are checked here so a bad rule fails at load."""
    check_rule_metadata(id, name, category, severity, scope)

    def wrap(check: Check) -> Rule:
        return Rule(id, name, category, severity, remediation, check, scope, waivable, judges_upgrade_targets)

    return wrap
