"""Every resource rule with a passing resource set (prod as planned) and failing ones (prod, broken)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from drkit.provision.resources import Plan, PlannedResource
from drkit.provision.rules import RESOURCE_RULES, ResourceRuleContext
from drkit.spec.model import Spec
from tests.provision.conftest import BUCKET, HEALTH_CHECK, INGRESS, INSTANCE, RECORD, VOLUME, PlanFor

Mutation = Callable[[list[PlannedResource]], list[PlannedResource]]
RULES = {rule.id: rule for rule in RESOURCE_RULES}


def changed(resource: PlannedResource, **props: Any) -> PlannedResource:
    merged = copy.deepcopy(dict(resource.props))
    merged.update(props)
    return dataclasses.replace(resource, props=merged)


def edit(type_token: str, fn: Callable[[PlannedResource], PlannedResource | None], *, first: bool = False) -> Mutation:
    """Apply fn to every resource of the type (or the first): a returned None drops the resource."""

    def mutate(resources: list[PlannedResource]) -> list[PlannedResource]:
        result, done = [], False
        for resource in resources:
            if resource.type == type_token and not (first and done):
                done = True
                replacement = fn(resource)
                if replacement is not None:
                    result.append(replacement)
            else:
                result.append(resource)
        return result

    return mutate


def add(resource: PlannedResource) -> Mutation:
    return lambda resources: [*resources, resource]


def findings(rule_id: str, spec: Spec, plan: Plan, mutation: Mutation | None = None) -> list[str]:
    resources = list(plan.resources)
    if mutation is not None:
        resources = mutation(resources)
    return [f.message for f in RULES[rule_id].findings(ResourceRuleContext(spec, tuple(resources)))]


def _world(port: int, protocol: str = "tcp") -> PlannedResource:
    return PlannedResource(
        "urn:test:world",
        INGRESS,
        "world-open",
        {"ipProtocol": protocol, "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"},
    )


FAILING: list[tuple[str, Mutation, str]] = [
    ("DR401", edit(INSTANCE, lambda r: changed(r, availabilityZone=f"{r.region}a")), "losing us-east-1a leaves 0"),
    (
        "DR401",
        edit(INSTANCE, lambda r: changed(r, availabilityZone=f"{r.region}a") if r.name.endswith(("-2", "-5")) else r),
        "below quorum 3",
    ),
    ("DR402", edit(VOLUME, lambda r: changed(r, encrypted=False), first=True), "is not encrypted"),
    (
        "DR402",
        edit(INSTANCE, lambda r: changed(r, rootBlockDevice={"volumeType": "gp3"}), first=True),
        "root block device",
    ),
    (
        "DR402",
        edit(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            lambda r: None,
            first=True,
        ),
        "no server-side encryption",
    ),
    (
        "DR402",
        edit(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            lambda r: changed(r, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
        ),
        "not KMS",
    ),
    ("DR403", edit("aws:s3/bucketReplicationConfig:BucketReplicationConfig", lambda r: None), "is not replicated"),
    ("DR403", edit(BUCKET, lambda r: dataclasses.replace(r, region="us-east-1")), "in another region"),
    (
        "DR403",
        edit(
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
            lambda r: changed(
                r,
                rules=[
                    {
                        **r.props["rules"][0],
                        "destination": {
                            k: v for k, v in r.props["rules"][0]["destination"].items() if k != "replicationTime"
                        },
                    }
                ],
            ),
        ),
        "replicationTimeControl",
    ),
    (
        "DR403",
        edit(
            "aws:s3/bucketVersioning:BucketVersioning",
            lambda r: None if r.props["bucket"] == "drkit-prod-backups-123456789012-us-east-1" else r,
        ),
        "not versioned",
    ),
    (
        "DR404",
        edit(HEALTH_CHECK, lambda r: changed(r, requestInterval=30) if r.props["type"] == "HTTP" else r),
        "runs every 30s",
    ),
    (
        "DR404",
        edit(HEALTH_CHECK, lambda r: changed(r, failureThreshold=5) if r.props["type"] == "HTTP" else r),
        "threshold 5",
    ),
    (
        "DR404",
        edit(HEALTH_CHECK, lambda r: None if r.props["type"] == "HTTP" and r.region and "west" in str(r.tags) else r),
        "us-west-2 has no Route 53 health check",
    ),
    (
        "DR404",
        edit(RECORD, lambda r: None if r.props["failoverRoutingPolicies"][0]["type"] == "SECONDARY" else r),
        "no SECONDARY failover record",
    ),
    ("DR405", add(_world(2379)), "opens the client port 2379 to 0.0.0.0/0"),
    ("DR405", add(_world(0, protocol="-1")), "opens the peer port 2380"),
    (
        "DR405",
        add(
            PlannedResource(
                "urn:test:sg",
                "aws:ec2/securityGroup:SecurityGroup",
                "legacy",
                {"ingress": [{"protocol": "tcp", "fromPort": 2000, "toPort": 3000, "cidrBlocks": ["0.0.0.0/0"]}]},
            )
        ),
        "legacy (inline rule) opens the metrics port 2381",
    ),
    ("DR405", edit("aws:lb/loadBalancer:LoadBalancer", lambda r: changed(r, internal=False)), "internet-facing"),
    (
        "DR406",
        edit("tls:index/privateKey:PrivateKey", lambda r: dataclasses.replace(r, secret_props=frozenset()), first=True),
        "not marked secret",
    ),
    (
        "DR406",
        edit(
            INSTANCE,
            lambda r: changed(r, userData=r.props["userData"] + "\n" + "-----BEGIN PRIVATE KEY-----\nx\n"),
            first=True,
        ),
        "userData holds a private key in plain text",
    ),
    (
        "DR406",
        edit(
            "aws:secretsmanager/secretVersion:SecretVersion",
            lambda r: dataclasses.replace(r, secret_props=frozenset()),
            first=True,
        ),
        "secretString not marked secret",
    ),
]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_passes_on_prod_as_planned(rule_id: str, plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    assert findings(rule_id, stack_spec("prod"), plan_for("prod")) == []


@pytest.mark.parametrize(("rule_id", "mutation", "expected"), FAILING, ids=[f"{r}-{e[:24]}" for r, _, e in FAILING])
def test_rule_fails_on_broken_resources(  # type: ignore[no-untyped-def]
    rule_id: str, mutation: Mutation, expected: str, plan_for: PlanFor, stack_spec
) -> None:
    messages = findings(rule_id, stack_spec("prod"), plan_for("prod"), mutation)
    assert any(expected in message for message in messages), messages


def test_every_rule_has_a_failing_case_and_follows_the_naming_scheme() -> None:
    assert {rule_id for rule_id, _, _ in FAILING} == set(RULES)
    for rule in RESOURCE_RULES:
        assert rule.id.startswith("DR4") and rule.name.startswith("Ensure ") and rule.description and rule.remediation


def test_health_check_rule_reads_the_spec(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    """The same resources fail once the spec asks for 30s checks: the rule compares against the spec."""
    spec = stack_spec("prod", {"globalEndpoint": {"healthCheck": {"interval": "30s"}}})
    assert any("the spec says every 30s" in m for m in findings("DR404", spec, plan_for("prod")))


def test_global_accelerator_thresholds_are_checked(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    mutation = edit("aws:globalaccelerator/endpointGroup:EndpointGroup", lambda r: changed(r, thresholdCount=1))
    messages = findings("DR404", stack_spec("staging"), plan_for("staging"), mutation)
    assert len(messages) == 2 and all("threshold 1" in m for m in messages)
