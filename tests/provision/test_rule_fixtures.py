"""Every resource rule (scope resources) against its fixtures in tests/policy/fixtures/<rule ID>.yaml.

A case takes the offline plan of its base stack, edits its resources, patches the spec the rules compare
against, and runs the rule through the same engine as `drkit plan` (tier, waivers):

    scope: resources
    base: prod
    fail:
      - name: every member in one AZ
        patch: {}                               # merged into the base spec, as for spec rules
        resources:                              # edits, in order
          - type: "aws:ec2/instance:Instance"   # every resource of this type ...
            where: {region: us-east-1, name_endswith: ["-2"], props: {a.0.b: x}, tags: {"drkit:role": member}}
            first: true                         # ... or only the first that matches
            set: {availabilityZone: us-east-1a} # dotted paths (list indexes as numbers)
            unset: [rules.0.destination.replicationTime]
            append: {userData: "text"}
            drop: true                          # remove the resource
            secret_props: []                    # replace the properties marked secret
            region: us-east-1                   # move it to another region
          - add: {type: ..., name: ..., props: {...}}
        message: "a substring of one finding"
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from drkit.policy.catalog import PolicySet
from drkit.policy.resources import evaluate_resources
from drkit.provision.resources import PlannedResource
from drkit.spec.model import Spec
from tests.policy.test_rules import load_fixtures
from tests.provision.conftest import PlanFor

CASE_KEYS = {"name", "patch", "base", "resources", "message", "status"}
EDIT_KEYS = {"type", "where", "first", "set", "unset", "append", "drop", "secret_props", "region", "add"}
FIXTURES = load_fixtures("resources")


def _steps(path: str) -> list[str | int]:
    return [int(step) if step.isdigit() else step for step in path.split(".")]


def _get(value: Any, path: str) -> Any:
    for step in _steps(path):
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _parent(props: dict[str, Any], path: str) -> tuple[Any, str | int]:
    *head, last = _steps(path)
    node: Any = props
    for step in head:
        node = node[step]
    return node, last


def _matches(resource: PlannedResource, where: dict[str, Any]) -> bool:
    if "region" in where and resource.region != where["region"]:
        return False
    endings = where.get("name_endswith")
    if endings and not resource.name.endswith(tuple([endings] if isinstance(endings, str) else endings)):
        return False
    props = dict(resource.props)
    if any(_get(props, path) != value for path, value in (where.get("props") or {}).items()):
        return False
    return all(resource.tags.get(key) == value for key, value in (where.get("tags") or {}).items())


def _edited(resource: PlannedResource, edit: dict[str, Any]) -> PlannedResource | None:
    if edit.get("drop"):
        return None
    props = copy.deepcopy(dict(resource.props))
    for path, value in (edit.get("set") or {}).items():
        node, last = _parent(props, path)
        node[last] = value
    for path in edit.get("unset") or []:
        node, last = _parent(props, path)
        del node[last]
    for path, text in (edit.get("append") or {}).items():
        node, last = _parent(props, path)
        node[last] = str(node[last]) + text
    changes: dict[str, Any] = {"props": props}
    if "secret_props" in edit:
        changes["secret_props"] = frozenset(edit["secret_props"])
    if "region" in edit:
        changes["region"] = edit["region"]
    return dataclasses.replace(resource, **changes)


def apply_edits(resources: list[PlannedResource], edits: list[dict[str, Any]]) -> list[PlannedResource]:
    for edit in edits:
        unknown = set(edit) - EDIT_KEYS
        assert not unknown, f"unknown edit keys {unknown}"
        if "add" in edit:
            new = edit["add"]
            resources = [*resources, PlannedResource(f"urn:test:{new['name']}", new["type"], new["name"], new["props"])]
            continue
        result, done, touched = [], False, 0
        for resource in resources:
            if (
                resource.type == edit["type"]
                and not (edit.get("first") and done)
                and _matches(resource, edit.get("where") or {})
            ):
                done, touched = True, touched + 1
                replacement = _edited(resource, edit)
                if replacement is not None:
                    result.append(replacement)
            else:
                result.append(resource)
        assert touched, f"the edit {edit} matched no resource: the fixture tests nothing"
        resources = result
    return resources


def _cases() -> list[Any]:
    return [
        pytest.param(rule_id, fixture["base"], kind, case, id=f"{rule_id}-{kind}-{case['name']}")
        for rule_id, fixture in FIXTURES.items()
        for kind in ("pass", "fail")
        for case in fixture.get(kind) or []
    ]


@pytest.mark.parametrize(("rule_id", "base", "kind", "case"), _cases())
def test_resource_rule_case(  # type: ignore[no-untyped-def]
    rule_id: str, base: str, kind: str, case: dict[str, Any], policies: PolicySet, plan_for: PlanFor, stack_spec
) -> None:
    assert set(case) <= CASE_KEYS, f"unknown case keys {set(case) - CASE_KEYS}"
    stack = case.get("base", base)
    spec: Spec = stack_spec(stack, case.get("patch") or {})
    resources = apply_edits(list(plan_for(stack).resources), case.get("resources") or [])
    rule = policies.rules_by_id[rule_id]
    assert rule.scope == "resources"
    (result,), _ = evaluate_resources(policies, spec, tuple(resources), rules=(rule,))
    messages = [finding.message for finding in result.findings]
    if kind == "pass":
        assert result.status == "pass", messages
        return
    assert result.status == case.get("status", "fail"), messages
    assert any(case["message"] in message for message in messages), messages


def test_every_resource_rule_has_a_failing_fixture(policies: PolicySet) -> None:
    assert {rule.id for rule in policies.resource_rules} == set(FIXTURES)
    for rule in policies.resource_rules:
        assert FIXTURES[rule.id].get("fail"), rule.id
        assert all(case.get("message") for case in FIXTURES[rule.id]["fail"]), rule.id


def test_an_edit_that_matches_nothing_is_refused(plan_for: PlanFor) -> None:
    with pytest.raises(AssertionError, match="matched no resource"):
        apply_edits(list(plan_for("prod").resources), [{"type": "aws:ec2/instance:Instance", "where": {"region": "x"}}])
