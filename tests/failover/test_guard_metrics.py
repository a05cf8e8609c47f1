"""What a guard reports after each turn: the state file `drkit sandbox status` reads and the Prometheus
metrics the alert rules read. No lab: a saved plan in a temporary state dir and a stand-in for the guard
(its members do not answer, so the metrics read from them are absent, as when a region is down)."""

from __future__ import annotations

import ast
import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from drkit.failover import guard
from drkit.failover.guard import Timing
from drkit.failover.guard_metrics import KINDS, GuardReporter, decision_kind
from drkit.policy.catalog import PolicySet
from drkit.sandbox.plan import LabPlan, plan_lab
from drkit.sandbox.ports import is_free
from tests.sandbox.conftest import free_block, local_spec


def _sentences() -> list[str]:
    """Every decision the guard's code returns as a literal or f-string, placeholders filled with X."""
    tree = ast.parse(Path(guard.__file__).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append(value.value)
            elif isinstance(value, ast.JoinedStr):
                found.append(
                    "".join(
                        part.value if isinstance(part, ast.Constant) else "X" for part in value.values
                    )  # the X stands for a name or a number
                )
    return [text for text in found if ":" in text and not text.startswith("/")]


def test_every_decision_the_guard_makes_has_a_kind() -> None:
    sentences = _sentences()
    assert len(sentences) >= 15, sentences  # the parse found the guard's decisions, not nothing
    unknown = [text for text in sentences if decision_kind(text) == "other"]
    assert unknown == [], "decisions the metrics would count as 'other': add them to DECISION_KINDS"


def test_kinds_tell_holding_from_waiting() -> None:
    assert decision_kind("primary: lease renewed") == "renewed"
    assert decision_kind("standby: lab-east holds the key (4s left)") == "waiting"
    assert decision_kind("standby: holds the key, promotion stopped: refused (the next turn resumes it)") == (
        "promotion_stopped"
    )
    assert decision_kind("primary: self-fenced (no renewal for 3.1s): members stopped") == "self_fenced"
    assert decision_kind("something new") == "other" and "other" in KINDS


@dataclass
class FakeWitness:
    lease: int = 0
    own_ttl: int | None = None
    own_ttl_at: float = 0.0
    read_ttl: int | None = None
    read_ttl_at: float = 0.0


@dataclass
class FakeGuard:
    witness: FakeWitness = field(default_factory=FakeWitness)
    self_fenced: bool = False
    timing: Timing = field(default_factory=Timing)


@pytest.fixture
def lab_dir(policies: PolicySet, tmp_path: Path) -> Path:
    plan = plan_lab("local", local_spec(policies), free_block())
    (tmp_path / "lab.json").write_text(plan.to_json())
    return tmp_path


def _samples(reporter: GuardReporter) -> dict[str, float]:
    assert reporter.metrics is not None
    text = generate_latest(reporter.metrics.registry).decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_a_renewing_primary_then_a_self_fenced_one(lab_dir: Path) -> None:
    reporter = GuardReporter(lab_dir, "lab-east")
    fake = FakeGuard(FakeWitness(lease=42, own_ttl=5, own_ttl_at=999.0))
    reporter.report(fake, "primary: lease renewed", at=1000.0)

    state = json.loads((lab_dir / "guards" / "lab-east.json").read_text())
    assert state["decision"] == "primary: lease renewed" and state["at"] == 1000.0
    assert (state["kind"], state["role"], state["epoch"], state["leaseId"]) == ("renewed", "primary", 1, 42)
    assert state["holdsLease"] is True and state["lastRenewal"] == 1000.0
    assert state["ttlLeft"] == 4.0  # 5 s granted a second before the turn ended
    assert not (lab_dir / "guards" / "lab-east.json.partial").exists()

    labels = 'region="lab-east",stack="local"'
    samples = _samples(reporter)
    assert samples[f"drkit_guard_lease_held{{{labels}}}"] == 1
    assert samples[f"drkit_guard_lease_ttl_remaining_seconds{{{labels}}}"] == 4
    assert samples[f"drkit_guard_lease_ttl_seconds{{{labels}}}"] == 5
    assert samples[f"drkit_guard_last_renew_timestamp_seconds{{{labels}}}"] == 1000
    assert samples[f"drkit_region_primary{{{labels}}}"] == 1
    assert samples[f"drkit_region_fenced{{{labels}}}"] == 0
    assert samples[f"drkit_replication_max_lag_seconds{{{labels}}}"] == 2  # the local stack's maxLag
    assert samples[f'drkit_guard_decisions_total{{decision="renewed",{labels}}}'] == 1
    assert samples[f'drkit_guard_decisions_total{{decision="self_fenced",{labels}}}'] == 0  # there from the start
    # Its members do not answer: no epoch, term or lag is made up for them.
    assert not any(name.startswith(("drkit_region_epoch{", "drkit_raft_term{")) for name in samples)

    fake.self_fenced = True
    reporter.report(fake, "primary: self-fenced (no renewal for 3.2s): members stopped", at=1003.2)
    state = json.loads((lab_dir / "guards" / "lab-east.json").read_text())
    assert (state["kind"], state["holdsLease"], state["fenced"]) == ("self_fenced", False, True)
    assert state["lastRenewal"] == 1000.0  # the last successful renewal, not this turn
    samples = _samples(reporter)
    assert samples[f"drkit_guard_lease_held{{{labels}}}"] == 0
    assert samples[f"drkit_region_fenced{{{labels}}}"] == 1
    assert samples[f"drkit_guard_last_renew_timestamp_seconds{{{labels}}}"] == 1000
    assert samples[f'drkit_guard_decisions_total{{decision="self_fenced",{labels}}}'] == 1


def test_a_waiting_standby_reports_the_holders_ttl_and_serves_metrics(lab_dir: Path) -> None:
    plan = LabPlan.from_json((lab_dir / "lab.json").read_text())
    host, port = plan.guard_metrics_address("lab-west")
    assert is_free(port)
    reporter = GuardReporter(lab_dir, "lab-west")
    stop = reporter.serve(host, port)
    try:
        fake = FakeGuard(FakeWitness(read_ttl=3, read_ttl_at=2000.0))
        reporter.report(fake, "standby: lab-east holds the key (3s left)", at=2000.5)
        with urllib.request.urlopen(plan.guard_metrics_url("lab-west"), timeout=5) as response:
            text = response.read().decode()
    finally:
        stop()
    assert is_free(port)
    state = json.loads((lab_dir / "guards" / "lab-west.json").read_text())
    assert (state["kind"], state["role"], state["holdsLease"], state["leaseId"]) == ("waiting", "standby", False, None)
    assert state["ttlLeft"] == 2.5
    assert 'drkit_guard_lease_held{region="lab-west",stack="local"} 0.0' in text
    assert 'drkit_guard_decisions_total{decision="waiting",region="lab-west",stack="local"} 1.0' in text
    assert 'drkit_region_primary{region="lab-west",stack="local"} 0.0' in text
