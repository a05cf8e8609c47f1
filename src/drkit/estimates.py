"""What RTO and RPO a spec can really reach, per disruption type, estimated from the spec alone.

Each estimate follows the recovery path drkit would take and says so in its basis, so a reader can check
the arithmetic. None means there is no recovery path at all (nothing to fail over to or restore from).
The drills (drkit drill) measure the same figures on the local lab, and record the constants they measured
next to the stack (drkit.calibration): an estimate uses a measured constant where there is one, and its basis
names the drill and the date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drkit.calibration import Measured
from drkit.spec import cron
from drkit.spec.model import Disruption, Spec
from drkit.spec.units import format_duration as fmt

# Fetch, verify (sha256 + snapshot status) and `etcdutl snapshot restore` together, for the largest
# database the quota allows. Conservative for gp3 volumes and S3 in-region reads.
RESTORE_THROUGHPUT_BYTES_PER_SECOND = 50 * 1024 * 1024
# A restore drill's measured MiB/s counts only when the database it restored was at least this large: below
# it, fixed costs (process starts, Ansible round trips) dominate and a rate from them would scale absurdly.
MIN_MEASURED_RESTORE_MIB = 32.0
# Start the restored members and wait until every one reports healthy.
RESTORED_CLUSTER_START_SECONDS = 30.0
# S3 Replication Time Control replicates 99.99% of objects within 15 minutes; without it AWS gives no
# bound, and drkit assumes the same 15 minutes (the docs say so).
S3_REPLICA_DELAY_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Estimate:
    rto: float | None
    rpo: float | None
    rto_basis: str
    rpo_basis: str


def estimate_all(spec: Spec, measured: Mapping[str, Measured] | None = None) -> dict[str, Estimate]:
    """Every disruption's estimate; `measured`: constants drills measured for this stack (by name)."""
    known = measured or {}
    return {
        "member": _member(spec, known),
        "az": _az(spec, known),
        "region": _region(spec, known),
        "data": _data(spec, known),
    }


def _measured(measured: Mapping[str, Measured], name: str, what: str) -> tuple[float, str] | None:
    """A measured constant and the basis that says where it came from, if a drill measured it."""
    found = measured.get(name)
    if found is None:
        return None
    return found.value, f"{what} {fmt(found.value)} measured by drill {found.drill} ({found.at}, {found.runs} runs)"


def _election(spec: Spec, measured: Mapping[str, Measured]) -> tuple[float, str]:
    election = _measured(measured, "leaderElectionSeconds", "leader election")
    if election is not None:
        return election
    registry = spec.registry
    seconds = 2 * registry.election_timeout + registry.heartbeat_interval
    basis = (
        f"leader election: 2 x electionTimeout {fmt(registry.election_timeout)}"
        f" + heartbeat {fmt(registry.heartbeat_interval)}"
    )
    return seconds, basis


def _backup_interval(spec: Spec) -> float | None:
    return cron.longest_gap_seconds(spec.backups.schedule) if spec.backups else None


def _restore_seconds(spec: Spec, measured: Mapping[str, Measured], *, operator: bool = True) -> tuple[float, str]:
    """A restore from a snapshot; `operator=False` when the person (or automation) is already at work."""
    throughput, throughput_basis = _restore_throughput(measured)
    transfer = spec.registry.quota_backend_bytes / throughput
    response = spec.recovery.operator_response if operator else 0.0
    start, start_basis = _measured(measured, "memberStartSeconds", "start") or (
        RESTORED_CLUSTER_START_SECONDS,
        f"start {fmt(RESTORED_CLUSTER_START_SECONDS)}",
    )
    seconds = response + transfer + start
    basis = (
        (f"restore: operator {fmt(response)} + " if operator else "restore: ")
        + f"fetch/verify/restore of up to {spec.registry.quota_backend_bytes // 1024**2}MiB {fmt(transfer)}"
        + throughput_basis
        + f" + {start_basis}"
    )
    return seconds, basis


def _restore_throughput(measured: Mapping[str, Measured]) -> tuple[float, str]:
    """Bytes/s of fetch, verify and restore, and what the basis adds: nothing for the default; the restore
    drill's measurement, with its database size, date and runs, where one counts (or why it does not)."""
    rate, size = measured.get("restoreMiBPerSecond"), measured.get("restoreDatabaseMiB")
    if rate is None or rate.value <= 0:
        return RESTORE_THROUGHPUT_BYTES_PER_SECOND, ""
    on = f"on a {size.value:.1f}MiB database" if size is not None else "on a database of unknown size"
    where = f"by drill {rate.drill} {on} ({rate.at}, {rate.runs} runs)"
    if size is None or size.value < MIN_MEASURED_RESTORE_MIB:
        default = RESTORE_THROUGHPUT_BYTES_PER_SECOND / 1024**2
        return RESTORE_THROUGHPUT_BYTES_PER_SECOND, (
            f" at the default {default:g}MiB/s (the {rate.value:.2f}MiB/s measured {where} is not used: under"
            f" {MIN_MEASURED_RESTORE_MIB:g}MiB fixed costs dominate; `drkit drill restore --ballast 64MiB` measures"
            " one that counts)"
        )
    return rate.value * 1024**2, f" at {rate.value:.1f}MiB/s measured {where}"


def _offsite_backup_rpo(spec: Spec) -> tuple[float | None, str]:
    """RPO from the freshest backup copy that lives outside the primary region."""
    interval = _backup_interval(spec)
    if spec.backups is None or interval is None:
        return None, "no backups"
    primary = spec.primary.name
    best: tuple[float, str] | None = None
    for target in spec.backups.targets:
        if target.region != primary:
            candidate = (interval, f"backup every {fmt(interval)} to {target.type} in {target.region}")
        elif target.replica_region and target.replica_region != primary:
            candidate = (
                interval + S3_REPLICA_DELAY_SECONDS,
                f"backup every {fmt(interval)} + S3 replica delay {fmt(S3_REPLICA_DELAY_SECONDS)}"
                f" to {target.replica_region}",
            )
        else:
            continue
        if best is None or candidate[0] < best[0]:
            best = candidate
    return best if best else (None, "no backup copy outside the primary region")


def _data(spec: Spec, measured: Mapping[str, Measured]) -> Estimate:
    interval = _backup_interval(spec)
    if interval is None:
        return Estimate(None, None, "no backups to restore from", "no backups")
    rto, rto_basis = _restore_seconds(spec, measured)
    return Estimate(rto, interval, rto_basis, f"backup every {fmt(interval)} (longest gap of the schedule)")


def _detection(spec: Spec) -> tuple[float, str]:
    endpoint = spec.global_endpoint
    if endpoint is None:
        return (
            spec.recovery.operator_response,
            f"no global endpoint: operator {fmt(spec.recovery.operator_response)}",
        )
    check = endpoint.health_check
    seconds = check.interval * check.failure_threshold
    basis = f"health check {fmt(check.interval)} x {check.failure_threshold}"
    if endpoint.type == "route53-failover":
        seconds += endpoint.ttl
        basis += f" + DNS TTL {fmt(endpoint.ttl)}"
    return seconds, basis


def _witness_detection(spec: Spec) -> tuple[float, str] | None:
    """Automatic promotion through a witness (drkit.failover.guard) detects a lost primary by its lease: a
    standby may act only once the lease the primary last renewed has expired at the witness (leaseTtl), and
    its guard notices on its next loop (up to loopWait later). After the promotion, clients of a DNS
    endpoint still hold the old answer for up to the record's TTL; an accelerator or HAProxy switches at once;
    without a global endpoint an operator re-points the clients.
    None when promotion is manual or there is no witness (DR006 fails that spec)."""
    witness = spec.recovery.witness
    if spec.recovery.promotion != "automatic" or witness is None:
        return None
    seconds = witness.lease_ttl + witness.loop_wait
    basis = f"witness lease expires {fmt(witness.lease_ttl)} + guard loop {fmt(witness.loop_wait)}"
    endpoint = spec.global_endpoint
    if endpoint is None:
        # The guard promotes, but nothing moves the clients: someone re-points them.
        seconds += spec.recovery.operator_response
        basis += f" + no global endpoint: operator {fmt(spec.recovery.operator_response)}"
    elif endpoint.type == "route53-failover":
        seconds += endpoint.ttl
        basis += f" + DNS TTL {fmt(endpoint.ttl)}"
    return seconds, basis


def _region(spec: Spec, measured: Mapping[str, Measured]) -> Estimate:
    if not spec.standbys:
        rpo, rpo_basis = _offsite_backup_rpo(spec)
        if rpo is None:
            return Estimate(None, None, "no standby region and no backup outside the primary", rpo_basis)
        restore, restore_basis = _restore_seconds(spec, measured)
        rebuild = spec.recovery.rebuild_time
        return Estimate(rebuild + restore, rpo, f"no standby: rebuild {fmt(rebuild)} + {restore_basis}", rpo_basis)
    detection, basis = (
        _measured(measured, "detectionSeconds", "detection") or _witness_detection(spec) or _detection(spec)
    )
    promotion, promotion_basis = _measured(measured, "promotionSeconds", "promotion") or (
        spec.recovery.promotion_time,
        f"promotion {fmt(spec.recovery.promotion_time)}",
    )
    rto = detection + promotion
    basis += f" + {promotion_basis}"
    if spec.recovery.promotion == "manual" and spec.global_endpoint is not None:
        rto += spec.recovery.operator_response
        basis += f" + manual decision {fmt(spec.recovery.operator_response)}"
    replication = spec.replication
    if replication.mode == "mirror":
        if replication.mirrors_everything:
            return Estimate(rto, replication.max_lag, basis, f"mirror max lag {fmt(replication.max_lag)}")
        backup_rpo, backup_basis = _offsite_backup_rpo(spec)
        rpo = None if backup_rpo is None else max(replication.max_lag, backup_rpo)
        return Estimate(rto, rpo, basis, f"keys outside the mirrored prefixes: {backup_basis}")
    # No mirror: the standby must first be loaded from the latest off-region backup, by whoever promotes
    # it (the operator's response is already counted for a manual promotion).
    rpo, rpo_basis = _offsite_backup_rpo(spec)
    if rpo is None:
        return Estimate(None, None, "standby has no mirror and no off-region backup to load", rpo_basis)
    restore, restore_basis = _restore_seconds(spec, measured, operator=False)
    return Estimate(rto + restore, rpo, f"{basis} + load standby: {restore_basis}", rpo_basis)


def _quorum_lost(spec: Spec, measured: Mapping[str, Measured], disruption: Disruption, why: str) -> Estimate:
    """The primary cluster lost quorum but its region lives: fail over to a standby, or restore in place from
    a backup (every target survives the loss of one AZ: S3 is regional, backup hosts sit apart from the
    registry's AZs). The path that meets the objectives wins; otherwise the faster one."""
    paths = [_data(spec, measured)]
    if spec.standbys:
        paths.insert(0, _region(spec, measured))
    objective = spec.objectives[disruption]

    def meets(path: Estimate) -> bool:
        return path.rto is not None and path.rpo is not None and path.rto <= objective.rto and path.rpo <= objective.rpo

    reachable = [path for path in paths if path.rto is not None]
    chosen = next((path for path in paths if meets(path)), None) or (
        min(reachable, key=lambda path: path.rto or 0.0) if reachable else paths[0]
    )
    return Estimate(chosen.rto, chosen.rpo, f"{why}: {chosen.rto_basis}", f"{why}: {chosen.rpo_basis}")


def _az(spec: Spec, measured: Mapping[str, Measured]) -> Estimate:
    primary = spec.primary
    if primary.availability_zones == 1:
        return _quorum_lost(spec, measured, "az", f"all {_members(primary.members)} are in one AZ")
    if not primary.survives_az_loss:
        return _quorum_lost(
            spec,
            measured,
            "az",
            f"losing an AZ takes {primary.largest_az_share} of {primary.members} members and quorum",
        )
    rto, basis = _election(spec, measured)
    return Estimate(rto, 0.0, basis, "quorum keeps every committed write")


def _member(spec: Spec, measured: Mapping[str, Measured]) -> Estimate:
    primary = spec.primary
    if primary.members - 1 < primary.quorum:
        why = (
            "the only member is down"
            if primary.members == 1
            else f"{primary.members} members lose quorum with one down"
        )
        return _quorum_lost(spec, measured, "member", why)
    rto, basis = _election(spec, measured)
    return Estimate(rto, 0.0, basis, "quorum keeps every committed write")


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"
