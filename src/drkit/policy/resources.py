"""Running the resource rules (scope `resources`, DR4xx) over what a plan or a preview would build.

One function for `drkit plan` (resources recorded under Pulumi mocks) and the CrossGuard pack (resources as
the engine sends them), through the same engine as the spec rules: the stack's tier decides mandatory or
advisory, the stack's waivers set a rule aside until they expire.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from drkit.errors import Location
from drkit.policy.catalog import PolicySet
from drkit.policy.engine import RuleResult, evaluate
from drkit.policy.rule import ResourceContext, Rule
from drkit.spec.model import Spec, Waiver

if TYPE_CHECKING:
    from drkit.provision.resources import PlannedResource


def evaluate_resources(
    policies: PolicySet,
    spec: Spec,
    resources: tuple[PlannedResource, ...],
    today: date | None = None,
    rules: tuple[Rule, ...] | None = None,
) -> tuple[tuple[RuleResult, ...], tuple[Waiver, ...]]:
    """Results of the resource rules (or the `rules` given, all of scope resources), and their unused
    waivers. Findings are about resources (their URN), not spec keys, so none has a place in the stack file."""
    chosen = policies.resource_rules if rules is None else rules
    context = ResourceContext(spec, resources, policies.tiers.get(spec.tier), today)
    return evaluate(chosen, context, lambda _path: Location("", 0, 0))
