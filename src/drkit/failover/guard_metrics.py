"""What a guard tells about itself: a state file per region and Prometheus metrics.

The guard's loop calls `GuardReporter.report` after every turn (a hook, so the guard's decisions stay in
drkit.failover.guard). The reporter

- writes `<state>/guards/<region>.json` atomically (write, then rename): the decision in a sentence, its
  kind, the time, the epoch, the lease id at the witness, whether this guard holds the key and when it last
  renewed it. `drkit sandbox status` reads it;
- updates the metrics a `/metrics` endpoint serves (prometheus_client's HTTP server, in a thread). What the
  loop knows (lease, decisions, fenced) is set each turn; what needs the region's own members (epoch record,
  mirrored heartbeat, raft terms) is read when Prometheus scrapes, in the server's thread, so a slow or hung
  member never delays the loop whose timing keeps automatic promotion safe.

The alert rules over these metrics are policies/alerts/drkit-rules.yml; what each means:
docs/runbooks/failover.md#alerts.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from drkit.failover import registry

# What a decision sentence says, as one label value: the guard's sentences carry numbers and names, which
# would make a label of unbounded cardinality. First match wins.
DECISION_KINDS: tuple[tuple[str, str], ...] = (
    (r"^primary: lease renewed", "renewed"),
    (r"^primary: the witness answers again", "recovered"),
    (r"^primary: self-fenced", "self_fenced"),
    (r"^primary: not renewed", "not_renewed"),
    # A member that does not lead its region (AWS) watches the key its leader renews.
    (r"^primary: lease seen renewed", "watching"),
    (r"^primary: (the lease not seen|the witness does not answer)", "not_renewed"),
    (r"^standby: paused", "paused"),
    (r"^standby: the witness (does not answer|stopped answering)", "no_witness"),
    (r"^standby: holds the key, promotion stopped", "promotion_stopped"),
    (r"^standby: \S+ holds the key", "waiting"),
    (r"^standby: \S+'s lease has under a second left", "waiting"),
    (r"^standby: ", "not_promoting"),
    (r"^promoted: ", "promoted"),
    (r"^\S+: nothing to guard", "idle"),
    (r"^error: ", "error"),
)
KINDS = (*dict.fromkeys(kind for _, kind in DECISION_KINDS), "other")
# After these, this guard's lease holds the witness key (it has just been written under it).
HOLDING = frozenset({"renewed", "recovered", "promoted", "promotion_stopped"})


def decision_kind(decision: str) -> str:
    return next((kind for pattern, kind in DECISION_KINDS if re.match(pattern, decision)), "other")


@dataclass(frozen=True)
class RegionView:
    """What the reporter needs to know of the guard's place: the lab's saved plan here (the one function
    to replace for another control plane is `lab_view`)."""

    stack: str
    role: str
    members: dict[str, str]  # member name -> client URL
    epoch: int
    paused: bool
    max_lag_s: float  # replication.maxLag


def lab_view(lab_dir: Path, region: str) -> RegionView:
    from drkit.sandbox import roles
    from drkit.sandbox.plan import load_saved_plan

    plan = load_saved_plan(lab_dir)
    if plan is None:
        raise FileNotFoundError(f"no lab in {lab_dir}")
    where = plan.region(region)
    if where is None:
        raise KeyError(f"no region {region} in the lab")
    return RegionView(
        stack=plan.stack,
        role=where.role,
        members={member.name: member.client_url for member in where.members},
        epoch=roles.load_epoch(lab_dir),
        paused=(lab_dir / "guards" / "paused").exists(),
        max_lag_s=plan.max_lag_s,
    )


@dataclass
class GuardState:
    """One turn of a guard, as the state file holds it (JSON keys in camelCase, like status's)."""

    region: str
    decision: str
    at: float
    kind: str = "other"
    role: str = ""
    epoch: int | None = None
    leaseId: int | None = None  # noqa: N815  (the file's key)
    holdsLease: bool = False  # noqa: N815
    lastRenewal: float | None = None  # noqa: N815
    ttlLeft: float | None = None  # noqa: N815  (seconds, the witness key's lease as this guard last saw it)
    fenced: bool = False
    paused: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_state(lab_dir: Path, state: GuardState) -> None:
    """Atomically: a reader sees the previous turn or this one, never half a file."""
    directory = lab_dir / "guards"
    directory.mkdir(exist_ok=True)
    partial = directory / f"{state.region}.json.partial"
    partial.write_text(json.dumps(state.to_json()) + "\n")
    partial.replace(directory / f"{state.region}.json")


@dataclass
class _Snapshot:
    view: RegionView | None = None
    state: GuardState | None = None
    cluster: registry.Cluster | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class GuardMetrics:
    """The metrics of one guard, in their own registry (so tests and several guards in one process do not
    share series)."""

    def __init__(self, stack: str, region: str, clock: Callable[[], float] = time.time) -> None:
        self.labels = {"stack": stack, "region": region}
        self.clock = clock
        self.registry = CollectorRegistry()
        names = ["stack", "region"]

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, names, registry=self.registry)

        self.lease_held = gauge(
            "drkit_guard_lease_held",
            "1 while this guard's lease holds the witness key.",
        )
        self.ttl_left = gauge(
            "drkit_guard_lease_ttl_remaining_seconds",
            "Seconds left on the witness key's lease, as this guard last saw it (its own when it holds the key).",
        )
        self.last_renew = gauge(
            "drkit_guard_last_renew_timestamp_seconds",
            "Wall time this guard last wrote the witness key under its lease.",
        )
        self.last_decision = gauge(
            "drkit_guard_last_decision_timestamp_seconds",
            "Wall time of this guard's last turn: a loop that stopped turning leaves it behind.",
        )
        self.decisions = Counter(
            "drkit_guard_decisions",
            "Turns of the guard, by what it decided.",
            [*names, "decision"],
            registry=self.registry,
        )
        self.paused = gauge(
            "drkit_guard_paused",
            "1 while automatic promotion is paused (maintenance).",
        )
        self.fenced = gauge(
            "drkit_region_fenced",
            "1 while the region is fenced: self-fenced by its guard, or an old primary after a failover.",
        )
        self.primary = gauge(
            "drkit_region_primary",
            "1 while the region's role is primary (serving unless drkit_region_fenced says it fenced itself).",
        )
        self.lease_ttl = gauge(
            "drkit_guard_lease_ttl_seconds",
            "The TTL of the guard's lease at the witness.",
        )
        self.max_lag = gauge(
            "drkit_replication_max_lag_seconds",
            "replication.maxLag of the spec: how far behind a standby may be and still be promoted.",
        )
        for kind in KINDS:  # every label set from the start, so increase() sees the first decision of a kind
            self.decisions.labels(stack=stack, region=region, decision=kind)
        self._snapshot = _Snapshot()
        self.registry.register(_RegionCollector(self))

    def observe(self, view: RegionView, state: GuardState, lease_ttl: float) -> None:
        labels = self.labels
        self.lease_ttl.labels(**labels).set(lease_ttl)
        self.max_lag.labels(**labels).set(view.max_lag_s)
        self.lease_held.labels(**labels).set(1 if state.holdsLease else 0)
        if state.ttlLeft is not None:
            self.ttl_left.labels(**labels).set(state.ttlLeft)
        if state.lastRenewal is not None:
            self.last_renew.labels(**labels).set(state.lastRenewal)
        self.last_decision.labels(**labels).set(state.at)
        self.decisions.labels(**labels, decision=state.kind).inc()
        self.paused.labels(**labels).set(1 if state.paused else 0)
        self.fenced.labels(**labels).set(1 if state.fenced else 0)
        self.primary.labels(**labels).set(1 if view.role == "primary" else 0)
        with self._snapshot.lock:
            self._snapshot.view = view
            self._snapshot.state = state
            self._snapshot.cluster = registry.Cluster(self.labels["region"], tuple(view.members.values()))

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Serve /metrics from a daemon thread (it dies with the guard); returns what stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop


class _RegionCollector(Collector):
    """Read from the region's own members at scrape time: the epoch record its cluster holds, the age of
    the newest heartbeat mirrored into it (standbys only: on the primary it is its own), its raft terms."""

    def __init__(self, metrics: GuardMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []  # no describe: registering must not read from the members

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.metrics._snapshot
        with snapshot.lock:
            view, cluster = snapshot.view, snapshot.cluster
        if view is None or cluster is None:
            return
        stack, region = self.metrics.labels["stack"], self.metrics.labels["region"]
        epoch = GaugeMetricFamily(
            "drkit_region_epoch",
            "The failover epoch the region's own cluster holds at /drkit/epoch.",
            labels=["stack", "region"],
        )
        info = GaugeMetricFamily(
            "drkit_region_epoch_info",
            "The region's /drkit/epoch record: its epoch and the primary it names (two primaries named for one"
            " epoch is two promotions in it).",
            labels=["stack", "region", "epoch", "primary"],
        )
        record = None
        with contextlib.suppress(registry.RegistryError):
            record = registry.read_epoch(cluster, timeout=1.0)
        if record is not None:
            epoch.add_metric([stack, region], record.number)
            info.add_metric([stack, region, str(record.number), record.primary], 1)
        yield epoch
        yield info
        lag = GaugeMetricFamily(
            "drkit_mirror_lag_seconds",
            "Age of the newest primary heartbeat mirrored into this standby region (+Inf: none arrived yet).",
            labels=["stack", "region"],
        )
        if view.role == "standby":
            with contextlib.suppress(registry.RegistryError):
                beat = registry.read_heartbeat(cluster)
                lag.add_metric([stack, region], self.metrics.clock() - beat if beat is not None else float("inf"))
        yield lag
        terms = GaugeMetricFamily(
            "drkit_raft_term",
            "Each member's raft term (maintenance status raftTerm; etcd exports no term metric itself).",
            labels=["stack", "region", "member"],
        )
        by_url = registry.raft_terms(cluster, timeout=0.5)
        for name, url in view.members.items():
            if url in by_url:
                terms.add_metric([stack, region, name], by_url[url])
        yield terms


class GuardReporter:
    """The hook the guard's loop calls after each turn: state file, then metrics."""

    def __init__(self, lab_dir: Path, region: str, clock: Callable[[], float] = time.time) -> None:
        self.lab_dir = lab_dir
        self.region = region
        self.clock = clock
        self.metrics: GuardMetrics | None = None
        self.last_renewal: float | None = None

    def serve(self, host: str, port: int) -> Callable[[], None]:
        return self._metrics().serve(host, port)

    def _metrics(self) -> GuardMetrics:
        if self.metrics is None:
            self.metrics = GuardMetrics(lab_view(self.lab_dir, self.region).stack, self.region, self.clock)
        return self.metrics

    def report(self, guard: Any, decision: str, at: float) -> GuardState:
        """`guard` is a drkit.failover.guard.Guard; read, never changed."""
        kind = decision_kind(decision)
        try:
            view: RegionView | None = lab_view(self.lab_dir, self.region)
        except (OSError, ValueError, KeyError):
            view = None
        witness = getattr(guard, "witness", None)
        holds = kind in HOLDING
        if holds:
            self.last_renewal = at
        ttl_left = None
        if witness is not None:
            seen, seen_at = (witness.own_ttl, witness.own_ttl_at) if holds else (witness.read_ttl, witness.read_ttl_at)
            if seen is not None:
                ttl_left = max(0.0, seen - (at - seen_at)) if seen >= 0 else 0.0
        state = GuardState(
            region=self.region,
            decision=decision,
            at=at,
            kind=kind,
            role=view.role if view else "",
            epoch=view.epoch if view else None,
            leaseId=(witness.lease or None) if witness is not None else None,
            holdsLease=holds,
            lastRenewal=self.last_renewal,
            ttlLeft=ttl_left,
            fenced=bool(getattr(guard, "self_fenced", False)) or (view is not None and view.role == "fenced"),
            paused=view.paused if view else False,
        )
        write_state(self.lab_dir, state)
        if view is not None:
            timing = getattr(guard, "timing", None)
            self._metrics().observe(view, state, float(getattr(timing, "ttl", 0)))
        return state
