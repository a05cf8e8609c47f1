"""What a resource rule is: the spec rules' ID scheme and naming, with a check over plain resource data."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drkit.policy.rule import Severity, check_rule_metadata
from drkit.provision import tags
from drkit.provision.resources import PlannedResource
from drkit.spec.model import Spec


@dataclass(frozen=True)
class ResourceFinding:
    """One way the resources break a rule, and the resource it is about (its URN), if one."""

    message: str
    urn: str | None = None


@dataclass(frozen=True)
class ResourceRuleContext:
    spec: Spec
    resources: tuple[PlannedResource, ...]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def tagged(self, type_token: str, role: str) -> list[PlannedResource]:
        return [resource for resource in self.of_type(type_token) if resource.tags.get(tags.ROLE) == role]


ResourceCheck = Callable[[ResourceRuleContext], Iterable[ResourceFinding]]


@dataclass(frozen=True)
class ResourceRule:
    id: str
    name: str
    category: str
    severity: Severity
    remediation: str
    check: ResourceCheck

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    def findings(self, context: ResourceRuleContext) -> list[ResourceFinding]:
        return list(self.check(context))


def resource_rule(
    *, id: str, name: str, category: str, severity: Severity, remediation: str
) -> Callable[[ResourceCheck], ResourceRule]:
    check_rule_metadata(id, name, category, severity)

    def wrap(check: ResourceCheck) -> ResourceRule:
        return ResourceRule(id, name, category, severity, remediation, check)

    return wrap
