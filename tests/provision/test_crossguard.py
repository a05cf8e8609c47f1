"""The CrossGuard pack's validate functions, fed the engine's resource shape. PolicyPack itself is never
constructed here: it starts a gRPC server and blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import PolicyProviderResource, PolicyResource, PolicyResourceOptions, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from drkit.policy.catalog import PolicySet
from drkit.provision import crossguard
from drkit.provision.resources import Plan
from drkit.spec.model import Spec
from tests.provision.conftest import PlanFor

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value a preview does not know


def engine_resources(plan: Plan) -> list[PolicyResource]:
    """The plan's resources as the engine hands them to a stack policy (props proxied, secrets plain)."""
    providers = {
        region: PolicyProviderResource(
            "pulumi:providers:aws", unknown_checking_proxy({"region": region}), f"urn:p:{region}", region
        )
        for region in {r.region for r in plan.resources if r.region}
    }
    return [
        PolicyResource(
            r.type,
            unknown_checking_proxy(dict(r.props)),
            r.urn,
            r.name,
            PolicyResourceOptions(False, [], False, [], None, sorted(r.secret_props), None),  # type: ignore[arg-type]
            providers.get(r.region or ""),
            None,
            [],
            {},
        )
        for r in plan.resources
    ]


def run_policy(name: str, resources: list[PolicyResource], spec: Spec) -> list[tuple[str, str | None]]:
    (policy,) = [p for p in crossguard.stack_policies(lambda: (spec, None)) if p.name == name]
    violations: list[tuple[str, str | None]] = []
    validate: Callable[..., Any] = policy.validate  # type: ignore[assignment]
    validate(StackValidationArgs(resources), lambda message, urn=None: violations.append((message, urn)))
    return violations


def test_one_mandatory_policy_per_resource_rule(policies: PolicySet) -> None:
    pack = crossguard.stack_policies(lambda: (None, "unused"))
    assert [p.name for p in pack] == [rule.id.lower() for rule in policies.resource_rules]
    assert {"dr401", "dr402", "dr403", "dr404", "dr405", "dr406"} <= {p.name for p in pack}
    assert all(p.description.startswith(p.name.upper() + ": Ensure ") for p in pack)


def test_the_pack_loads_the_policy_set_once_and_validates_the_spec_once(
    plan_for: PlanFor,
    stack_spec,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    loads: list[int] = []
    real_load = crossguard.PolicySet.load

    def counting_load(directory):  # type: ignore[no-untyped-def]
        loads.append(1)
        return real_load(directory)

    monkeypatch.setattr(crossguard.PolicySet, "load", counting_load)
    asked: list[int] = []

    def source():  # type: ignore[no-untyped-def]
        asked.append(1)
        return stack_spec("prod"), None

    pack = crossguard.stack_policies(source)
    resources = engine_resources(plan_for("prod"))
    for policy in pack:
        validate: Callable[..., Any] = policy.validate  # type: ignore[assignment]
        validate(StackValidationArgs(resources), lambda message, urn=None: None)
    assert (len(loads), len(asked)) == (1, 1)


def test_a_waiver_in_the_spec_silences_a_resource_rule(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    resources = engine_resources(plan_for("prod"))
    for resource in resources:
        if resource.resource_type == "aws:ebs/volume:Volume":
            resource.props = unknown_checking_proxy({**dict(resource.props), "encrypted": False})
            break
    waived = stack_spec(
        "prod", {"waivers": [{"rule": "DR402", "reason": "volumes encrypted by the host", "expires": "2999-01-01"}]}
    )
    assert run_policy("dr402", resources, waived) == []
    assert len(run_policy("dr402", resources, stack_spec("prod"))) == 1


def test_prod_passes_every_policy(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    resources = engine_resources(plan_for("prod"))
    for policy in crossguard.stack_policies():
        assert run_policy(policy.name, resources, stack_spec("prod")) == [], policy.name


def test_a_violation_names_the_rule_and_the_resource(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    resources = engine_resources(plan_for("prod"))
    for resource in resources:
        if resource.resource_type == "aws:ebs/volume:Volume":
            resource.props = unknown_checking_proxy({**dict(resource.props), "encrypted": False})
            break
    violations = run_policy("dr402", resources, stack_spec("prod"))
    assert len(violations) == 1
    message, urn = violations[0]
    assert message.startswith("DR402: EBS volume") and "fix:" in message and urn and urn.endswith("-data")


def test_unknown_preview_values_are_left_out_not_raised() -> None:
    props = unknown_checking_proxy({"bucket": "b", "arn": UNKNOWN, "rules": [{"id": UNKNOWN, "status": "Enabled"}]})
    assert crossguard.known(props) == {"bucket": "b", "rules": [{"status": "Enabled"}]}


def test_without_a_valid_spec_each_policy_reports_why(plan_for: PlanFor) -> None:
    (policy,) = [p for p in crossguard.stack_policies(lambda: (None, "stack prod FAIL: DR002")) if p.name == "dr401"]
    violations: list[str] = []
    policy.validate(StackValidationArgs([]), lambda message, urn=None: violations.append(message))  # type: ignore[misc]
    assert violations == ["DR401: cannot check without a valid drkit:spec: stack prod FAIL: DR002"]


def test_the_mixed_stack_passes_every_policy_and_a_world_open_gcp_firewall_fails(  # type: ignore[no-untyped-def]
    plan_for: PlanFor, stack_spec
) -> None:
    resources = engine_resources(plan_for("hybrid"))
    for policy in crossguard.stack_policies():
        assert run_policy(policy.name, resources, stack_spec("hybrid")) == [], policy.name
    for resource in resources:
        if resource.resource_type == "gcp:compute/firewall:Firewall" and resource.name.endswith("-client"):
            resource.props = unknown_checking_proxy({**dict(resource.props), "sourceRanges": ["0.0.0.0/0"]})
    violations = run_policy("dr405", resources, stack_spec("hybrid"))
    assert [message.split(" (fix:")[0] for message, _ in violations] == [
        "DR405: firewall rule us-central1-client opens the client port 2379 to 0.0.0.0/0"
    ]
