"""Every resource rule, and running them: the same results for `drkit plan` and the CrossGuard pack."""

from __future__ import annotations

from dataclasses import dataclass

from drkit.provision.rules import (
    dr401_quorum_spread,
    dr402_encryption,
    dr403_bucket_replication,
    dr404_health_checks,
    dr405_no_world_open_ports,
    dr406_tls_keys_secret,
)
from drkit.provision.rules.base import ResourceFinding, ResourceRule, ResourceRuleContext

RESOURCE_RULES: tuple[ResourceRule, ...] = (
    dr401_quorum_spread.check,
    dr402_encryption.check,
    dr403_bucket_replication.check,
    dr404_health_checks.check,
    dr405_no_world_open_ports.check,
    dr406_tls_keys_secret.check,
)


@dataclass(frozen=True)
class ResourceRuleResult:
    rule: ResourceRule
    findings: tuple[ResourceFinding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings


def evaluate_resources(context: ResourceRuleContext) -> list[ResourceRuleResult]:
    """Every resource rule is mandatory: each checks a promise the spec has already made and validated."""
    return [ResourceRuleResult(rule, tuple(rule.findings(context))) for rule in RESOURCE_RULES]
