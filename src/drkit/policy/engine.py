"""Run every rule over one spec, apply the tier's mandatory/advisory split and the stack's waivers."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from drkit.errors import InputError, KeyPath, Location, UnusableInputError
from drkit.policy.rule import ResourceContext, Rule, RuleContext
from drkit.spec.model import Waiver

Status = Literal["pass", "fail", "waived", "advisory", "break-glass"]

# What an emergency may set aside: only that waivers ran out. A waiver's rule was reviewed and accepted once;
# its expiry asks for a review again, which must not keep a region from being rebuilt during an outage.
# Every other rule still blocks, and the override is reported with its reason on every run that uses it.
BREAK_GLASS_RULES = frozenset({"DR901"})


@dataclass(frozen=True)
class LocatedFinding:
    message: str
    path: KeyPath
    location: Location
    urn: str | None = None  # a resource rule's finding: the resource it is about


@dataclass(frozen=True)
class RuleResult:
    """pass; fail (mandatory for the tier, not waived); advisory (failed, not mandatory); waived; break-glass
    (failed, set aside for this run by an emergency override, with its reason)."""

    rule: Rule
    status: Status
    findings: tuple[LocatedFinding, ...] = ()
    waiver: Waiver | None = None

    @property
    def blocks(self) -> bool:
        """Whether this result stops the stack: a mandatory rule failed, unwaived."""
        return self.status == "fail"


def evaluate(
    rules: tuple[Rule, ...],
    context: RuleContext | ResourceContext,
    locate: Callable[[KeyPath], Location],
    break_glass: str | None = None,
) -> tuple[tuple[RuleResult, ...], tuple[Waiver, ...]]:
    """Results per rule, and the waivers of these rules that silenced nothing (worth removing); a waiver of a
    rule of the other scope is judged where that scope runs. With `break_glass` (the reason for an emergency
    override), expired waivers still silence their rules for this run. Resource rules take the spec's tier
    and waivers, so both scopes are mandatory, advisory and waived the same way."""
    today = context.today or date.today()
    evaluated = {rule.id for rule in rules}
    current = {w.rule: w for w in context.spec.waivers if w.rule in evaluated and (break_glass or w.expires >= today)}
    used: set[str] = set()
    tier = context.tier
    results = []
    for rule in rules:
        try:
            raw_findings = rule.findings(context)
        except Exception as error:  # a bug in a (custom) rule is a broken policy file, reported where it is
            raise UnusableInputError([_crash(rule, error)]) from None
        findings = tuple(
            LocatedFinding(finding.message, finding.path, locate(finding.path), finding.urn) for finding in raw_findings
        )
        if not findings:
            results.append(RuleResult(rule, "pass"))
            continue
        waiver = current.get(rule.id) if rule.waivable else None
        if break_glass and rule.id in BREAK_GLASS_RULES:
            results.append(RuleResult(rule, "break-glass", findings))
        elif waiver is not None:
            used.add(rule.id)
            results.append(RuleResult(rule, "waived", findings, waiver))
        elif tier is None or tier.is_mandatory(rule.id):
            results.append(RuleResult(rule, "fail", findings))
        else:
            results.append(RuleResult(rule, "advisory", findings))
    # A waiver of a rule that also judges upgrade targets is kept for `drkit upgrade` (see Rule).
    used |= {rule.id for rule in rules if rule.judges_upgrade_targets}
    unused = tuple(waiver for rule_id, waiver in current.items() if rule_id not in used)
    return tuple(results), unused


def _crash(rule: Rule, error: Exception) -> InputError:
    """Where in its own file a rule's check raised, so the rule's author can fix it."""
    code = rule.check.__code__
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == code.co_filename]
    line = frames[-1].lineno if frames and frames[-1].lineno else code.co_firstlineno
    return InputError(
        Location(code.co_filename, line, 1),
        f"rule {rule.id} failed while checking: {type(error).__name__}: {error}",
        hint="this is a bug in the rule, not in the stack",
    )
