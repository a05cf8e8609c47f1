"""One drill run's workload and its reading-back: every drill kind starts a Session, breaks something, lets
it recover, and asks the Session to measure, so all of them judge recovery by the same workload and core.

The workload is drkit.drill.workload's: a ledger writing through the endpoint at a fixed rate (every attempt
kept), and leased registrations, some of whose instances are dead from the start and must expire.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from drkit.drill import measure
from drkit.drill.hashkv import hash_kv
from drkit.drill.result import OBJECTIVE_OF, DrillRun, Marker
from drkit.drill.workload import Ledger, Registry
from drkit.sandbox import etcd_client
from drkit.sandbox.etcd_client import EtcdUnavailableError
from drkit.sandbox.lab import Lab
from drkit.spec.model import Spec

Progress = Callable[[str], None]
INSTANCES = 6
DEAD_INSTANCES = 2
RATE = 20.0  # writes per second: one every 50 ms, fine enough for RTOs of a second or more
WRITE_TIMEOUT = 0.5  # a write stuck on a dead server must not hide for long how soon another one answers
CONVERGE_TIMEOUT = 20.0


class DrillError(Exception):
    """A step of the drill itself failed (not a missed objective): the message says which and where to look.
    exit_code 2: the lab or spec cannot run this drill (unusable input); 1: the drill broke down."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Session:
    def __init__(self, lab: Lab, spec: Spec, kind: str, progress: Progress) -> None:
        self.lab = lab
        self.spec = spec
        self.kind = kind
        self.progress = progress
        self.endpoint = f"http://127.0.0.1:{lab.plan.endpoint_port}"
        self.ttl = max(1, round(spec.registry.lease_ttl))
        prefix = spec.registry.ephemeral_prefixes[0] if spec.registry.ephemeral_prefixes else "/services/"
        self.registration_prefix = f"{prefix}drill/"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        # A fresh prefix per run: a run's read-back must not see an earlier run's keys.
        self.ledger = Ledger(self.endpoint, prefix=f"/drill/{kind}/{stamp}/", rate=RATE, timeout=WRITE_TIMEOUT)
        self.registry: Registry | None = None
        self.started = 0.0
        self.started_utc = ""
        self.registered_at = 0.0
        self.actions: list[str] = []
        self.markers: list[Marker] = []
        self.constants: dict[str, float] = {}

    # --- running ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.started = time.monotonic()
        self.started_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            self.registry = Registry.register(self.endpoint, self.registration_prefix, INSTANCES, self.ttl)
        except EtcdUnavailableError as error:
            raise DrillError(f"the lab's endpoint {self.endpoint} does not take writes: {error}", 2) from None
        self.registered_at = time.monotonic()
        for instance in self.registry.instances[:DEAD_INSTANCES]:
            instance.alive = False  # registered, then gone: must have expired by the end
        self.ledger.start()
        self.registry.start()
        self.progress(
            f"workload: a ledger at {RATE:g} writes/s through {self.endpoint}; {INSTANCES} instances"
            f" registered under {self.registration_prefix} ({DEAD_INSTANCES} of them dead)"
        )

    def stop(self) -> None:
        self.ledger.stop()
        if self.registry is not None:
            self.registry.stop()

    def did(self, action: str) -> None:
        self.actions.append(action)
        self.progress(action)

    def mark(self, label: str, at: float | None = None) -> float:
        """A fault or recovery marker for the timeline; returns its monotonic time."""
        moment = time.monotonic() if at is None else at
        self.markers.append(Marker(round(moment - self.started, 3), label))
        return moment

    def promoted_epochs(self, fault_at: float, old_cluster: str, new_cluster: str) -> list[tuple[float, str]]:
        """The epochs split brain is judged by: the old primary's until the new primary's first acknowledged
        write after the fault, the new one's from then. The old primary may rightly acknowledge a write in
        flight at the fault, and (cut off, quorum kept) until it fences itself (counted on its own: acks after
        its fence); two primaries is an old one's acknowledgement once the new one has begun to acknowledge."""
        return measure.epochs_from_first_ack(list(self.ledger.acks), fault_at, old_cluster, new_cluster)

    def wait_for_ack_after(self, moment: float, timeout: float = 120.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ack = self.ledger.first_ack_after(moment)
            if ack is not None:
                return ack.at
            time.sleep(0.02)
        raise DrillError(f"no write was acknowledged through the endpoint within {timeout:.0f}s of the fault")

    # --- measuring -------------------------------------------------------------------------------------

    def measure(
        self,
        fault: str,
        fault_at: float,
        serving_region: str,
        epochs: list[tuple[float, str]],
        recovered_at: float | None = None,
        old_primary_acks_after_fence: int | None = None,
    ) -> DrillRun:
        """Stop the workload once registrations had time to settle, read every acknowledged key back, and
        judge the run. Dead instances must be gone one leaseTtl after both their registration and the
        recovery (a promotion re-binds leases, so their clock restarts then)."""
        settle = max(self.registered_at, recovered_at or fault_at) + self.ttl + 1.5
        time.sleep(max(0.0, settle - time.monotonic()))
        try:
            registered = set(etcd_client.values(self.endpoint, self.registration_prefix))
        except EtcdUnavailableError as error:
            raise DrillError(f"registrations could not be read back through the endpoint: {error}") from None
        finally:
            self.stop()
        assert self.registry is not None
        leases = measure.registrations(
            [i.key for i in self.registry.instances[DEAD_INSTANCES:]],
            [i.key for i in self.registry.instances[:DEAD_INSTANCES]],
            registered,
        )
        acks = list(self.ledger.acks)
        try:
            present = etcd_client.values(self.endpoint, self.ledger.prefix, timeout=30)
        except EtcdUnavailableError as error:
            raise DrillError(f"the ledger could not be read back through the endpoint: {error}") from None
        missing = measure.lost(acks, present)
        rto = measure.rto(measure.serving_ack_times(acks, epochs), fault_at)
        objective = OBJECTIVE_OF[self.kind]
        return DrillRun(
            kind=self.kind,
            stack=self.lab.plan.stack,
            objective=objective,
            objective_rto=self.spec.objectives[objective].rto,
            objective_rpo=self.spec.objectives[objective].rpo,
            fault=fault,
            actions=self.actions,
            serving_region=serving_region,
            started_utc=self.started_utc,
            rto_seconds=None if rto is None else round(rto, 3),
            rpo_seconds=round(measure.rpo(acks, missing), 3),
            acked=len(acks),
            failed=sum(1 for attempt in self.ledger.attempts if not attempt.ok),
            lost=len(missing),
            lost_keys=[ack.key for ack in missing[:20]],
            registrations=leases,
            hashes=self.hashes(serving_region),
            split_brain=len(measure.split_brain(acks, epochs)),
            old_primary_acks_after_fence=old_primary_acks_after_fence,
            constants={name: round(value, 3) for name, value in self.constants.items()},
            markers=self.markers,
            timeline=[(round(a.at - self.started, 3), round(a.seconds, 4), a.ok) for a in list(self.ledger.attempts)],
        )

    def hashes(self, region_name: str) -> dict[str, int]:
        return region_hashes(self.lab, region_name)

    def cluster_ids(self) -> dict[str, str]:
        """Region -> its cluster's ID, read (not written) from one answering member."""
        ids = {}
        for region in self.lab.plan.regions:
            for member in region.members:
                try:
                    ids[region.name] = etcd_client.cluster_id(member.client_url)
                    break
                except EtcdUnavailableError:
                    continue
        return ids


def region_hashes(lab: Lab, region_name: str) -> dict[str, int]:
    """hashkv of every member of the region at one revision all of them have applied (the lowest revision any
    reports: later writes, such as the lab's heartbeat, do not change the hash below it)."""
    region = lab.plan.region(region_name)
    assert region is not None
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        try:
            revision = min(etcd_client.status(m.client_url).revision for m in region.members)
            return {m.name: hash_kv(lab.binaries.etcdctl, m.client_url, revision) for m in region.members}
        except EtcdUnavailableError as error:
            if time.monotonic() > deadline:
                raise DrillError(f"{region_name}'s members did not all answer hashkv: {error}") from None
            time.sleep(0.2)
