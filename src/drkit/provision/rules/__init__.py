"""Resource-level DR rules (DR4xx): plain functions over the resources a plan or a preview would create.

One implementation serves `drkit plan` (resources recorded under Pulumi mocks) and the CrossGuard pack in
policies/pulumi/ (resources as the engine sends them). They check what is built against what the spec
promises; the spec-level rules (policies/rules/) check the promise itself.
"""

from drkit.provision.rules.base import ResourceFinding, ResourceRule, ResourceRuleContext, resource_rule
from drkit.provision.rules.catalog import RESOURCE_RULES, ResourceRuleResult, evaluate_resources

__all__ = [
    "RESOURCE_RULES",
    "ResourceFinding",
    "ResourceRule",
    "ResourceRuleContext",
    "ResourceRuleResult",
    "evaluate_resources",
    "resource_rule",
]
