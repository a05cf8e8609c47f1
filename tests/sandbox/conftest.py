"""Live labs for the sandbox tests: real etcd, HAProxy, rsync and supervisord processes on 127.0.0.1.

Every lab a test starts is taken down at teardown, and every pid it ever ran is checked gone (killed if not).
DRKIT_LAB_NETWORK=namespaces runs these labs with each region in its own network namespace (as root), so
the same tests prove both network modes.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from drkit.policy.catalog import PolicySet
from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import LOOPBACK, LabPlan, plan_lab
from drkit.sandbox.ports import is_free
from drkit.sandbox.supervisor_client import pid_alive
from drkit.spec.model import Spec
from drkit.validate import validate_file
from tests.conftest import STACKS, TODAY

_next_block = [24100]


def free_block(size: int = 40) -> int:
    """The first port of `size` consecutive free loopback ports, never handing out the same block twice."""
    start = _next_block[0]
    while not all(is_free(port) for port in range(start, start + size)):
        start += size
    _next_block[0] = start + size
    return start


def local_spec(policies: PolicySet) -> Spec:
    report = validate_file(STACKS / "Pulumi.local.yaml", policies, TODAY)
    assert report.spec is not None, report.errors
    return report.spec


def lab_plan(policies: PolicySet, state_dir: Path, network: str | None = None) -> LabPlan:
    """A fresh plan in a free port block; the network mode from DRKIT_LAB_NETWORK unless given."""
    mode = network or os.environ.get("DRKIT_LAB_NETWORK", LOOPBACK)
    return plan_lab("local", local_spec(policies), free_block(), mode, state_dir)


class LabTracker:
    """Remembers every pid a lab ran, so teardown can prove they are all gone."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.pids: set[int] = set()

    def record(self) -> None:
        if self.lab.supervisor.running():
            self.pids.update(self.lab.supervisor.pids())
            if self.lab.supervisor.pid:
                self.pids.add(self.lab.supervisor.pid)

    def teardown(self) -> list[int]:
        self.record()
        self.lab.down(purge=False)
        survivors = [pid for pid in self.pids if pid_alive(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        return survivors


@pytest.fixture
def lab_factory(policies: PolicySet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    trackers: list[LabTracker] = []

    def make() -> tuple[Lab, LabTracker]:
        state = tmp_path_factory.mktemp("lab") / "local"
        lab = Lab.prepare(lab_plan(policies, state), state)
        tracker = LabTracker(lab)
        trackers.append(tracker)
        return lab, tracker

    yield make
    survivors = [pid for tracker in trackers for pid in tracker.teardown()]
    assert not survivors, f"lab processes survived `down` and had to be killed: {survivors}"


@contextmanager
def live_lab(lab: Lab) -> Iterator[Lab]:
    """The lab up for the duration; then down, and every pid it ever ran proven gone."""
    tracker = LabTracker(lab)
    try:
        lab.up(lambda _: None)
        tracker.record()
        yield lab
    finally:
        survivors = tracker.teardown()
        assert not survivors, f"lab processes survived `down` and had to be killed: {survivors}"


@pytest.fixture(scope="module")
def running_lab(policies_module: PolicySet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One lab shared by the non-destructive tests of a module."""
    state = tmp_path_factory.mktemp("shared-lab") / "local"
    with live_lab(Lab.prepare(lab_plan(policies_module, state), state)) as lab:
        yield lab


@pytest.fixture(scope="module")
def policies_module() -> PolicySet:
    from tests.conftest import ROOT

    return PolicySet.load(ROOT / "policies")
