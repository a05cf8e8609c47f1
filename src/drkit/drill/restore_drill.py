"""The data-loss drill: back up the primary under load, destroy it, restore it, and measure.

It is the README's main job on the lab: a ledger of acknowledged writes and leased registrations run through
the endpoint the whole time; the backup and restore are drkit's real playbooks; the primary's members are
SIGKILLed and their data dirs moved away. RTO is the time from the destruction until the first write is
acknowledged again; RPO is how much acknowledged time was lost: from the last write the snapshot holds to
the last write acknowledged before the destruction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.drill import measure
from drkit.drill.restore_calibration import drop_ballast, read_events, restore_constants, task_spans, write_ballast
from drkit.drill.result import DrillRun, Marker
from drkit.drill.session import DrillError, region_hashes
from drkit.drill.workload import Ledger, Registry
from drkit.operate.runner import PlaybookRun
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.playbook_runs import PlaybookFailedError, run_on_lab
from drkit.spec.model import Objective, Spec

Progress = Callable[[str], None]
INSTANCES = 6
DEAD_INSTANCES = 2


@dataclass
class RestoreDrillResult:
    stack: str
    region: str
    snapshot: str
    snapshot_revision: int
    backup_seconds: float
    restore_seconds: float
    writes_before_backup: int
    missing_before_backup: list[str]
    writes_lost: int
    rto_seconds: float
    rpo_seconds: float
    objective_rto: float
    objective_rpo: float
    schedule: str
    live_instances_registered: int
    live_instances: int
    dead_instances_expired: int
    dead_instances: int
    re_registrations: int
    moved_aside: list[str] = field(default_factory=list)
    # Calibration (drkit validate's data estimate): from the restore playbook's task timings.
    snapshot_bytes: int = 0
    ballast_keys: int = 0  # 1 MiB values written before the backup (--ballast), deleted afterwards
    restore_mib_per_second: float | None = None
    member_start_seconds: float | None = None

    @property
    def passed(self) -> bool:
        return (
            not self.missing_before_backup
            and self.rto_seconds <= self.objective_rto
            and self.rpo_seconds <= self.objective_rpo
            and self.live_instances_registered == self.live_instances
            and self.dead_instances_expired == self.dead_instances
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _playbook(lab: Lab, root: Path, name: str, extravars: dict[str, Any], progress: Progress) -> PlaybookRun:
    try:
        run = run_on_lab(lab.paths, root, name, extravars)
    except PlaybookFailedError as error:
        raise DrillError(str(error)) from None
    progress(f"{name}: done (artifacts {run.artifacts})")
    return run


def run_restore_drill(
    lab: Lab, spec: Spec, root: Path, progress: Progress, ballast_bytes: int = 0
) -> tuple[RestoreDrillResult, DrillRun]:
    """The drill's own result (the README's table), and the same run as every drill reports it (report.md,
    result.json, timeline.png through drkit.drill.report_files). `ballast_bytes`: that much data written
    before the backup (and removed afterwards), so the throughput measured is one of bytes."""
    endpoint = f"http://127.0.0.1:{lab.plan.endpoint_port}"
    primary = lab.plan.primary.name
    ttl = max(1, round(spec.registry.lease_ttl))
    prefix = spec.registry.ephemeral_prefixes[0] if spec.registry.ephemeral_prefixes else "/services/"
    objective: Objective = spec.objectives["data"]

    ledger = Ledger(endpoint)
    ballast_prefix = f"/drill/ballast/{datetime.now(UTC):%Y%m%dT%H%M%S}/"
    old_cluster = etcd_client.cluster_id(endpoint)
    begun, begun_utc = time.monotonic(), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    markers: list[Marker] = []
    registry = Registry.register(endpoint, prefix, INSTANCES, ttl)
    for instance in registry.instances[:DEAD_INSTANCES]:
        instance.alive = False  # registered before the backup, then gone: must not survive the restore
    ledger.start()
    registry.start()
    try:
        progress(f"workload: writing a ledger through {endpoint}, {INSTANCES} instances registered under {prefix}")
        ballast = 0
        if ballast_bytes:
            try:
                ballast = write_ballast(endpoint, ballast_prefix, ballast_bytes)
            except etcd_client.EtcdUnavailableError as error:
                raise DrillError(f"the ballast could not be written through {endpoint}: {error}") from None
            progress(f"ballast: {ballast} values of 1 MiB under {ballast_prefix} (removed after the drill)")
        time.sleep(2)
        started = time.monotonic()
        backup = _playbook(lab, root, "backup", {}, progress).stats["drkit_backup_report"]
        backup_seconds = time.monotonic() - started
        revision = int(backup["revision"])
        markers.append(Marker(round(time.monotonic() - begun, 3), "backup taken"))
        progress(f"backup: {backup['snapshot']} at revision {revision}; writes go on")
        time.sleep(2)

        destroyed_at = time.monotonic()
        moved = lab.wipe_region(primary)
        # Every member is dead now: a write acknowledged before this instant may still have been in flight
        # to the old cluster; one acknowledged after it can only come from the restored cluster.
        wiped_at = time.monotonic()
        markers.append(Marker(round(wiped_at - begun, 3), f"{primary} wiped"))
        progress(f"disaster: every {primary} member killed, data dirs moved aside ({len(moved)})")

        started = time.monotonic()
        restored = _playbook(lab, root, "restore", {"drkit_restore_confirm": "yes"}, progress)
        restore_seconds = time.monotonic() - started
        markers.append(Marker(round(time.monotonic() - begun, 3), "restored"))
        report = restored.stats["drkit_restore_report"]
        back = _wait_for_ack(ledger, wiped_at, timeout=60)
        rto = back - destroyed_at  # from the destruction itself, though only acks after the wipe count
        progress(f"restore: {report['snapshot']} in {restore_seconds:.1f}s; writes acknowledged again after {rto:.1f}s")
        time.sleep(0.5)
    finally:
        ledger.stop()

    try:
        present = etcd_client.values(endpoint, ledger.prefix)
        acked_before_wipe = [ack for ack in ledger.acks if ack.at < wiped_at]
        before = [ack for ack in acked_before_wipe if ack.revision <= revision]
        missing = [ack.key for ack in measure.lost(before, present)]
        # RPO: the span of acknowledged writes the restore did not bring back (those after the snapshot).
        lost = measure.lost(acked_before_wipe, present)
        rpo = measure.rpo(acked_before_wipe, lost)
        # Registrations: the restore re-bound them to a fresh lease; past one TTL the dead are gone and the
        # live have re-registered.
        time.sleep(ttl + 2)
        registered = etcd_client.values(endpoint, prefix + "drill/")
    finally:
        registry.stop()
    snapshot_bytes = int(backup.get("bytes") or 0)
    constants = restore_constants(task_spans(read_events(restored.artifacts)), snapshot_bytes)
    hashes = region_hashes(lab, primary)
    if ballast:
        try:
            drop_ballast(lab, endpoint, ballast_prefix)
        except etcd_client.EtcdUnavailableError as error:
            raise DrillError(f"the ballast under {ballast_prefix} could not be removed: {error}") from None
        progress("ballast removed; every region compacted and defragmented")
    live = [instance.key for instance in registry.instances[DEAD_INSTANCES:]]
    dead = [instance.key for instance in registry.instances[:DEAD_INSTANCES]]
    leases = measure.registrations(live, dead, registered)
    result = RestoreDrillResult(
        stack=lab.plan.stack,
        region=primary,
        snapshot=str(backup["snapshot"]),
        snapshot_revision=revision,
        backup_seconds=round(backup_seconds, 2),
        restore_seconds=round(restore_seconds, 2),
        writes_before_backup=len(before),
        missing_before_backup=missing,
        writes_lost=len(lost) - len(missing),
        rto_seconds=round(rto, 2),
        rpo_seconds=round(rpo, 2),
        objective_rto=objective.rto,
        objective_rpo=objective.rpo,
        schedule=spec.backups.schedule if spec.backups else "",
        live_instances_registered=leases.live_kept,
        live_instances=leases.live,
        dead_instances_expired=leases.dead_expired,
        dead_instances=leases.dead,
        re_registrations=sum(instance.registrations - 1 for instance in registry.instances[DEAD_INSTANCES:]),
        moved_aside=[str(path) for path in moved] + [str(path) for path in report.get("moved_aside", [])],
        snapshot_bytes=snapshot_bytes,
        ballast_keys=ballast,
        restore_mib_per_second=_rounded(constants.get("restoreMiBPerSecond")),
        member_start_seconds=_rounded(constants.get("memberStartSeconds")),
    )
    run = DrillRun(
        kind="restore",
        stack=lab.plan.stack,
        objective="data",
        objective_rto=objective.rto,
        objective_rpo=objective.rpo,
        fault=f"data loss on {primary}: every member SIGKILLed and its data dir moved aside; restored from backup",
        actions=[
            f"backup playbook: {backup['snapshot']} at revision {revision} in {backup_seconds:.1f}s",
            f"SIGKILLed every member of {primary} and moved {len(moved)} data dirs aside",
            f"restore playbook: {report['snapshot']} in {restore_seconds:.1f}s",
            f"{len(before)} writes acknowledged before the backup, {len(lost) - len(missing)} after it lost with"
            " the primary (the schedule bounds that in production)",
        ],
        serving_region=primary,
        started_utc=begun_utc,
        rto_seconds=round(rto, 3),
        rpo_seconds=round(rpo, 3),
        acked=len(ledger.acks),
        failed=ledger.failures,
        lost=len(lost),
        lost_keys=[ack.key for ack in lost[:20]],
        registrations=leases,
        hashes=hashes,
        # The restore makes a new cluster: after the wipe only it may acknowledge, before it only the old one.
        split_brain=len(
            measure.split_brain(ledger.acks, [(0.0, old_cluster), (wiped_at, etcd_client.cluster_id(endpoint))])
        ),
        constants={"restoreSeconds": round(restore_seconds, 3)} | {k: round(v, 3) for k, v in constants.items()},
        markers=markers,
        timeline=[(round(a.at - begun, 3), round(a.seconds, 4), a.ok) for a in ledger.attempts],
        failed_checks=[f"{len(missing)} writes acknowledged before the backup are missing after the restore"]
        if missing
        else [],
    )
    return result, run


def _wait_for_ack(ledger: Ledger, moment: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ack = ledger.first_ack_after(moment)
        if ack is not None:
            return ack.at
        time.sleep(0.05)
    raise DrillError(f"no write was acknowledged through the endpoint within {timeout:.0f}s of the restore")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
