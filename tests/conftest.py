"""Shared test helpers: the checkout's policy set, a fixed 'today', and stack files built from patches."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from drkit.policy.catalog import PolicySet
from drkit.spec.stackfile import SPEC_KEY

ROOT = Path(__file__).resolve().parents[1]

# The fixtures that start real processes (a lab, a witness etcd, a guard, an installed runtime): a test that
# takes one, and every test of a *_live.py module, is `live` (registered in pyproject.toml).
LIVE_FIXTURES = frozenset(
    {
        "lab",
        "live_lab",
        "running_lab",
        "lab_factory",
        "failover_lab",
        "pair",
        "drill_lab",
        "guarded",
        "ns_lab",
        "witness",
        "etcd",
        "etcds",
        "installed",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.path.name.endswith("_live.py") or fixtures & LIVE_FIXTURES:
            item.add_marker(pytest.mark.live)


STACKS = ROOT / "stacks"
# Waiver expiry is judged against this date in tests, so results do not change with the calendar.
TODAY = date(2026, 11, 22)


@pytest.fixture(scope="session")
def policies() -> PolicySet:
    return PolicySet.load(ROOT / "policies")


@pytest.fixture(scope="session")
def prod_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `pulumi stack output --json -s prod` gives: here, the outputs of prod's plan under Pulumi's mocks."""
    from drkit.provision import gate, offline

    report = gate.validate_stack(gate.stack_path(ROOT, "prod"), ROOT / "policies", TODAY)
    assert report.spec is not None
    outputs = offline.run_offline(report.spec, "prod").outputs
    path = tmp_path_factory.mktemp("outputs") / "prod.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return path


def committed_spec(stack: str) -> dict[str, Any]:
    """The DR spec of stacks/Pulumi.<stack>.yaml as plain data."""
    data = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    spec = data["config"][SPEC_KEY]
    # PyYAML reads unquoted dates as date objects; the spec keeps them as text.
    for waiver in spec.get("waivers", []):
        waiver["expires"] = str(waiver["expires"])
    return spec


def patched(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`base` with `patch` merged in: mappings merge, anything else replaces, None deletes the key."""
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = patched(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def write_stack(directory: Path, stack: str, spec: dict[str, Any]) -> Path:
    """Write spec as stacks-style Pulumi.<stack>.yaml under `directory` and return its path."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": {SPEC_KEY: spec}}, sort_keys=False), encoding="utf-8")
    return path
