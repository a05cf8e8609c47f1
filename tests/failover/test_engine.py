"""The engine's decisions and order, against a scripted control plane and a scripted registry (no etcd)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from drkit.failover import registry
from drkit.failover.control import FenceAction
from drkit.failover.deployment import Deployment
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.journal import Journal, JournalError
from drkit.failover.registry import Cluster
from drkit.failover.report import render

EAST, WEST = ("http://east-1", "http://east-2", "http://east-3"), ("http://west-1", "http://west-2", "http://west-3")


class ScriptedControl:
    """Records every call; `failing` methods return ok=False, `exploding` ones raise once."""

    def __init__(self, failing: set[str] | None = None, exploding: set[str] | None = None) -> None:
        self.calls: list[str] = []
        self.failing = failing or set()
        self.exploding = exploding or set()

    def _act(self, method: str, region: str) -> FenceAction:
        self.calls.append(f"{method} {region}")
        if method in self.exploding:
            self.exploding.discard(method)
            raise registry.RegistryError(f"{method}: connection reset")
        return FenceAction(
            method, region, method not in self.failing, f"{method} done" if method not in self.failing else "failed"
        )

    def stop_members(self, region: str) -> FenceAction:
        return self._act("stop-members", region)

    def start_members(self, region: str) -> FenceAction:
        return self._act("start-members", region)

    def cut_client_port(self, region: str) -> FenceAction:
        return self._act("cut-client-port", region)

    def restore_client_port(self, region: str) -> FenceAction:
        return self._act("restore-client-port", region)

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        return self._act("endpoint-in" if serving else "endpoint-out", region)

    def stop_mirror(self, into: str) -> FenceAction:
        return self._act("stop-mirror", into)

    def start_mirror(self, source: str, into: str) -> FenceAction:
        return self._act("start-mirror", into)

    def move_data_aside(self, region: str) -> FenceAction:
        return self._act("move-data-aside", region)


class ScriptedRegistry:
    """Which regions answer and are healthy; records the writes the engine makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answering: set[str], healthy: set[str]) -> None:
        self.answering, self.healthy = answering, healthy
        self.writes: list[tuple[str, str]] = []

        def health(cluster: Cluster, timeout: float = 1.0) -> registry.RegionHealth:
            up = len(cluster.urls) if cluster.region in self.healthy else 0
            return registry.RegionHealth(cluster.region, len(cluster.urls), up, up, 10 if up else 0)

        def answers(cluster: Cluster, timeout: float = 1.0) -> list[str]:
            return list(cluster.urls) if cluster.region in self.answering else []

        def put(cluster: Cluster, key: str, value: str, timeout: float = 2.0) -> int:
            self.writes.append((cluster.region, key))
            return len(self.writes)

        monkeypatch.setattr(registry, "health", health)
        monkeypatch.setattr(registry, "answers", answers)
        monkeypatch.setattr(registry, "put", put)
        monkeypatch.setattr(registry, "read_heartbeat", lambda cluster: 1000.0)
        monkeypatch.setattr(registry, "rebind_leases", lambda cluster, p, ttl: registry.Rebound(4, 4, 2, 0xABC))
        monkeypatch.setattr(
            registry, "write_epoch", lambda cluster, epoch: self.writes.append((cluster.region, "epoch")) or 7
        )


def deployment(tmp_path: Path, control: ScriptedControl, roles: Mapping[str, str] | None = None) -> Deployment:
    saved: list[dict[str, Any]] = []

    def save_roles(changes: Mapping[str, str], epoch: int) -> None:
        saved.append({"roles": dict(changes), "epoch": epoch})
        d.roles = {**d.roles, **changes}

    d = Deployment(
        stack="test",
        regions=("east", "west"),
        roles=roles or {"east": "primary", "west": "standby"},
        epoch=1,
        control=control,
        clusters={"east": Cluster("east", EAST), "west": Cluster("west", WEST)},
        endpoint=Cluster("endpoint", ("http://endpoint",)),
        mirrored=True,
        max_lag=2.0,
        ephemeral_prefixes=("/services/",),
        lease_ttl=10,
        objective_rto=120.0,
        objective_rpo=5.0,
        state_dir=tmp_path,
        save_roles=save_roles,
    )
    d.saved = saved  # type: ignore[attr-defined]
    return d


def test_failover_fences_before_anything_is_promoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = ScriptedControl()
    scripted = ScriptedRegistry(monkeypatch, answering={"west"}, healthy={"west"})
    d = deployment(tmp_path, control)
    report = carry_out(d, Request("failover", "west", confirm=True), lambda _: None)
    assert control.calls == [
        "stop-members east",
        "cut-client-port east",
        "endpoint-out east",
        "stop-mirror west",
        "endpoint-in west",
    ]
    assert scripted.writes[0] == ("west", "epoch") and scripted.writes[-1] == ("endpoint", "/drkit/failover/probe")
    assert d.saved == [{"roles": {"west": "primary", "east": "fenced"}, "epoch": 2}]  # type: ignore[attr-defined]
    assert report.epoch == 2 and report.outcome == "done" and all(fence.ok for fence in report.fences)
    assert not (tmp_path / "failover-journal.json").exists()
    assert list(tmp_path.glob("failover-*-failover.json")), "the finished journal is kept as history"


def test_unfenced_answering_primary_is_refused_then_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = ScriptedControl(failing={"stop-members", "cut-client-port"})
    ScriptedRegistry(monkeypatch, answering={"east", "west"}, healthy={"east", "west"})
    d = deployment(tmp_path, control)
    with pytest.raises(FailoverRefusedError, match="could not be fenced and 3 of its members still answer"):
        carry_out(d, Request("failover", "west", confirm=True), lambda _: None)
    assert "stop-mirror west" not in control.calls and d.roles["west"] == "standby"
    forced = carry_out(d, Request("failover", "west", confirm=True, force_reason="powered off"), lambda _: None)
    assert forced.forced_reason == "powered off" and d.roles == {"east": "fenced", "west": "primary"}
    assert "forced: powered off" in render(forced)


def test_unfenced_but_silent_primary_is_promoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dead, or cut off from here: nobody can reach it, so nothing can write to it through drkit's side."""
    control = ScriptedControl(failing={"stop-members", "cut-client-port"})
    ScriptedRegistry(monkeypatch, answering={"west"}, healthy={"west"})
    report = carry_out(deployment(tmp_path, control), Request("failover", "west", confirm=True), lambda _: None)
    check = next(step for step in report.steps if step.name == "check-fenced")
    assert "none of its members answers" in check.detail


def test_an_interrupted_failover_resumes_without_a_second_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = ScriptedControl(exploding={"stop-mirror"})
    ScriptedRegistry(monkeypatch, answering={"west"}, healthy={"west"})
    d = deployment(tmp_path, control)
    with pytest.raises(registry.RegistryError):
        carry_out(d, Request("failover", "west", confirm=True), lambda _: None)
    journal = Journal.load(tmp_path)
    assert journal is not None and journal.done == [
        "fence-stop-members",
        "fence-client-port",
        "fence-endpoint",
        "check-fenced",
    ]
    with pytest.raises(FailoverRefusedError, match="did not finish"):
        carry_out(d, Request("switchover", "west", confirm=True), lambda _: None)
    report = carry_out(d, Request("failover", "west", confirm=True), lambda _: None)
    assert [step.name for step in report.steps if step.resumed] == journal.done
    assert report.epoch == 2 and len(report.fences) == 3
    assert control.calls.count("stop-members east") == 1


@pytest.mark.parametrize(
    ("request_", "roles", "message", "code"),
    [
        (Request("failover", "north", True), None, "no region north in stack test", 2),
        (Request("failover", "east", True), None, "east is already the primary", 2),
        (Request("switchover", "west", True), {"east": "primary", "west": "fenced"}, "failback` re-seeds it", 2),
        (Request("failback", "west", True), None, "west is standby, not fenced", 2),
        (Request("failover", "west", True), None, "the standby west is unhealthy", 1),
    ],
)
def test_refusals_change_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request_: Request,
    roles: dict[str, str] | None,
    message: str,
    code: int,
) -> None:
    control = ScriptedControl()
    healthy = set() if "unhealthy" in message else {"east", "west"}
    ScriptedRegistry(monkeypatch, answering=healthy, healthy=healthy)
    d = deployment(tmp_path, control, roles)
    with pytest.raises(FailoverRefusedError, match=message) as refused:
        carry_out(d, request_, lambda _: None)
    assert refused.value.exit_code == code
    assert control.calls == [] and not (tmp_path / "failover-journal.json").exists()


def test_no_replication_is_unusable_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptedRegistry(monkeypatch, answering={"east", "west"}, healthy={"east", "west"})
    d = deployment(tmp_path, ScriptedControl())
    d.mirrored = False
    with pytest.raises(FailoverRefusedError, match="restore it from a backup") as refused:
        carry_out(d, Request("failover", "west", True), lambda _: None)
    assert refused.value.exit_code == 2


def test_dry_run_plans_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = ScriptedControl()
    ScriptedRegistry(monkeypatch, answering={"east", "west"}, healthy={"east", "west"})
    report = carry_out(deployment(tmp_path, control), Request("failover", "west", False), lambda _: None)
    assert report.dry_run and report.plan[0] == "fence east: stop its members" and control.calls == []
    assert "run again with --yes" in render(report)


def test_failback_moves_data_aside_before_it_starts_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = ScriptedControl()
    ScriptedRegistry(monkeypatch, answering={"west"}, healthy={"west", "east"})
    monkeypatch.setattr(registry, "wait_for_value", lambda *args, **kwargs: 0.1)
    d = deployment(tmp_path, control, {"east": "fenced", "west": "primary"})
    report = carry_out(d, Request("failback", "east", True), lambda _: None)
    assert control.calls == [
        "stop-members east",
        "move-data-aside east",
        "restore-client-port east",
        "start-members east",
        "start-mirror east",
    ]
    assert d.roles == {"east": "standby", "west": "primary"} and report.outcome == "done"


def test_a_failed_stop_refuses_failback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = ScriptedControl(failing={"stop-members"})
    ScriptedRegistry(monkeypatch, answering={"west"}, healthy={"west"})
    d = deployment(tmp_path, control, {"east": "fenced", "west": "primary"})
    with pytest.raises(FailoverRefusedError, match="stop-members on east failed"):
        carry_out(d, Request("failback", "east", True), lambda _: None)
    assert "move-data-aside east" not in control.calls


def test_an_unreadable_journal_is_named(tmp_path: Path) -> None:
    (tmp_path / "failover-journal.json").write_text("{not json")
    with pytest.raises(JournalError, match="unreadable"):
        Journal.load(tmp_path)


def test_guard_timing_follows_patronis_rule() -> None:
    from drkit.failover.guard import Timing

    Timing(ttl=5, loop_wait=1, retry_timeout=1).check()
    assert Timing(ttl=5, loop_wait=1, retry_timeout=1).self_fence_after == 3
    with pytest.raises(ValueError, match="must not exceed the ttl"):
        Timing(ttl=5, loop_wait=2, retry_timeout=2).check()
