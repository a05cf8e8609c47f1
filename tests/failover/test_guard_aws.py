"""The guards on AWS: the decision loop (drkit.failover.guard) with AwsGuardBackend, against a real witness etcd
on loopback (etcd 3.4.23: its leases lapse and are revoked for real) and the stack as moto holds it.

What is real here: the witness and its leases; the failover engine and the AWS control plane, whose EC2,
Route 53, SSM Run Command and Parameter Store calls change moto's state. What is scripted, because AWS
instances cannot run here: each region's registry members (their health, the /drkit/epoch they hold, the
heartbeat mirrored into the standby, as in the engine's moto tests) and systemctl on the member (recorded).
moto never runs the SSM script; the assertions are on API state."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from drkit.failover import registry
from drkit.failover.aws_deployment import ClientTls, aws_deployment, parameter_name
from drkit.failover.guard import Guard, Timing, Witness
from drkit.failover.guard_aws import ETCD_UNIT, AwsGuardBackend, ParameterPause, paused_parameter
from tests.conftest import committed_spec
from tests.failover.aws_world import PRIMARY, STACK, STANDBY, World
from tests.failover.real_etcd import ETCD, single_etcd
from tests.failover.test_aws_failover import _inventory, _state
from tests.failover.test_engine import ScriptedRegistry
from tests.provision.conftest import spec_from
from tests.sandbox.conftest import free_block

TIMING = Timing(ttl=3, loop_wait=0.5, retry_timeout=0.5)  # 0.5 + 2 x 0.5 <= 3: self-fence after 2 s


class Regions:
    """Both regions' clusters as the guards and the engine see them; a stopped member's region stops
    answering (one member stands for its region here)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.up = {PRIMARY, STANDBY}
        self.epochs: dict[str, str] = {}
        ScriptedRegistry(monkeypatch, answering=self.up, healthy=self.up)

        def get(cluster: registry.Cluster, key: str, timeout: float = 2.0) -> tuple[str | None, int]:
            if cluster.region not in self.up:
                raise registry.RegistryError(f"cannot read {key} on {cluster.region}: no member answered")
            return (self.epochs.get(cluster.region) if key == registry.EPOCH_KEY else None), 10

        def write_epoch(cluster: registry.Cluster, epoch: registry.Epoch) -> int:
            self.epochs[cluster.region] = json.dumps(epoch.to_json())
            return 11

        def heartbeat(cluster: registry.Cluster) -> float:
            return time.time() - 0.2  # the mirror is 0.2 s behind: well within the prod spec's maxLag

        monkeypatch.setattr(registry, "get", get)
        monkeypatch.setattr(registry, "write_epoch", write_epoch)
        monkeypatch.setattr(registry, "read_heartbeat", heartbeat)


@dataclass
class Member:
    regions: Regions
    region: str
    calls: list[list[str]] = field(default_factory=list)

    def systemctl(self, arguments: list[str]) -> None:
        self.calls.append(arguments)
        if arguments == ["stop", ETCD_UNIT]:
            self.regions.up.discard(self.region)
        elif arguments == ["start", ETCD_UNIT]:
            self.regions.up.add(self.region)


def _guard(
    regions: Regions, region: str, boot_role: str, witness: str, spec: Any, inventory: Path, state: Path
) -> tuple[Guard, Member]:
    member = Member(regions, region)
    url = f"https://10.0.0.1:{2379}"
    backend = AwsGuardBackend(
        region=region,
        boot_role=boot_role,
        local=registry.Cluster(region, (url,)),
        own=registry.Cluster(region, (url,)),
        deployment=lambda: aws_deployment(
            STACK, spec, inventory, boto3.session.Session(), ClientTls(), state / region / "failover"
        ),
        max_lag=spec.replication.max_lag,
        paused_flag=ParameterPause(STACK, region, lambda service, name: boto3.client(service, region_name=name)),
        state_file=state / region / "role.json",
        systemctl=member.systemctl,
        leader_check=lambda cluster: cluster.region in regions.up,
    )
    return Guard(backend, region, Witness(witness, STACK, TIMING), TIMING), member


def _unreachable() -> Witness:
    """The witness as a region cut off from it sees it: nothing listens there."""
    return Witness(f"http://127.0.0.1:{free_block(1)}", STACK, TIMING)


def _turns(guards: list[Guard], until: Any, timeout: float = 30) -> list[tuple[float, str, str]]:
    """Every guard takes a turn each loop_wait (in this process, in order) until `until(decisions)`;
    returns (time, region, decision) for every turn."""
    seen: list[tuple[float, str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for guard in guards:
            seen.append((time.time(), guard.region, guard.step()))
        if until(seen):
            return seen
        time.sleep(TIMING.loop_wait)
    raise AssertionError(f"timed out; last decisions: {seen[-4:]}")


@pytest.fixture
def witness(tmp_path: Path) -> Any:
    if not ETCD.exists():
        pytest.skip("needs etcd (Debian etcd-server)")
    with single_etcd(tmp_path / "witness", "witness") as url:
        yield url


def _said(seen: list[tuple[float, str, str]], region: str, prefix: str) -> float | None:
    return next((at for at, where, decision in seen if where == region and decision.startswith(prefix)), None)


def test_a_primary_cut_off_fences_itself_and_the_standby_promotes_through_the_engine_on_aws(
    world: World, policies: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, witness: str
) -> None:
    spec = spec_from(policies, committed_spec("prod"))
    regions = Regions(monkeypatch)
    inventory = _inventory(tmp_path / "inventory.yml")
    east, east_member = _guard(regions, PRIMARY, "primary", witness, spec, inventory, tmp_path)
    west, west_member = _guard(regions, STANDBY, "standby", witness, spec, inventory, tmp_path)
    _turns([east, west], lambda seen: _said(seen[-2:], STANDBY, f"standby: {PRIMARY} holds the key"))

    east.witness = _unreachable()  # the primary region loses the witness (and the standby)
    last_renewal = east.last_renewal
    seen = _turns([east, west], lambda seen: _said(seen, STANDBY, "promoted:"))
    fenced, promoted = _said(seen, PRIMARY, "primary: self-fenced"), _said(seen, STANDBY, "promoted:")
    assert fenced is not None and promoted is not None
    # Stopped its own etcd, no AWS API needed, while its lease was still live; promoted only after it lapsed.
    assert east_member.calls == [["stop", ETCD_UNIT]]
    assert last_renewal + TIMING.self_fence_after <= fenced < last_renewal + TIMING.ttl <= promoted, [
        (round(at - last_renewal, 2), r, d) for at, r, d in seen
    ][-6:]

    # The engine fenced the old primary through AWS as well, and recorded the new roles.
    old, new = _state(world, PRIMARY), _state(world, STANDBY)
    assert old["instances"] <= {"stopping", "stopped"} and old["client_rules"] == 0 and not old["serving"]
    assert new["serving"] and new["instances"] == {"running"}
    commands = boto3.client("ssm", region_name=STANDBY).list_commands()["Commands"]
    assert any(
        "systemctl disable --now drkit-mirror@0.service" in " ".join(c["Parameters"]["commands"]) for c in commands
    )
    record = json.loads(
        boto3.client("ssm", region_name=STANDBY).get_parameter(Name=parameter_name(STACK))["Parameter"]["Value"]
    )
    assert record == {"epoch": 2, "roles": {PRIMARY: "fenced", STANDBY: "primary"}}
    assert json.loads(regions.epochs[STANDBY])["primary"] == STANDBY
    observer = Witness(witness, STACK, TIMING)
    held, _ = observer.read()
    assert held is not None and held["region"] == STANDBY and observer.promoted_epoch() == 2

    # The new primary's guard renews from now on; the old primary, back on the witness, stays down.
    east.witness = Witness(witness, STACK, TIMING)
    seen = _turns([east, west], lambda seen: len(seen) >= 6)
    assert [decision for _, where, decision in seen if where == STANDBY][-1] == "primary: lease renewed"
    assert all(d.startswith("primary: self-fenced") for _, where, d in seen if where == PRIMARY), seen
    assert east_member.calls == [["stop", ETCD_UNIT]] and west_member.calls == []


def test_paused_guards_on_aws_do_not_promote(
    world: World, policies: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, witness: str
) -> None:
    spec = spec_from(policies, committed_spec("prod"))
    regions = Regions(monkeypatch)
    inventory = _inventory(tmp_path / "inventory.yml")
    east, _ = _guard(regions, PRIMARY, "primary", witness, spec, inventory, tmp_path)
    west, _ = _guard(regions, STANDBY, "standby", witness, spec, inventory, tmp_path)
    boto3.client("ssm", region_name=STANDBY).put_parameter(Name=paused_parameter(STACK), Value="true", Type="String")
    _turns([east, west], lambda seen: _said(seen[-2:], PRIMARY, "primary: lease renewed"))
    east.witness = _unreachable()
    seen = _turns([east, west], lambda seen: len(seen) >= 4 * TIMING.ttl / TIMING.loop_wait)
    assert _said(seen, PRIMARY, "primary: self-fenced") is not None
    assert [d for _, where, d in seen if where == STANDBY][-1] == "standby: paused, not promoting"
    assert _state(world, PRIMARY)["serving"] and not _state(world, STANDBY)["serving"]


def test_the_pause_flag_counts_as_set_when_it_cannot_be_read(world: World) -> None:
    def unreachable(service: str, region: str) -> Any:
        class Client:
            def get_parameter(self, **_: Any) -> Any:
                raise EndpointConnectionError(endpoint_url=f"https://ssm.{region}.amazonaws.com")

        return Client()

    assert ParameterPause(STACK, STANDBY, unreachable)() is True
    moto = ParameterPause(STACK, STANDBY, lambda service, name: boto3.client(service, region_name=name))
    assert moto() is False  # no parameter: not paused
    boto3.client("ssm", region_name=STANDBY).put_parameter(Name=paused_parameter(STACK), Value="false", Type="String")
    assert moto() is False


def test_the_member_knows_its_region_role_from_its_own_epoch_and_keeps_it_while_its_etcd_is_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    regions = Regions(monkeypatch)
    cluster = registry.Cluster(PRIMARY, ("https://10.0.0.1:2379",))

    def backend() -> AwsGuardBackend:
        return AwsGuardBackend(
            region=PRIMARY,
            boot_role="primary",
            local=cluster,
            own=cluster,
            deployment=lambda: pytest.fail("no promotion here"),
            max_lag=5.0,
            paused_flag=lambda: False,
            state_file=tmp_path / "role.json",
            leader_check=lambda _: True,
        )

    first = backend()
    first.refresh()
    assert (first.role(), first.epoch()) == ("primary", 1)  # no /drkit/epoch yet: the boot role
    regions.epochs[PRIMARY] = json.dumps(registry.Epoch(3, STANDBY, PRIMARY, 0.0, "failover").to_json())
    first.refresh()
    assert (first.role(), first.epoch()) == ("standby", 3)
    regions.epochs[PRIMARY] = "{not json"
    first.refresh()
    assert (first.role(), first.epoch()) == ("standby", 3), "an unreadable epoch was taken for 'no epoch yet'"
    regions.up.discard(PRIMARY)
    again = backend()  # a restarted guard whose etcd is down: what it knew comes from its state file
    again.refresh()
    assert (again.role(), again.epoch()) == ("standby", 3)


def test_the_witness_is_reached_through_whichever_of_its_urls_answers(witness: str) -> None:
    """Production runs the witness in three places: a guard must keep working when one of them is gone."""
    several = Witness([f"http://127.0.0.1:{free_block(1)}", witness], STACK, TIMING)
    assert several.hold({"region": PRIMARY, "at": time.time(), "epoch": 1})
    record, left = Witness(witness, STACK, TIMING).read()
    assert record is not None and record["region"] == PRIMARY and left >= 1


def test_the_aws_guard_refuses_timing_that_breaks_patronis_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from drkit.failover.guard_aws import main

    arguments = ["--stack", STACK, "--region", PRIMARY, "--boot-role", "primary", "--local-url", "https://a:2379"]
    arguments += ["--members", "https://a:2379", "--witness", "https://w:2379", "--inventory", "inventory.yml"]
    assert main([*arguments, "--ttl", "5", "--loop-wait", "2", "--retry-timeout", "2"]) == 2
    assert "must not exceed the ttl" in capsys.readouterr().err
