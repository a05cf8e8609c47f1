"""The guard next to a region's members: automatic promotion without split brain, through a witness.

Two regions cannot tell a dead primary from a cut link, so neither decides alone: a witness in a third place
holds one key, `/drkit/witness/<stack>/primary`, bound to a TTL lease (Patroni's leader key in its DCS;
Gardener GEP-17's owner record). The rules, checked every `loop_wait`:

- The primary's guard renews the key while its own cluster is healthy. If it cannot renew for
  `ttl - 2 x retry_timeout`, it stops its own members (self-fence) before the lease can expire at the
  witness, because after that the standby may promote. When it can renew again and nobody else took the key,
  it starts them again. (Patroni: loop_wait + 2 x retry_timeout <= ttl.)
- A standby's guard promotes only when the key is gone (the primary's lease expired at the witness), its own
  cluster is healthy, and its data was within `replication.maxLag` of the primary's last renewal (the newest
  mirrored heartbeat against the renewal time the witness recorded). It takes the key first, by
  compare-and-swap on the key not existing, so one promotion per epoch, then runs the failover engine
  (fence the old primary with what is reachable, stop the mirror, re-bind leases, epoch, endpoint).
- No witness, no promotion: a standby that cannot reach it waits. The primary's guard cannot tell "the
  witness is down" from "I am cut off from it", so it self-fences in both cases: safety first (Patroni's
  default). A witness outage longer than the TTL therefore stops writes; run it in three places in
  production, and pause the guards (`drkit sandbox guards pause`) for witness maintenance.

These decisions (Guard.step) are one piece of code for every place a stack runs; what they ask of that place
is the GuardBackend interface: the lab's is drkit.failover.guard_lab (supervisord, the lab's files), AWS's
is drkit.failover.guard_aws (systemd on the member, the failover engine over boto3).

The lab's guard:

    python -m drkit.failover.guard --state-dir DIR --region REGION [--ttl 5] [--loop-wait 1] [--metrics-address H:P]

After each turn the lab's guard reports (drkit.failover.guard_metrics): its state file for `drkit sandbox
status`, and Prometheus metrics on --metrics-address for the alert rules in policies/alerts/.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from drkit import lease_timing
from drkit.operate.collection import Gateway, GatewayError, b64

PAUSED = "paused"
LAPSING = 1.0  # seconds a lease must read expired (-1) before it is taken: etcd's -1 also means "under 1 s"


def witness_key(stack: str) -> str:
    return f"/drkit/witness/{stack}/primary"


def witness_epoch_key(stack: str) -> str:
    """The newest epoch a guard promoted to, kept at the witness without a lease: it outlives the primary key,
    so a region that was failed over cannot take an expired key back and serve again as primary."""
    return f"/drkit/witness/{stack}/epoch"


@dataclass(frozen=True)
class Timing:
    ttl: int = 5
    loop_wait: float = 1.0
    retry_timeout: float = 1.0

    def check(self) -> None:
        if not lease_timing.fits(self.ttl, self.loop_wait, self.retry_timeout):
            raise ValueError(
                f"loop_wait {self.loop_wait:g}s + 2 x retry_timeout {self.retry_timeout:g}s must not exceed the ttl"
                f" {self.ttl}s: the primary could not notice a lost lease before the standby may promote"
            )

    @property
    def self_fence_after(self) -> float:
        """Seconds without a renewal after which the primary stops its members: before the witness's lease
        (renewed at the same moment) can expire, with two retry timeouts to spare."""
        return lease_timing.self_fence_after(self.ttl, self.retry_timeout)


class Witness:
    """The witness key over etcd's gateway: read, take (if absent), renew (if ours).

    urls: the witness's client URLs (one member on the lab; a cluster across three places in production),
    tried in order; the first that answers serves (a follower forwards writes to its leader). TLS files as
    for any etcd client (cacert, cert, key)."""

    def __init__(
        self,
        urls: str | Sequence[str],
        stack: str,
        timing: Timing,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
    ) -> None:
        listed = (urls,) if isinstance(urls, str) else tuple(urls)
        self.gateway = _FirstAnswering(
            [
                Gateway(url, timeout=timing.retry_timeout / len(listed), cacert=cacert, cert=cert, key=key)
                for url in listed
            ]
        )
        self.key = witness_key(stack)
        self.epoch_key = witness_epoch_key(stack)
        self.timing = timing
        self.lease = 0
        self.seen_revision = 0  # the key's mod_revision when last read (0: absent)
        # The TTL the witness last reported, and when (for status and metrics, drkit.failover.guard_metrics):
        # of the key's lease on a read, of this guard's own lease on a keep-alive or grant.
        self.read_ttl: int | None = None
        self.read_ttl_at = 0.0
        self.own_ttl: int | None = None
        self.own_ttl_at = 0.0

    def promoted_epoch(self) -> int:
        """The newest epoch a guard promoted to (0: none yet)."""
        kvs = self.gateway.call("/v3/kv/range", {"key": b64(self.epoch_key.encode())}).get("kvs", [])
        return int(json.loads(base64.b64decode(kvs[0].get("value", ""))).get("epoch", 0)) if kvs else 0

    def _puts(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The writes of a take: the record under our lease, and a promotion's epoch beside it, in the same
        transaction (so the epoch is recorded exactly when the promotion won the key)."""
        key = b64(self.key.encode())
        puts = [{"request_put": {"key": key, "value": b64(json.dumps(record).encode()), "lease": str(self.lease)}}]
        if record.get("promoting"):
            value = json.dumps({"epoch": record["epoch"], "primary": record["region"], "at": record["at"]})
            puts.append({"request_put": {"key": b64(self.epoch_key.encode()), "value": b64(value.encode())}})
        return puts

    def read(self) -> tuple[dict[str, Any] | None, int]:
        """The record (None when the key is gone) and the seconds its lease has left (-1: expired)."""
        result = self.gateway.call("/v3/kv/range", {"key": b64(self.key.encode())})
        kvs = result.get("kvs", [])
        if not kvs:
            self.seen_revision = 0
            self.read_ttl, self.read_ttl_at = 0, time.time()
            return None, 0
        self.seen_revision = int(kvs[0]["mod_revision"])
        record = json.loads(base64.b64decode(kvs[0].get("value", "")))
        lease = int(kvs[0].get("lease", 0) or 0)
        left = int(self.gateway.call("/v3/lease/timetolive", {"ID": str(lease)}).get("TTL", -1)) if lease else -1
        self.read_ttl, self.read_ttl_at = left, time.time()
        return record, left

    def take_expired(self, record: dict[str, Any]) -> bool:
        """Take a key whose lease the witness reports expired (its holder can no longer renew it) but has not
        revoked yet: etcd revokes expired leases lazily, sometimes many seconds late. Only if nobody wrote
        the key since it was read (compare on its mod_revision)."""
        self._ensure_lease()
        key = b64(self.key.encode())
        same = {"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": str(self.seen_revision)}
        return bool(
            self.gateway.call("/v3/kv/txn", {"compare": [same], "success": self._puts(record)}).get("succeeded")
        )

    def _ensure_lease(self) -> None:
        if self.lease:
            alive = self.gateway.call("/v3/lease/keepalive", {"ID": str(self.lease)}).get("result", {})
            if int(alive.get("TTL", 0) or 0) > 0:
                self.own_ttl, self.own_ttl_at = int(alive["TTL"]), time.time()
                return
        self.lease = self.gateway.grant(self.timing.ttl)
        self.own_ttl, self.own_ttl_at = self.timing.ttl, time.time()

    def hold(self, record: dict[str, Any]) -> bool:
        """Write the record if the key is absent or already ours; False when another region holds it."""
        self._ensure_lease()
        key = b64(self.key.encode())
        put = self._puts(record)
        absent = {"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        ours = {"key": key, "target": "LEASE", "result": "EQUAL", "lease": str(self.lease)}
        for compare in (absent, ours):
            if self.gateway.call("/v3/kv/txn", {"compare": [compare], "success": put}).get("succeeded"):
                return True
        # A record of this very region under another lease: this guard's earlier life (restarted since).
        # Take it over, unless it changed since it was read.
        kvs = self.gateway.call("/v3/kv/range", {"key": key}).get("kvs", [])
        if kvs and json.loads(base64.b64decode(kvs[0].get("value", ""))).get("region") == record["region"]:
            same = {"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": kvs[0]["mod_revision"]}
            return bool(self.gateway.call("/v3/kv/txn", {"compare": [same], "success": put}).get("succeeded"))
        return False


class _FirstAnswering:
    """Several gateways as one: each call goes to the first that answers (the witness's members)."""

    def __init__(self, gateways: list[Gateway]) -> None:
        self.gateways = gateways

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        errors = []
        for gateway in self.gateways:
            try:
                return gateway.call(path, body)
            except GatewayError as error:
                errors.append(str(error))
        raise GatewayError("; ".join(errors) or "no witness URL")

    def grant(self, ttl: int) -> int:
        result = self.call("/v3/lease/grant", {"TTL": str(ttl)})
        return int(result["ID"])


class PromotionStoppedError(Exception):
    """The failover engine refused or stopped part way; the guard keeps the key and the next turn resumes."""


class GuardBackend(Protocol):
    """What the guard's decisions need from the place its region runs (the lab: supervisord and the lab's
    files, drkit.failover.guard_lab; AWS: systemd on the member and boto3, drkit.failover.guard_aws). The
    decisions themselves (Guard.step) are the same code everywhere."""

    @property
    def max_lag(self) -> float:
        """replication.maxLag, in seconds: how far behind the primary's last renewal a standby may promote."""
        ...

    def refresh(self) -> None:
        """Read the deployment's state afresh for this turn: roles and epoch may have changed under the guard
        (a person ran `drkit failover`, the guard of another region promoted)."""
        ...

    def role(self) -> str:
        """This region's role: primary, standby or fenced."""
        ...

    def epoch(self) -> int:
        """The deployment's current failover epoch, as this region knows it."""
        ...

    def paused(self) -> bool:
        """Maintenance: a standby's guard does not promote while this is true."""
        ...

    def leads(self) -> bool:
        """Whether this guard speaks for its region: renews the key, promotes. The lab's one guard per region
        always does; on AWS every member has a guard and only the one on the region's etcd leader does. The
        others keep only their own fence: they watch the key their leader renews."""
        ...

    def own_healthy(self, timeout: float) -> bool:
        """Whether this region's own cluster has quorum."""
        ...

    def stop_own_members(self) -> None:
        """Self-fence: stop this region's members this guard is responsible for."""
        ...

    def start_own_members(self) -> None:
        """Undo the self-fence (the witness answers again and nobody else took the key)."""
        ...

    def newest_heartbeat(self) -> float | None:
        """The primary's wall time in the newest heartbeat this (standby) region holds, mirrored."""
        ...

    def promote(self) -> str:
        """Run the failover engine to make this region the primary (fence the old one first, with what is
        reachable); returns the engine's message. Raises PromotionStoppedError when it refused or stopped."""
        ...


class WitnessStore(Protocol):
    """The witness key as the guard uses it (Witness over etcd's gateway; tests script it)."""

    def read(self) -> tuple[dict[str, Any] | None, int]: ...

    def hold(self, record: dict[str, Any]) -> bool: ...

    def take_expired(self, record: dict[str, Any]) -> bool: ...

    def promoted_epoch(self) -> int: ...


@dataclass
class Guard:
    backend: GuardBackend
    region: str
    witness: WitnessStore
    timing: Timing = field(default_factory=Timing)
    clock: Callable[[], float] = time.time
    last_renewal: float = 0.0  # when this guard last held the key (primary); starts at the guard's start
    primary_seen_alive: float | None = None  # the primary's newest renewal time seen at the witness (standby)
    self_fenced: bool = False
    holds_key: bool = False  # the last attempt to hold the key succeeded (a renewal, not a take)
    lapsing: tuple[float, float] | None = None  # (the holder's renewal time, when its lease first read -1)

    def __post_init__(self) -> None:
        # A guard that just started counts from now: a primary it cannot renew for is fenced after
        # self_fence_after, as if it had renewed at its start.
        self.last_renewal = self.last_renewal or self.clock()

    def step(self) -> str:
        """One turn of the loop; returns the decision, in a sentence."""
        self.backend.refresh()
        role = self.backend.role()
        if role == "primary":
            # A self-fenced member tries to take the key back itself: with every member stopped there is no
            # leader to do it.
            return self._as_primary() if self.backend.leads() or self.self_fenced else self._as_primary_member()
        if role == "standby":
            return self._as_standby()
        return f"{role}: nothing to guard"

    def _as_primary(self) -> str:
        now = self.clock()
        if not self.self_fenced and now - self.last_renewal >= self.timing.self_fence_after:
            # Overdue: fence first, before spending up to retry_timeout on another renewal attempt.
            return self._fence(f"no renewal for {now - self.last_renewal:.1f}s")
        healthy = self.backend.own_healthy(timeout=self.timing.retry_timeout / 2)
        held = None
        refused = "another region holds the key at the witness"
        if healthy or self.self_fenced:
            record = {"region": self.region, "at": now, "epoch": self.backend.epoch()}
            try:
                promoted = 0 if self.holds_key else self.witness.promoted_epoch()
                if promoted > self.backend.epoch():
                    # A guard promoted another region past our epoch: this region was failed over, and an
                    # expired key must not let it serve again (failback re-seeds it).
                    held = False
                    refused = (
                        f"the witness records a promotion to epoch {promoted}, this region has {self.backend.epoch()}"
                    )
                else:
                    held = self.witness.hold(record)
            except GatewayError:
                held = None  # the witness did not answer
        self.holds_key = bool(held)
        if held:
            self.last_renewal = now
            if self.self_fenced:
                self.backend.start_own_members()
                self.self_fenced = False
                return "primary: the witness answers again and nobody took the key: members started"
            return "primary: lease renewed"
        if held is False:
            return self._fence(refused)
        if now - self.last_renewal >= self.timing.self_fence_after:
            why = "cluster unhealthy" if not healthy else "the witness does not answer"
            return self._fence(f"no renewal for {now - self.last_renewal:.1f}s ({why})")
        return f"primary: not renewed for {now - self.last_renewal:.1f}s ({'unhealthy' if not healthy else 'witness'})"

    def _as_primary_member(self) -> str:
        """A member that does not speak for its region keeps its own fence: it must see the key its leader
        renews, or it stops its own members in time, as the leader's guard would (the leader may be the one
        that still reaches the witness while this member cannot)."""
        now = self.clock()
        self.holds_key = False  # not renewing: should it lead later, its first hold checks the epoch again
        if now - self.last_renewal >= self.timing.self_fence_after:
            return self._fence(f"the lease not seen renewed for {now - self.last_renewal:.1f}s")
        try:
            record, left = self.witness.read()
        except (GatewayError, ValueError):
            return f"primary: the witness does not answer ({now - self.last_renewal:.1f}s since the lease was seen)"
        if record is not None and record.get("region") == self.region and left > 0:
            # The lease lapses no sooner than `left` seconds after this read was sent: as good as a renewal at
            # now + left - ttl, so this member fences at the same margin before expiry as the leader.
            self.last_renewal = max(self.last_renewal, now + left - self.timing.ttl)
            return "primary: lease seen renewed by this region's leader"
        if record is not None and record.get("region") != self.region:
            return self._fence(f"{record.get('region')} holds the key at the witness")
        return f"primary: the lease not seen for {now - self.last_renewal:.1f}s"

    def _fence(self, why: str) -> str:
        self.holds_key = False
        if not self.self_fenced:
            self.backend.stop_own_members()
            self.self_fenced = True
        return f"primary: self-fenced ({why}): members stopped before the lease can expire"

    def _as_standby(self) -> str:
        if self.backend.paused():
            return "standby: paused, not promoting"
        try:
            record, left = self.witness.read()
        except (GatewayError, ValueError):
            return "standby: the witness does not answer: no promotion without it"
        expired = record is not None and left < 0
        if record is not None and not expired:
            self.lapsing = None
            if record.get("region") != self.region:
                self.primary_seen_alive = float(record.get("at", 0))
            return f"standby: {record.get('region')} holds the key ({left}s left)"
        if record is not None:
            # etcd answers TTL -1 for an expired lease and also for one with under a second left (it truncates
            # the remaining time, and reports no 0): only a second after the first such answer about this very
            # renewal is the holder's lease surely gone.
            now = self.clock()
            renewal = float(record.get("at", 0))
            if self.lapsing is None or self.lapsing[0] != renewal:
                self.lapsing = (renewal, now)
            if now - self.lapsing[1] < LAPSING:
                return f"standby: {record.get('region')}'s lease has under a second left"
        if not self.backend.own_healthy(timeout=self.timing.retry_timeout):
            return "standby: the key expired, but this cluster has no quorum: not promoting"
        if self.primary_seen_alive is None:
            return "standby: the key expired before this guard saw the primary renew it: promote by hand"
        heartbeat = self.backend.newest_heartbeat()
        behind = self.primary_seen_alive - heartbeat if heartbeat is not None else float("inf")
        if behind > self.backend.max_lag:
            return f"standby: data {behind:.1f}s behind the primary's last renewal (> maxLag): not promoting"
        if not self.backend.leads():
            return "standby: the key expired; promotion is for this region's leader's guard"
        mine = {"region": self.region, "at": self.clock(), "epoch": self.backend.epoch() + 1, "promoting": True}
        try:
            taken = self.witness.take_expired(mine) if expired else self.witness.hold(mine)
            if not taken:
                return "standby: another region took the key first"
        except GatewayError:
            return "standby: the witness stopped answering: not promoting"
        self.last_renewal = self.clock()
        self.holds_key = True
        keeper = _LeaseKeeper(self.witness, {"region": self.region, "epoch": mine["epoch"]}, self.timing, self.clock)
        try:
            with keeper:
                message = self.backend.promote()
        except PromotionStoppedError as error:
            return f"standby: holds the key, promotion stopped: {error} (the next turn resumes it)"
        finally:
            self.last_renewal = max(self.last_renewal, keeper.last_renewal)
        # The engine can take seconds (fencing, the first write): renew now, or the new primary's next turn
        # would find itself overdue and fence the region it just promoted.
        try:
            if self.witness.hold({"region": self.region, "at": self.clock(), "epoch": self.backend.epoch()}):
                self.last_renewal = self.clock()
        except GatewayError:
            pass  # the next turn renews, or fences if it still cannot
        return f"promoted: {message} ({behind:.1f}s of data behind at most)"


class _LeaseKeeper:
    """Renews the key every loop_wait on a thread while the failover engine runs: fencing over AWS's APIs and
    the first write can outlast the lease, and a key that lapses mid-promotion is one a third region's guard
    could take. Only this thread uses the witness meanwhile (the engine never does); a renewal that fails is
    left to the guard's next turn, which fences the new primary if it still cannot renew."""

    def __init__(
        self, witness: WitnessStore, record: dict[str, Any], timing: Timing, clock: Callable[[], float]
    ) -> None:
        self._witness, self._record, self._every, self._clock = witness, record, timing.loop_wait, clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="lease-keeper", daemon=True)
        self.last_renewal = 0.0
        self.renewals = 0

    def _renew(self) -> None:
        while not self._done.wait(self._every):
            try:
                if self._witness.hold({**self._record, "at": self._clock()}):
                    self.last_renewal, self.renewals = self._clock(), self.renewals + 1
            except (GatewayError, ValueError):
                pass

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


def run(guard: Guard, record: Callable[[str, float], None], sleep: Callable[[float], None] = time.sleep) -> None:
    """The guard's loop, wherever it runs: a turn every loop_wait, each decision recorded, each change of
    decision printed (the log keeps every change; a promotion's decision lasts under a second)."""
    last = ""
    while True:
        started = time.monotonic()
        try:
            decision = guard.step()
        except Exception as error:
            decision = f"error: {type(error).__name__}: {error}"
        record(decision, time.time())
        if decision != last:
            print(f"{time.strftime('%H:%M:%S')} {decision}", flush=True)
            last = decision
        sleep(max(0.0, guard.timing.loop_wait - (time.monotonic() - started)))


def log_engine_step(line: str) -> None:
    """A promotion's engine steps in the guard's log (supervisord's on the lab, the journal on AWS), each with
    its duration: what a person reads to see what an automatic promotion did, and where its time went."""
    print(f"{time.strftime('%H:%M:%S')} engine: {line}", flush=True)


def record_decision(lab_dir: Path, region: str, decision: str, at: float) -> None:
    directory = lab_dir / "guards"
    directory.mkdir(parents=True, exist_ok=True)  # a member's first turn: /var/lib/drkit/guard may not exist
    partial = directory / f"{region}.json.partial"
    partial.write_text(json.dumps({"region": region, "decision": decision, "at": at}) + "\n")
    partial.replace(directory / f"{region}.json")


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """--ttl, --loop-wait, --retry-timeout: every guard's lease timing (the spec's recovery.witness)."""
    parser.add_argument("--ttl", type=int, default=5)
    parser.add_argument("--loop-wait", type=float, default=1.0)
    parser.add_argument("--retry-timeout", type=float, default=1.0)


def timing_from(args: argparse.Namespace) -> Timing | None:
    """The parsed timing, or None after saying why it breaks Patroni's rule (the caller exits 2)."""
    timing = Timing(args.ttl, args.loop_wait, args.retry_timeout)
    try:
        timing.check()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    return timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drkit-guard", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True, help="The lab's state dir.")
    parser.add_argument("--region", required=True)
    add_timing_arguments(parser)
    parser.add_argument(
        "--metrics-address", metavar="HOST:PORT", help="Serve Prometheus metrics at http://HOST:PORT/metrics."
    )
    args = parser.parse_args(argv)
    timing = timing_from(args)
    if timing is None:
        return 2
    from drkit.failover.guard_lab import lab_guard
    from drkit.failover.guard_metrics import GuardReporter

    guard = lab_guard(args.state_dir, args.region, timing)
    reporter = GuardReporter(args.state_dir, args.region)
    if args.metrics_address:
        host, _, port = args.metrics_address.rpartition(":")
        try:
            reporter.serve(host or "127.0.0.1", int(port))
        except (OSError, ValueError, KeyError) as error:  # guarding matters more than being watched: go on
            print(f"metrics not served on {args.metrics_address}: {error}", file=sys.stderr, flush=True)

    def report(decision: str, at: float) -> None:
        try:
            reporter.report(guard, decision, at)
        except Exception as error:  # reporting must never stop the guard: keep the bare decision at least
            record_decision(args.state_dir, args.region, f"{decision} (not reported: {error})", at)

    run(guard, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
