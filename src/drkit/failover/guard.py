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

    python -m drkit.failover.guard --state-dir DIR --region REGION [--ttl 5] [--loop-wait 1] [--metrics-address H:P]

After each turn the guard reports (drkit.failover.guard_metrics): its state file for `drkit sandbox status`,
and Prometheus metrics on --metrics-address for the alert rules in policies/alerts/.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drkit.failover import registry
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.guard_metrics import GuardReporter
from drkit.failover.lab import lab_deployment
from drkit.operate.collection import Gateway, GatewayError, b64
from drkit.sandbox.lab import Lab

PAUSED = "paused"


def witness_key(stack: str) -> str:
    return f"/drkit/witness/{stack}/primary"


@dataclass(frozen=True)
class Timing:
    ttl: int = 5
    loop_wait: float = 1.0
    retry_timeout: float = 1.0

    def check(self) -> None:
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError(
                f"loop_wait {self.loop_wait:g}s + 2 x retry_timeout {self.retry_timeout:g}s must not exceed the ttl"
                f" {self.ttl}s: the primary could not notice a lost lease before the standby may promote"
            )

    @property
    def self_fence_after(self) -> float:
        """Seconds without a renewal after which the primary stops its members: before the witness's lease
        (renewed at the same moment) can expire, with two retry timeouts to spare."""
        return self.ttl - 2 * self.retry_timeout


class Witness:
    """The witness key over etcd's gateway: read, take (if absent), renew (if ours)."""

    def __init__(self, url: str, stack: str, timing: Timing) -> None:
        self.gateway = Gateway(url, timeout=timing.retry_timeout)
        self.key = witness_key(stack)
        self.timing = timing
        self.lease = 0
        self.seen_revision = 0  # the key's mod_revision when last read (0: absent)
        # The TTL the witness last reported, and when (for status and metrics, drkit.failover.guard_metrics):
        # of the key's lease on a read, of this guard's own lease on a keep-alive or grant.
        self.read_ttl: int | None = None
        self.read_ttl_at = 0.0
        self.own_ttl: int | None = None
        self.own_ttl_at = 0.0

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
        put = {"request_put": {"key": key, "value": b64(json.dumps(record).encode()), "lease": str(self.lease)}}
        same = {"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": str(self.seen_revision)}
        return bool(self.gateway.call("/v3/kv/txn", {"compare": [same], "success": [put]}).get("succeeded"))

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
        put = {"request_put": {"key": key, "value": b64(json.dumps(record).encode()), "lease": str(self.lease)}}
        absent = {"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        ours = {"key": key, "target": "LEASE", "result": "EQUAL", "lease": str(self.lease)}
        for compare in (absent, ours):
            if self.gateway.call("/v3/kv/txn", {"compare": [compare], "success": [put]}).get("succeeded"):
                return True
        # A record of this very region under another lease: this guard's earlier life (restarted since).
        # Take it over, unless it changed since it was read.
        kvs = self.gateway.call("/v3/kv/range", {"key": key}).get("kvs", [])
        if kvs and json.loads(base64.b64decode(kvs[0].get("value", ""))).get("region") == record["region"]:
            same = {"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": kvs[0]["mod_revision"]}
            return bool(self.gateway.call("/v3/kv/txn", {"compare": [same], "success": [put]}).get("succeeded"))
        return False


@dataclass
class Guard:
    lab_dir: Path
    region: str
    timing: Timing = field(default_factory=Timing)
    clock: Callable[[], float] = time.time
    last_renewal: float = 0.0  # when this guard last held the key (primary)
    primary_seen_alive: float | None = None  # the primary's newest renewal time seen at the witness (standby)
    self_fenced: bool = False
    witness: Witness | None = None

    def lab(self) -> Lab:
        return Lab.existing(self.lab_dir)

    def step(self) -> str:
        """One turn of the loop; returns the decision, in a sentence."""
        lab = self.lab()
        plan = lab.plan
        if self.witness is None:
            self.witness = Witness(plan.witness_url_for(self.region), plan.stack, self.timing)
            self.last_renewal = self.clock()
        role = next(region.role for region in plan.regions if region.name == self.region)
        if role == "primary":
            return self._as_primary(lab)
        if role == "standby":
            return self._as_standby(lab)
        return f"{role}: nothing to guard"

    def _own(self, lab: Lab) -> registry.Cluster:
        region = lab.plan.region(self.region)
        assert region is not None
        return registry.Cluster(self.region, tuple(member.client_url for member in region.members))

    def _as_primary(self, lab: Lab) -> str:
        assert self.witness is not None
        now = self.clock()
        if not self.self_fenced and now - self.last_renewal >= self.timing.self_fence_after:
            # Overdue: fence first, before spending up to retry_timeout on another renewal attempt.
            return self._fence(lab, f"no renewal for {now - self.last_renewal:.1f}s")
        healthy = registry.health(self._own(lab), timeout=self.timing.retry_timeout / 2).has_quorum
        held = None
        if healthy or self.self_fenced:
            record = {"region": self.region, "at": now, "epoch": _epoch(lab)}
            try:
                held = self.witness.hold(record)
            except GatewayError:
                held = None  # the witness did not answer
        if held:
            self.last_renewal = now
            if self.self_fenced:
                self._members(lab, start=True)
                self.self_fenced = False
                return "primary: the witness answers again and nobody took the key: members started"
            return "primary: lease renewed"
        if held is False:
            return self._fence(lab, "another region holds the key at the witness")
        if now - self.last_renewal >= self.timing.self_fence_after:
            why = "cluster unhealthy" if not healthy else "the witness does not answer"
            return self._fence(lab, f"no renewal for {now - self.last_renewal:.1f}s ({why})")
        return f"primary: not renewed for {now - self.last_renewal:.1f}s ({'unhealthy' if not healthy else 'witness'})"

    def _fence(self, lab: Lab, why: str) -> str:
        if not self.self_fenced:
            self._members(lab, start=False)
            self.self_fenced = True
        return f"primary: self-fenced ({why}): members stopped before the lease can expire"

    def _members(self, lab: Lab, start: bool) -> None:
        region = lab.plan.region(self.region)
        assert region is not None
        for member in region.members:
            if start:
                lab.supervisor.start_program(member.program, wait=False)
            else:
                lab.supervisor.stop_program(member.program)

    def _as_standby(self, lab: Lab) -> str:
        assert self.witness is not None
        if (lab.paths.root / "guards" / PAUSED).exists():
            return "standby: paused, not promoting"
        try:
            record, left = self.witness.read()
        except (GatewayError, ValueError):
            return "standby: the witness does not answer: no promotion without it"
        expired = record is not None and left < 0
        if record is not None and not expired:
            if record.get("region") != self.region:
                self.primary_seen_alive = float(record.get("at", 0))
            return f"standby: {record.get('region')} holds the key ({left}s left)"
        own = self._own(lab)
        if not registry.health(own, timeout=self.timing.retry_timeout).has_quorum:
            return "standby: the key expired, but this cluster has no quorum: not promoting"
        if self.primary_seen_alive is None:
            return "standby: the key expired before this guard saw the primary renew it: promote by hand"
        heartbeat = registry.read_heartbeat(own)
        behind = self.primary_seen_alive - heartbeat if heartbeat is not None else float("inf")
        if behind > lab.plan.max_lag_s:
            return f"standby: data {behind:.1f}s behind the primary's last renewal (> maxLag): not promoting"
        mine = {"region": self.region, "at": self.clock(), "epoch": _epoch(lab) + 1, "promoting": True}
        try:
            taken = self.witness.take_expired(mine) if expired else self.witness.hold(mine)
            if not taken:
                return "standby: another region took the key first"
        except GatewayError:
            return "standby: the witness stopped answering: not promoting"
        self.last_renewal = self.clock()
        deployment = lab_deployment(lab, through_endpoint=False)
        try:
            report = carry_out(deployment, Request("failover", self.region, confirm=True), lambda _: None)
        except (FailoverRefusedError, registry.RegistryError) as error:
            return f"standby: holds the key, promotion stopped: {error} (the next turn resumes it)"
        return f"promoted: {report.message} ({behind:.1f}s of data behind at most)"


def _epoch(lab: Lab) -> int:
    from drkit.sandbox import roles

    return roles.load_epoch(lab.paths.root)


def record_decision(lab_dir: Path, region: str, decision: str, at: float) -> None:
    directory = lab_dir / "guards"
    directory.mkdir(exist_ok=True)
    partial = directory / f"{region}.json.partial"
    partial.write_text(json.dumps({"region": region, "decision": decision, "at": at}) + "\n")
    partial.replace(directory / f"{region}.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drkit-guard", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True, help="The lab's state dir.")
    parser.add_argument("--region", required=True)
    parser.add_argument("--ttl", type=int, default=5)
    parser.add_argument("--loop-wait", type=float, default=1.0)
    parser.add_argument("--retry-timeout", type=float, default=1.0)
    parser.add_argument(
        "--metrics-address", metavar="HOST:PORT", help="Serve Prometheus metrics at http://HOST:PORT/metrics."
    )
    args = parser.parse_args(argv)
    timing = Timing(args.ttl, args.loop_wait, args.retry_timeout)
    try:
        timing.check()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    guard = Guard(args.state_dir, args.region, timing)
    reporter = GuardReporter(args.state_dir, args.region)
    if args.metrics_address:
        host, _, port = args.metrics_address.rpartition(":")
        try:
            reporter.serve(host or "127.0.0.1", int(port))
        except (OSError, ValueError, KeyError) as error:  # guarding matters more than being watched: go on
            print(f"metrics not served on {args.metrics_address}: {error}", file=sys.stderr, flush=True)
    last = ""
    while True:
        started = time.monotonic()
        try:
            decision = guard.step()
        except Exception as error:
            decision = f"error: {type(error).__name__}: {error}"
        try:
            reporter.report(guard, decision, time.time())
        except Exception as error:  # reporting must never stop the guard: keep the bare decision at least
            record_decision(args.state_dir, args.region, f"{decision} (not reported: {error})", time.time())
        if decision != last:
            print(f"{time.strftime('%H:%M:%S')} {decision}", flush=True)
            last = decision
        time.sleep(max(0.0, timing.loop_wait - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main())
