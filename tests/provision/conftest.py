"""Plans of the committed stacks under Pulumi mocks (each built once per session) and helpers to read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from drkit.errors import Location
from drkit.policy.catalog import PolicySet
from drkit.provision import offline, stack_config
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec, build_spec
from tests.conftest import STACKS, committed_spec, patched

PlanFor = Callable[[str], Plan]

INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
BUCKET = "aws:s3/bucket:Bucket"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"


def spec_from(policies: PolicySet, raw: dict[str, Any]) -> Spec:
    """A typed spec from raw spec data, defaults filled in, as the gate would hand it over."""
    errors = policies.spec_schema.errors(raw, lambda *args, **kwargs: Location("spec", 1, 1))
    assert not errors, errors
    filled = policies.spec_schema.with_defaults(raw)
    return build_spec(filled, policies.tiers[filled["tier"]].objectives)


@pytest.fixture(scope="session")
def stack_spec(policies: PolicySet) -> Callable[..., Spec]:
    def make(stack: str, patch: dict[str, Any] | None = None) -> Spec:
        return spec_from(policies, patched(committed_spec(stack), patch or {}))

    return make


@pytest.fixture(scope="session")
def plan_for(stack_spec: Callable[..., Spec]) -> PlanFor:
    cache: dict[str, Plan] = {}

    def plan(stack: str) -> Plan:
        if stack not in cache:
            cache[stack] = offline.run_offline(stack_spec(stack), stack, program_config(stack))
        return cache[stack]

    return plan


def program_config(stack: str) -> dict[str, Any]:
    """The committed stack file's config keys the program reads besides drkit:spec (gcp:project, ...)."""
    document = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return stack_config.config_from_stack_file(document.get("config") or {})


def members(plan: Plan, region: str | None = None) -> list[PlannedResource]:
    found = [r for r in plan.of_type(INSTANCE) if r.tags.get("drkit:role") == "member"]
    return sorted((r for r in found if region is None or r.region == region), key=lambda r: r.name)


def named(plan: Plan, type_token: str, name: str) -> PlannedResource:
    matches = [r for r in plan.of_type(type_token) if r.name == name]
    assert len(matches) == 1, f"{type_token} {name}: {len(matches)} found"
    return matches[0]
