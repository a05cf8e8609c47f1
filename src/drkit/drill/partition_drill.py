"""The partition drill: the primary region is cut off by the lab's namespaces partition (every packet on its
veth dropped) while it still has its quorum, and the standby is promoted: by the guards when the spec says
promotion is automatic (the isolated primary's guard must fence itself first), else by the failover engine.

The split-brain check is the point: a client next to the isolated old primary (inside its namespace, where
the partition does not reach) keeps writing to it, and every acknowledgement it gets for a write sent after
the old primary's fence is counted. It must be 0. Afterwards the partition is healed and the old primary
failed back to a standby.
"""

from __future__ import annotations

import json
import threading
import time

from drkit.drill.restoring import fail_back
from drkit.drill.result import DrillRun
from drkit.drill.session import DrillError, Progress, Session
from drkit.drill.workload import Background
from drkit.failover import registry
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.lab import lab_deployment
from drkit.failover.registry import RegistryError
from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import RegionPlan
from drkit.spec.model import Spec

PROMOTION_TIMEOUT = 90.0


class InsideWriter:
    """etcdctl puts from inside the region's namespace, next to its members: the client a partition leaves
    on the old primary's side. Keeps the send time of every acknowledged write."""

    def __init__(self, lab: Lab, region: RegionPlan, interval: float = 0.2) -> None:
        endpoints = ",".join(member.client_url for member in region.members)
        self.command = [str(lab.binaries.etcdctl), f"--endpoints={endpoints}", "--command-timeout=1s", "put"]
        self.lab, self.region, self.interval = lab, region.name, interval
        self.acked: list[float] = []
        self.loop = Background("drill-inside-writer", self._write)

    def _write(self, stopping: threading.Event) -> None:
        sequence = 0
        while not stopping.is_set():
            sequence += 1
            sent = time.monotonic()
            if self.lab.network.run_inside(self.region, [*self.command, f"/drill/inside/{sequence:06d}", "x"], 3):
                self.acked.append(sent)
            stopping.wait(self.interval)


def _fence_moment(lab: Lab, region: str) -> float | None:
    """When the region's guard said it fenced itself (its decision file's wall time, as monotonic)."""
    try:
        state = json.loads((lab.paths.root / "guards" / f"{region}.json").read_text())
    except (OSError, ValueError):
        return None
    if not str(state.get("decision", "")).startswith("primary: self-fenced"):
        return None
    return float(state["at"]) - (time.time() - time.monotonic())


FENCE_REPORT_GRACE = 15.0


def _by_guards(lab: Lab, session: Session, old: RegionPlan, new: RegionPlan) -> tuple[float, float]:
    """Wait for the guards: the old primary's fence, then the new epoch on the standby. Returns both moments."""
    cluster = registry.Cluster(new.name, tuple(member.client_url for member in new.members))
    deadline = time.monotonic() + PROMOTION_TIMEOUT
    fenced_at = None
    while time.monotonic() < deadline:
        fenced_at = fenced_at or _fence_moment(lab, old.name)
        try:
            epoch = registry.read_epoch(cluster, timeout=0.5)
        except RegistryError:
            epoch = None
        if epoch is not None and epoch.primary == new.name and epoch.at > time.time() - PROMOTION_TIMEOUT:
            promoted_at = epoch.at - (time.time() - time.monotonic())
            # The guard records its self-fence once its members are stopped, and the last live member can take
            # seconds to exit on SIGTERM: the standby's promotion may land first (seen in the 20-run benchmark:
            # two members stopped in 0.15 s, the third over 2 s later). Wait for the record a while.
            grace = time.monotonic() + FENCE_REPORT_GRACE
            while fenced_at is None and time.monotonic() < grace:
                time.sleep(0.1)
                fenced_at = _fence_moment(lab, old.name)
            if fenced_at is None:
                raise DrillError(
                    f"the guards promoted {new.name} but {old.name}'s guard never reported its self-fence"
                    f" (see {lab.paths.logs / f'guard-{old.name}.log'})"
                )
            session.did(f"the guards promoted {new.name}: epoch {epoch.number}")
            return fenced_at, promoted_at
        time.sleep(0.1)
    raise DrillError(
        f"the guards did not promote {new.name} within {PROMOTION_TIMEOUT:.0f}s of the partition"
        f" (see {lab.paths.logs / f'guard-{new.name}.log'})"
    )


def _by_engine(lab: Lab, session: Session, new: RegionPlan) -> tuple[float, float]:
    try:
        report = carry_out(lab_deployment(lab), Request("failover", new.name, confirm=True), lambda _: None)
    except (FailoverRefusedError, RegistryError) as error:
        raise DrillError(f"the failover engine did not promote {new.name}: {error}") from None
    fences = ", ".join(f"{fence.method} {'ok' if fence.ok else 'failed'}" for fence in report.fences)
    session.did(f"drkit failover --to {new.name}: fences {fences}")
    # The engine's fences are done once its check passed: from then on the old primary must acknowledge nothing.
    elapsed = 0.0
    started = time.monotonic() - sum(step.seconds for step in report.steps)
    for step in report.steps:
        elapsed += step.seconds
        if step.name == "check-fenced":
            break
    return started + elapsed, time.monotonic()


def run_partition_drill(lab: Lab, spec: Spec, progress: Progress) -> tuple[DrillRun, Lab]:
    if not lab.network.enabled:
        raise DrillError(
            f"the partition drill needs the lab's namespaces network; lab {lab.plan.stack} runs on loopback. Run"
            f" `drkit sandbox down --stack {lab.plan.stack} --purge`, then `drkit sandbox up --network namespaces`"
            " as root",
            2,
        )
    if not lab.plan.standbys:
        raise DrillError(f"stack {lab.plan.stack} has no standby region to promote: add one to the spec", 2)
    old, new = lab.plan.primary, lab.plan.standbys[0]
    automatic = spec.recovery.promotion == "automatic" and spec.recovery.witness is not None
    guards_were_on = lab.guards_enabled
    if automatic and not guards_were_on:
        lab.start_guards(progress)
        time.sleep(3)  # a renewal or two: the primary's guard holds the witness lease before the cut
    session = Session(lab, spec, "partition", progress)
    ids = session.cluster_ids()
    inside = InsideWriter(lab, old)
    session.start()
    inside.loop.start()
    try:
        time.sleep(1.5)
        fault_at = time.monotonic()
        lab.network.partition(old.name)
        session.mark(f"{old.name} partitioned", fault_at)
        session.did(f"partitioned {old.name} (all traffic on its veth dropped); a client inside keeps writing")
        if automatic:
            fenced_at, promoted_at = _by_guards(lab, session, old, new)
            # The guards detect and promote in one: the witness lease expires, the standby's guard notices and
            # runs the engine. Recorded whole as detection (the estimate adds promotion on top: conservative).
            session.constants["detectionSeconds"] = promoted_at - fault_at
        else:
            fenced_at, promoted_at = _by_engine(lab, session, new)
            session.constants["promotionSeconds"] = promoted_at - fault_at
        session.mark(f"{old.name} fenced", fenced_at)
        session.mark(f"{new.name} promoted", promoted_at)
        back = session.wait_for_ack_after(fault_at)
        session.did(f"writes acknowledged through the endpoint again {back - fault_at:.2f}s after the cut")
        time.sleep(1.0)  # the client inside goes on trying after the fence
        inside.loop.stop()
        after_fence = sum(1 for sent in inside.acked if sent > fenced_at)
        session.did(
            f"the client inside {old.name}: {len(inside.acked)} writes acknowledged, {after_fence} of them sent"
            f" after the fence ({fenced_at - fault_at:.2f}s after the cut)"
        )
        result = session.measure(
            fault=f"region {old.name} partitioned from everything (it kept its quorum); {new.name} promoted by"
            f" {'the guards' if automatic else 'the failover engine'}",
            fault_at=fault_at,
            serving_region=new.name,
            epochs=session.promoted_epochs(fault_at, ids.get(old.name, ""), ids.get(new.name, "")),
            recovered_at=promoted_at,
            old_primary_acks_after_fence=after_fence,
        )
    finally:
        inside.loop.stop()
        session.stop()
        if automatic:
            Lab.existing(lab.paths.root).stop_guards()
        lab.network.heal(old.name)
    restored = fail_back(lab, old.name, progress)
    if guards_were_on:
        restored.start_guards(progress)
    return result, restored
