"""What a policy rule is: a stable ID, a name saying what must be true, and a check over plain data.

Rules live one per file in policies/rules/ and are written with the `rule` decorator:

    @rule(id="DR001", name="Ensure ...", category="availability", severity="high", remediation="...")
    def check(ctx: RuleContext) -> Iterator[Finding]:
        ...

The same functions serve `drkit validate`, `drkit plan` and the CrossGuard policy pack.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from drkit.errors import KeyPath

if TYPE_CHECKING:
    from drkit.estimates import Estimate
    from drkit.policy.releases import EtcdReleases
    from drkit.policy.tiers import TierPreset
    from drkit.spec.model import Spec

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
CATEGORIES = ("availability", "integrity", "security", "backup", "objectives", "governance")
RULE_ID = re.compile(r"^DR[0-9]{3}$")


@dataclass(frozen=True)
class Finding:
    """One way a spec breaks a rule, and the spec key path it is about (for file:line:col)."""

    message: str
    path: KeyPath = ()


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read: the typed spec, its tier preset, the estimates and the release table."""

    spec: Spec
    tier: TierPreset
    estimates: dict[str, Estimate]
    releases: EtcdReleases
    today: date


Check = Callable[[RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    category: str
    severity: Severity
    remediation: str
    check: Check
    waivable: bool = True
    # The rule also judges the version `drkit upgrade` moves a cluster to (the spec as it would be after the
    # upgrade), so a waiver of it serves upgrades even while the running version passes.
    judges_upgrade_targets: bool = False

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    def findings(self, context: RuleContext) -> list[Finding]:
        return list(self.check(context))


def check_rule_metadata(id: str, name: str, category: str, severity: str) -> None:
    """The naming scheme every drkit rule follows, spec-level (DR0xx-DR3xx, DR9xx) or resource-level (DR4xx)."""
    if not RULE_ID.match(id):
        raise ValueError(f"rule ID {id!r} must look like DR001")
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
    waivable: bool = True,
    judges_upgrade_targets: bool = False,
) -> Callable[[Check], Rule]:
    """Turn a check function into a Rule. The arguments are checked here so a bad rule fails at load."""
    check_rule_metadata(id, name, category, severity)

    def wrap(check: Check) -> Rule:
        return Rule(id, name, category, severity, remediation, check, waivable, judges_upgrade_targets)

    return wrap
