"""One live lab shared by the failover tests, and a fixture that hands each test a healthy primary/standby
pair whichever region the previous test left as primary (tests never depend on each other's order)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.policy.catalog import PolicySet
from drkit.sandbox.lab import Lab
from drkit.sandbox.network import choose_mode
from drkit.sandbox.plan import plan_lab
from drkit.spec.model import Spec
from tests.conftest import ROOT
from tests.failover.aws_world import world  # noqa: F401  (fixture: the stack as moto holds it)
from tests.sandbox.conftest import free_block, live_lab, local_spec, policies_module  # noqa: F401  (fixture)

DRKIT = Path(sys.executable).with_name("drkit")


def drkit(lab: Lab, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console script against the lab's state dir."""
    command = [str(DRKIT), *args, "--stack", "local", "--state-dir", str(lab.paths.root)]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **(env or {})}
    )


def drkit_json(lab: Lab, *args: str) -> dict[str, Any]:
    result = drkit(lab, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def fresh(lab: Lab) -> Lab:
    """The lab as its saved plan says now (a CLI run in another process may have changed the roles)."""
    return Lab.existing(lab.paths.root)


@pytest.fixture(scope="module")
def failover_spec(policies_module: PolicySet) -> Spec:  # noqa: F811
    return local_spec(policies_module)


@pytest.fixture(scope="module")
def failover_lab(failover_spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # Namespaces where they can be built (CI runs as root): the client-port fence and partitions are real.
    network = os.environ.get("DRKIT_LAB_NETWORK") or choose_mode("auto")
    state = tmp_path_factory.mktemp("failover-lab") / "local"
    with live_lab(Lab.prepare(plan_lab("local", failover_spec, free_block(), network, state), state)) as lab:
        yield lab


@pytest.fixture
def pair(failover_lab: Lab) -> Iterator[Lab]:
    """A healthy primary and standby: a fenced region is failed back, stopped members started."""
    yield _healthy(failover_lab)
    _healthy(failover_lab)


def _healthy(lab: Lab) -> Lab:
    journal = lab.paths.root / "failover-journal.json"
    if journal.exists():
        journal.rename(journal.with_suffix(".abandoned"))
    current = fresh(lab)
    # Members a test stopped (a self-fenced primary, a killed region) first: failback needs a healthy primary.
    current.up(lambda _: None)
    for region in [r for r in current.plan.regions if r.role == "fenced"]:
        result = drkit(current, "failback", "--region", region.name, "--yes")
        assert result.returncode == 0, result.stderr
    current = fresh(current)
    for region in current.plan.regions:
        current.set_region_serving(region.name, region.role == "primary")
    up = current.up(lambda _: None)
    assert "up" in up
    return fresh(current)
