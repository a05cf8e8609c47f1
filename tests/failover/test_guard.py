"""The guard's decisions (Guard.step), the same code the lab's and AWS's guards run, against a scripted
backend and a scripted witness on a fake clock: no etcd, no sleeps.

The scripted witness keeps etcd's semantics the guard relies on: a key bound to a lease that lapses `ttl`
after its last keep-alive, a put that succeeds only if the compare holds (absent; our lease; unchanged since
read), and a client that may be cut off from it (GatewayError, as over HTTP)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from drkit.failover.guard import Guard, PromotionStoppedError, Timing
from drkit.operate.collection import GatewayError

TIMING = Timing(ttl=5, loop_wait=1.0, retry_timeout=1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class WitnessServer:
    """One key with a lease that lapses on the shared clock."""

    clock: Clock
    record: dict[str, Any] | None = None
    lease: int = 0
    expires: float = 0.0
    revision: int = 0
    next_lease: int = 1
    promoted: int = 0  # the epoch record beside the key, without a lease
    taken_alive: int = 0  # takes of a key whose lease had not lapsed yet (must stay 0)

    revoke_after: float = 0.0  # etcd revokes expired leases lazily: seconds after expiry the key is deleted

    def current(self) -> dict[str, Any] | None:
        if self.record is not None and self.clock() >= self.expires + self.revoke_after:
            self.record, self.lease = None, 0
        return self.record

    def alive(self) -> bool:
        return self.current() is not None and self.clock() < self.expires

    def client(self, ttl: int = 5) -> WitnessClient:
        return WitnessClient(self, ttl)


@dataclass
class WitnessClient:
    server: WitnessServer
    ttl: int
    reachable: bool = True
    lease: int = 0
    seen_revision: int = 0
    holds: int = 0  # hold() attempts, answered or not

    def _reach(self) -> None:
        if not self.reachable:
            raise GatewayError("http://witness:2379/v3/kv/txn: timed out")

    def _put(self, record: dict[str, Any]) -> bool:
        server = self.server
        if not self.lease or server.lease != self.lease:
            self.lease, server.next_lease = server.next_lease, server.next_lease + 1
        server.record, server.lease = dict(record), self.lease
        server.expires = server.clock() + self.ttl
        server.revision += 1
        if record.get("promoting"):
            server.promoted = int(record["epoch"])
        return True

    def promoted_epoch(self) -> int:
        self._reach()
        return self.server.promoted

    def read(self) -> tuple[dict[str, Any] | None, int]:
        self._reach()
        record = self.server.current()
        self.seen_revision = self.server.revision if record is not None else 0
        if record is None:
            return None, 0
        # etcd truncates the time left to whole seconds and answers -1 for expired and for under a second left.
        left = int(self.server.expires - self.server.clock())
        return dict(record), left if left >= 1 else -1

    def hold(self, record: dict[str, Any]) -> bool:
        self.holds += 1
        self._reach()
        current = self.server.current()
        if current is None or self.server.lease == self.lease or current.get("region") == record["region"]:
            return self._put(record)
        return False

    def take_expired(self, record: dict[str, Any]) -> bool:
        self._reach()
        if self.server.current() is None or self.server.revision != self.seen_revision:
            return False  # gone or re-written since it was read: etcd's mod_revision compare fails
        self.server.taken_alive += self.server.alive()  # a take while the holder's lease was live: split brain
        return self._put(record)


@dataclass
class ScriptedBackend:
    region_role: str
    healthy: bool = True
    heartbeat: float | None = None
    lag_limit: float = 2.0
    is_paused: bool = False
    current_epoch: int = 1
    refuse: str = ""
    leader: bool = True
    calls: list[str] = field(default_factory=list)
    promotion_takes: float = 0.0  # seconds the engine takes (the scripted clock moves on by that much)
    clock: Clock | None = None

    def clock_during_promotion(self) -> None:
        if self.clock is not None:
            self.clock.now += self.promotion_takes

    @property
    def max_lag(self) -> float:
        return self.lag_limit

    def refresh(self) -> None:
        pass

    def role(self) -> str:
        return self.region_role

    def epoch(self) -> int:
        return self.current_epoch

    def paused(self) -> bool:
        return self.is_paused

    def leads(self) -> bool:
        return self.leader

    def own_healthy(self, timeout: float) -> bool:
        return self.healthy

    def stop_own_members(self) -> None:
        self.calls.append("stop")

    def start_own_members(self) -> None:
        self.calls.append("start")

    def newest_heartbeat(self) -> float | None:
        return self.heartbeat

    def promote(self) -> str:
        self.calls.append("promote")
        self.clock_during_promotion()
        if self.refuse:
            raise PromotionStoppedError(self.refuse)
        self.region_role = "primary"
        self.current_epoch += 1
        return "west is the primary (epoch 2)"


@dataclass
class World:
    clock: Clock
    witness: WitnessServer
    primary: Guard
    standby: Guard

    @property
    def east(self) -> ScriptedBackend:
        return self.primary.backend  # type: ignore[return-value]

    @property
    def west(self) -> ScriptedBackend:
        return self.standby.backend  # type: ignore[return-value]

    def turn(self, seconds: float = 1.0) -> tuple[str, str]:
        """Both guards take a turn, the standby's heartbeat following the primary's while it is reachable."""
        decisions = self.primary.step(), self.standby.step()
        self.clock.now += seconds
        return decisions


@pytest.fixture
def world() -> World:
    clock = Clock()
    server = WitnessServer(clock)
    east = Guard(ScriptedBackend("primary"), "east", server.client(), TIMING, clock)
    west = Guard(ScriptedBackend("standby", heartbeat=clock.now), "west", server.client(), TIMING, clock)
    return World(clock, server, east, west)


def _cut_primary(world: World) -> float:
    """The primary's guard loses the witness; its last renewal was at the returned time."""
    last = world.primary.last_renewal
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    return last


def test_a_healthy_primary_renews_and_the_standby_watches(world: World) -> None:
    for _ in range(10):
        world.west.heartbeat = world.clock.now
        east, west = world.turn()
        assert east == "primary: lease renewed"
        assert west.startswith("standby: east holds the key")
    assert world.east.calls == [] and world.west.calls == []


def test_a_primary_cut_off_fences_itself_before_the_lease_can_expire_then_the_standby_promotes(world: World) -> None:
    world.west.heartbeat = world.clock.now
    world.turn()
    last_renewal = _cut_primary(world)
    fenced_at = promoted_at = None
    for _ in range(12):
        east, west = world.turn(0.5)
        if east.startswith("primary: self-fenced") and fenced_at is None:
            fenced_at = world.clock.now - 0.5
        if west.startswith("promoted:"):
            promoted_at = world.clock.now - 0.5
            break
    assert fenced_at is not None and promoted_at is not None, (east, west)
    assert fenced_at - last_renewal >= TIMING.self_fence_after
    # The old primary stopped its members while its lease was still live: nobody could promote before.
    assert fenced_at < last_renewal + TIMING.ttl <= promoted_at
    assert world.east.calls == ["stop"] and world.west.calls == ["promote"]
    assert world.witness.record is not None and world.witness.record["region"] == "west"
    assert world.witness.record["epoch"] == 2


def test_an_overdue_primary_fences_before_it_tries_the_witness_again(world: World) -> None:
    world.turn()
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    world.clock.now += TIMING.self_fence_after  # e.g. a slow turn: already overdue when the turn starts
    attempts = world.primary.witness.holds  # type: ignore[attr-defined]
    decision = world.primary.step()
    assert decision.startswith("primary: self-fenced (no renewal for")
    assert world.primary.witness.holds == attempts, "tried the witness before fencing"  # type: ignore[attr-defined]
    assert world.east.calls == ["stop"]


def test_a_self_fenced_primary_starts_again_only_if_nobody_took_the_key(world: World) -> None:
    world.turn()
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    world.west.is_paused = True  # no promotion meanwhile: the witness was what was lost, say
    for _ in range(4):
        world.turn()
    assert world.east.calls == ["stop"]
    world.primary.witness.reachable = True  # type: ignore[attr-defined]
    east, _ = world.turn()
    assert east == "primary: the witness answers again and nobody took the key: members started"
    assert world.east.calls == ["stop", "start"]
    assert world.turn()[0] == "primary: lease renewed"


def test_a_fenced_primary_stays_down_when_another_region_holds_the_key(world: World) -> None:
    world.west.heartbeat = world.clock.now
    world.turn()
    _cut_primary(world)
    while not world.turn()[1].startswith("promoted:"):
        pass
    world.primary.witness.reachable = True  # type: ignore[attr-defined]
    east, _ = world.turn()
    assert east.startswith("primary: self-fenced (the witness records a promotion to epoch 2")
    assert world.east.calls == ["stop"]


def test_a_standby_does_not_promote_while_the_lease_is_live(world: World) -> None:
    """The primary's guard died (no renewals) but its lease has time left: nothing happens until it lapses."""
    world.west.heartbeat = world.clock.now
    world.turn()
    died = world.primary.last_renewal  # its last renewal: the lease lapses ttl after it
    while world.clock.now < died + TIMING.ttl - 0.5:
        assert world.standby.step().startswith("standby: east holds the key")
        world.clock.now += 0.5
    world.clock.now = died + TIMING.ttl
    assert world.standby.step().startswith("promoted:")


@pytest.mark.parametrize(
    ("change", "decision"),
    [
        ({"healthy": False}, "standby: the key expired, but this cluster has no quorum: not promoting"),
        ({"heartbeat": 990.0}, "standby: data 10.0s behind the primary's last renewal (> maxLag): not promoting"),
        ({"heartbeat": None}, "standby: data infs behind the primary's last renewal (> maxLag): not promoting"),
        ({"is_paused": True}, "standby: paused, not promoting"),
    ],
)
def test_a_standby_refuses_to_promote(world: World, change: dict[str, Any], decision: str) -> None:
    world.west.heartbeat = world.clock.now
    world.turn()
    for name, value in change.items():
        setattr(world.west, name, value)
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    for _ in range(8):
        west = world.turn()[1]
    assert west == decision
    assert "promote" not in world.west.calls and world.witness.current() is None


def test_a_standby_that_never_saw_the_primary_renew_leaves_it_to_a_person(world: World) -> None:
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    for _ in range(8):
        west = world.turn()[1]
    assert west == "standby: the key expired before this guard saw the primary renew it: promote by hand"
    assert world.west.calls == []


def test_no_witness_no_promotion(world: World) -> None:
    world.west.heartbeat = world.clock.now
    world.turn()
    world.primary.witness.reachable = False  # type: ignore[attr-defined]
    world.standby.witness.reachable = False  # type: ignore[attr-defined]
    for _ in range(10):
        east, west = world.turn()
    assert west == "standby: the witness does not answer: no promotion without it"
    assert east.startswith("primary: self-fenced")  # the documented trade-off: safety over availability
    assert world.west.calls == []


def test_one_promotion_per_epoch_when_two_standbys_race(world: World) -> None:
    third = Guard(ScriptedBackend("standby"), "south", world.witness.client(), TIMING, world.clock)
    third_backend: ScriptedBackend = third.backend  # type: ignore[assignment]
    world.west.heartbeat = third_backend.heartbeat = world.clock.now
    world.turn()
    third.step()
    _cut_primary(world)
    decisions = []
    for _ in range(12):
        world.primary.step()
        decisions += [world.standby.step(), third.step()]
        world.clock.now += 0.5
    promoted = [d for d in decisions if d.startswith("promoted:")]
    assert len(promoted) == 1, decisions
    assert (world.west.calls, third_backend.calls).count(["promote"]) == 1


def test_a_stopped_promotion_keeps_the_key_and_resumes_next_turn(world: World) -> None:
    world.west.heartbeat = world.clock.now
    world.turn()
    _cut_primary(world)
    world.west.refuse = "the mirror into west could not be stopped: SSM command Failed"
    while "promote" not in world.west.calls:
        west = world.turn()[1]
    assert west.startswith("standby: holds the key, promotion stopped: the mirror into west could not be stopped")
    world.west.refuse = ""
    # It keeps the key it took (nobody else can promote meanwhile) and tries again once that lapses.
    for _ in range(TIMING.ttl + 2):
        if world.turn()[1].startswith("promoted:"):
            break
    assert world.west.calls == ["promote", "promote"]


def test_a_fenced_region_has_nothing_to_guard(world: World) -> None:
    world.east.region_role = "fenced"
    assert world.primary.step() == "fenced: nothing to guard"
    assert world.east.calls == []


def test_a_member_that_does_not_lead_fences_itself_when_its_leader_stops_renewing(world: World) -> None:
    """AWS: every member has a guard; the leader's renews, the others watch the key and keep their own fence."""
    member = Guard(ScriptedBackend("primary", leader=False), "east", world.witness.client(), TIMING, world.clock)
    calls: list[str] = member.backend.calls  # type: ignore[attr-defined]
    for _ in range(5):
        world.turn()
        assert member.step() == "primary: lease seen renewed by this region's leader"
    last_renewal = _cut_primary(world)
    while not member.step().startswith("primary: self-fenced"):
        world.turn(0.5)
    assert calls == ["stop"]
    assert last_renewal + TIMING.self_fence_after <= world.clock.now < last_renewal + TIMING.ttl
    assert world.witness.record is not None and world.witness.record["region"] == "east", "fenced after expiry"


def test_a_member_cut_off_alone_fences_itself_while_its_leader_renews(world: World) -> None:
    member = Guard(ScriptedBackend("primary", leader=False), "east", world.witness.client(), TIMING, world.clock)
    world.turn()
    member.step()
    member.witness.reachable = False  # type: ignore[attr-defined]
    decisions = []
    for _ in range(6):
        world.turn()
        decisions.append(member.step())
    assert decisions[-1].startswith("primary: self-fenced"), decisions
    assert world.east.calls == [] and member.backend.calls == ["stop"]  # type: ignore[attr-defined]


def test_a_standby_member_that_does_not_lead_leaves_promotion_to_the_leader(world: World) -> None:
    world.west.leader = False
    world.west.heartbeat = world.clock.now
    world.turn()
    _cut_primary(world)
    for _ in range(10):
        west = world.turn()[1]
    assert west == "standby: the key expired; promotion is for this region's leader's guard"
    assert world.west.calls == [] and world.witness.current() is None


def test_a_region_promoted_past_never_takes_an_expired_key_back(world: World) -> None:
    """The new primary's guard died too and the key lapsed: the old primary, back from its partition with its
    old epoch, must still not serve (the epoch record at the witness outlives the key)."""
    world.west.heartbeat = world.clock.now
    world.turn()
    _cut_primary(world)
    while not world.turn()[1].startswith("promoted:"):
        pass
    world.clock.now += TIMING.ttl + 1  # west's guard is gone: its lease lapses, the key is absent
    assert world.witness.current() is None and world.witness.promoted == 2
    world.primary.witness.reachable = True  # type: ignore[attr-defined]
    east = world.primary.step()
    assert east.startswith("primary: self-fenced (the witness records a promotion to epoch 2, this region has 1)")
    assert world.east.calls == ["stop"] and world.witness.current() is None


@pytest.mark.parametrize("revoke_after", [0.0, 3.0])
def test_a_standby_takes_the_key_only_once_the_lease_has_surely_lapsed(world: World, revoke_after: float) -> None:
    """etcd answers -1 for an expired lease and for one with under a second left, and deletes the key of an
    expired one lazily (seconds late): the standby must take the key neither early nor never."""
    world.witness.revoke_after = revoke_after
    world.west.heartbeat = world.clock.now
    world.turn()
    last_renewal = _cut_primary(world)
    while not world.turn(0.25)[1].startswith("promoted:"):
        assert world.clock.now < last_renewal + 3 * TIMING.ttl
    assert world.clock.now - 0.25 >= last_renewal + TIMING.ttl and world.witness.taken_alive == 0


def test_a_slow_promotion_does_not_leave_the_new_primary_overdue(world: World) -> None:
    """The engine may take most of the ttl (fencing over AWS, the first write): the new primary renews at
    once, so its next turn renews rather than fencing the region it has just promoted."""
    world.west.clock, world.west.promotion_takes = world.clock, TIMING.self_fence_after + 0.5
    world.west.heartbeat = world.clock.now
    world.turn()
    _cut_primary(world)
    while not world.turn()[1].startswith("promoted:"):
        pass
    assert world.standby.step() == "primary: lease renewed"
    assert world.west.calls == ["promote"]


def test_the_key_is_renewed_while_the_engine_runs(world: World) -> None:
    """A promotion longer than the lease (fencing over AWS's APIs) must not let the key lapse mid-way: the
    guard renews it on a thread while the engine runs. Here the engine returns only once it has seen the key
    renewed twice during its run (real time, a short loop_wait); without the keeper it would give up."""
    fast = Timing(ttl=1, loop_wait=0.05, retry_timeout=0.1)
    client = world.witness.client(ttl=1)
    renewed_during: list[int] = []

    class SlowEngine(ScriptedBackend):
        def promote(self) -> str:
            before = client.holds
            deadline = time.monotonic() + 5
            while client.holds < before + 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            renewed_during.append(client.holds - before)
            return super().promote()

    standby = Guard(SlowEngine("standby", heartbeat=world.clock.now), "west", client, fast, world.clock)
    world.standby = standby
    world.turn()
    _cut_primary(world)
    while not world.turn()[1].startswith("promoted:"):
        pass
    assert renewed_during[0] >= 2
    assert world.witness.record is not None and world.witness.record["region"] == "west"
    assert world.witness.record["epoch"] == 2 and world.witness.promoted == 2
