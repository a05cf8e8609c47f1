"""The failover engine: switchover (planned, zero loss), failover (unplanned, fence first) and failback.

Each operation is checks that change nothing (a refusal ends there, exit 1 or 2), then a list of named
steps run in order. Every step is idempotent and recorded in the journal when done, so running the same
command again after an interruption skips what was done and carries on. The order is the safety argument:

- failover: fence the old primary with everything reachable, strongest first (stop its members, cut its
  client port, take it out of the endpoint); refuse to promote while it still answers unfenced; stop the
  mirror and note the newest heartbeat it delivered (the RPO bound); re-bind the ephemeral prefixes to
  fresh leases; write the new epoch; only then open the endpoint on the promoted region.
- switchover: take the primary out of the endpoint, wait until a token written on it after that has
  arrived through the mirror (revision order, not time), then promote as above and reverse the mirror.
- failback: the fenced old primary's data is moved aside, it is re-seeded through the mirror from the
  primary, and becomes a standby. Nothing of it is deleted.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from drkit.failover import registry
from drkit.failover.control import FenceAction
from drkit.failover.deployment import Deployment
from drkit.failover.journal import Journal
from drkit.failover.report import FailoverReport, StepRecord

Progress = Callable[[str], None]
CATCH_UP_ATTEMPTS = 5
SEED_TIMEOUT = 120.0
HEALTHY_TIMEOUT = 60.0


class FailoverRefusedError(Exception):
    """The operation must not go on. exit_code 2: unusable input (unknown region, nothing to do);
    1: refused for safety (standby unhealthy or lagging, old primary unfenced)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Request:
    operation: str  # switchover, failover, failback
    target: str  # the region to promote (failback: the fenced region to re-seed)
    confirm: bool  # False: dry run
    force_reason: str = ""  # failover only: promote although the old primary could not be fenced


Step = tuple[str, Callable[[], str]]


class Run:
    """One operation against one deployment: the report it builds and the journal it keeps."""

    def __init__(self, deployment: Deployment, request: Request, journal: Journal, progress: Progress) -> None:
        self.d = deployment
        self.request = request
        self.journal = journal
        self.progress = progress
        self.started = time.monotonic()
        self.report = FailoverReport(
            operation=request.operation,
            stack=deployment.stack,
            source=journal.source,
            target=journal.target,
            epoch=journal.epoch,
            dry_run=False,
            objective_rto=deployment.objective_rto,
            objective_rpo=deployment.objective_rpo,
            forced_reason=request.force_reason,
        )
        self.report.fences = [FenceAction(**fence) for fence in journal.data.get("fences", [])]
        self.report.last_mirrored_heartbeat = journal.data.get("heartbeat")
        self.report.mirror_stopped_at = journal.data.get("mirrorStoppedAt")
        self.report.caught_up_revision = journal.data.get("caughtUpRevision")

    def run(self, steps: list[Step]) -> FailoverReport:
        # Slow motion for drills and tests: a pause before each step leaves time to watch the journal, or to
        # kill the run mid-way and prove that the same command resumes it.
        pause = float(os.environ.get("DRKIT_FAILOVER_STEP_DELAY", "0") or 0)
        for name, body in steps:
            if name in self.journal.done:
                self.report.steps.append(StepRecord(name, 0.0, "already done", resumed=True))
                continue
            time.sleep(pause)
            started = time.monotonic()
            detail = body()
            record = StepRecord(name, round(time.monotonic() - started, 3), detail)
            self.report.steps.append(record)
            self.journal.record(name)
            self.progress(f"{name}: {detail} ({record.seconds:.2f}s)")
        self.journal.close()
        return self.report

    def fence(self, action: FenceAction) -> str:
        fences = [f for f in self.journal.data.get("fences", []) if f["method"] != action.method]
        self.journal.data["fences"] = [*fences, action.to_json()]
        self.report.fences = [f for f in self.report.fences if f.method != action.method] + [action]
        return f"{'ok' if action.ok else 'FAILED'}: {action.detail}"

    # --- steps shared by switchover and failover -----------------------------------------------------------

    def stop_mirror(self) -> str:
        action = self.d.control.stop_mirror(self.journal.target)
        if not action.ok:
            raise FailoverRefusedError(f"the mirror into {self.journal.target} could not be stopped: {action.detail}")
        now = time.time()
        heartbeat = registry.read_heartbeat(self.d.clusters[self.journal.target])
        self.journal.data |= {"heartbeat": heartbeat, "mirrorStoppedAt": now}
        self.report.last_mirrored_heartbeat, self.report.mirror_stopped_at = heartbeat, now
        age = "none mirrored" if heartbeat is None else f"{now - heartbeat:.2f}s old"
        return f"{action.detail}; newest mirrored heartbeat {age}"

    def rebind_leases(self) -> str:
        if not self.d.ephemeral_prefixes:
            return "no ephemeral prefixes in the spec"
        result = registry.rebind_leases(
            self.d.clusters[self.journal.target], self.d.ephemeral_prefixes, self.d.lease_ttl
        )
        if not result.keys:
            return f"no registrations under {', '.join(self.d.ephemeral_prefixes)}"
        return (
            f"{result.rebound} of {result.keys} keys under {', '.join(self.d.ephemeral_prefixes)} bound to lease"
            f" {result.lease:x} ({self.d.lease_ttl}s); live instances re-register, dead ones expire"
        )

    def write_epoch(self, kind: str) -> str:
        epoch = registry.Epoch(
            number=self.journal.epoch,
            primary=self.journal.target,
            previous=self.journal.source,
            at=time.time(),
            kind=kind,
            reason=self.request.force_reason,
        )
        revision = registry.write_epoch(self.d.clusters[self.journal.target], epoch)
        return f"{registry.EPOCH_KEY} = epoch {epoch.number}, primary {epoch.primary} (revision {revision})"

    def save_roles(self, roles: dict[str, str], epoch: int) -> str:
        self.d.save_roles(roles, epoch)
        return ", ".join(f"{region} {role}" for region, role in roles.items())

    def endpoint_in(self) -> str:
        action = self.d.control.set_serving(self.journal.target, True)
        if not action.ok:
            raise FailoverRefusedError(f"the endpoint could not be opened on {self.journal.target}: {action.detail}")
        return action.detail

    def first_write(self) -> str:
        """Write through the endpoint until it is acknowledged: the moment clients can work again."""
        cluster = self.d.endpoint or self.d.clusters[self.journal.target]
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while True:
            try:
                revision = registry.put(
                    cluster, "/drkit/failover/probe", f"{self.journal.epoch}:{time.time():.3f}", 1.0
                )
                break
            except registry.RegistryError as error:
                if time.monotonic() > deadline:
                    raise FailoverRefusedError(
                        f"no write was accepted through {cluster.urls[0]} within 60s: {error}"
                    ) from None
                time.sleep(0.05)
        self.report.writes_accepted_after = round(time.monotonic() - self.started, 3)
        return f"acknowledged through {cluster.urls[0]} at revision {revision}"


# --- checks that change nothing ----------------------------------------------------------------------------


def _check_target(d: Deployment, request: Request) -> None:
    region = request.target
    if region not in d.regions:
        raise FailoverRefusedError(f"no region {region} in stack {d.stack} (regions: {', '.join(d.regions)})", 2)
    if request.operation == "failback":
        if d.roles[region] != "fenced":
            fenced = ", ".join(d.fenced) or "none"
            raise FailoverRefusedError(
                f"{region} is {d.roles[region]}, not fenced: nothing to fail back (fenced: {fenced})", 2
            )
        return
    if d.roles[region] == "primary":
        raise FailoverRefusedError(f"{region} is already the primary of stack {d.stack}: nothing to do", 2)
    if d.roles[region] == "fenced":
        raise FailoverRefusedError(
            f"{region} was fenced by an earlier failover and holds stale data: `drkit failback` re-seeds it first", 2
        )
    if not d.mirrored:
        raise FailoverRefusedError(
            f"stack {d.stack} has no replication (replication.mode is not mirror): {region} holds none of the"
            " primary's data; restore it from a backup instead (`drkit restore`)",
            2,
        )


def _require_healthy(d: Deployment, region: str, role: str) -> None:
    state = registry.health(d.clusters[region])
    if not state.has_quorum:
        raise FailoverRefusedError(
            f"the {role} {region} is unhealthy: {state.healthy} of {state.members} members healthy"
            f" ({state.answering} answering); nothing was changed"
        )


def _mirror_lag(d: Deployment, source: str, target: str) -> float:
    token = f"probe-{uuid.uuid4().hex}"
    registry.put(d.clusters[source], registry.SWITCHOVER_KEY, token)
    try:
        return registry.wait_for_value(
            d.clusters[target], registry.SWITCHOVER_KEY, token, timeout=max(2 * d.max_lag, 5)
        )
    except registry.RegistryError:
        return float("inf")


def _resuming(d: Deployment, request: Request) -> bool:
    """True when an interrupted run of this very operation is being resumed (its checks passed already);
    an unfinished other operation is refused before anything is checked or changed."""
    existing = Journal.load(d.state_dir)
    if existing is None:
        return False
    if (existing.operation, existing.target) != (request.operation, request.target):
        raise FailoverRefusedError(
            f"an earlier {existing.describe()} did not finish: run `drkit {existing.operation} --stack {d.stack}"
            f" {'--region' if existing.operation == 'failback' else '--to'} {existing.target} --yes` to complete it"
            f" first ({existing.path})"
        )
    return True


def _open_journal(d: Deployment, request: Request, source: str, epoch: int) -> Journal:
    """The open journal of this very operation (resume), or a new one; another operation's is refused."""
    existing = Journal.load(d.state_dir) if _resuming(d, request) else None
    if existing is not None:
        return existing
    return Journal(d.state_dir / "failover-journal.json", request.operation, source, request.target, epoch)


def _start(
    d: Deployment, request: Request, source: str, epoch: int, plan: list[str], progress: Progress
) -> Run | FailoverReport:
    """The dry run's report (nothing changes), or the run: its journal opened (or resumed) and saved before
    the first change."""
    if not request.confirm:
        return _dry_run(d, request, source, plan)
    journal = _open_journal(d, request, source, epoch)
    journal.save()
    return Run(d, request, journal, progress)


def _dry_run(d: Deployment, request: Request, source: str, plan: list[str]) -> FailoverReport:
    return FailoverReport(
        operation=request.operation,
        stack=d.stack,
        source=source,
        target=request.target,
        epoch=d.epoch + (request.operation != "failback"),
        dry_run=True,
        objective_rto=d.objective_rto,
        objective_rpo=d.objective_rpo,
        outcome="planned",
        plan=plan,
    )


# --- the three operations ----------------------------------------------------------------------------------


def switchover(d: Deployment, request: Request, progress: Progress) -> FailoverReport:
    old, new = d.primary, request.target
    if not _resuming(d, request):
        _check_target(d, request)
        _require_healthy(d, old, "primary")
        _require_healthy(d, new, "standby")
        lag = _mirror_lag(d, old, new)
        if lag > d.max_lag:
            raise FailoverRefusedError(
                f"the mirror into {new} lags {lag:.2f}s, beyond replication.maxLag {d.max_lag:g}s: a switchover"
                " would wait on it with the endpoint closed; nothing was changed"
            )
        progress(f"checks passed: {old} and {new} healthy, mirror lag {lag:.2f}s")
    plan = [
        f"take {old} out of the endpoint (writes through it stop)",
        f"write a token on {old} and wait until the mirror has delivered it to {new} (every earlier revision too)",
        f"stop the mirror into {new}",
        f"re-bind {', '.join(d.ephemeral_prefixes) or 'no prefixes'} on {new} to fresh {d.lease_ttl}s leases",
        f"write epoch {d.epoch + 1} (primary {new}) to {registry.EPOCH_KEY}",
        f"make {new} the primary and {old} a standby",
        f"put {new} in the endpoint and mirror {new} -> {old}",
    ]
    run = _start(d, request, old, d.epoch + 1, plan, progress)
    if isinstance(run, FailoverReport):
        return run
    journal = run.journal

    def endpoint_out() -> str:
        return run.fence(d.control.set_serving(old, False))

    def drain() -> str:
        for attempt in range(1, CATCH_UP_ATTEMPTS + 1):
            token = f"{journal.epoch}-{uuid.uuid4().hex}"
            revision = registry.put(d.clusters[old], registry.SWITCHOVER_KEY, token)
            seconds = registry.wait_for_value(
                d.clusters[new], registry.SWITCHOVER_KEY, token, timeout=max(10, 5 * d.max_lag)
            )
            _, now = registry.get(d.clusters[old], registry.SWITCHOVER_KEY)
            if now == revision:  # nothing was written on the old primary after the token: nothing left behind
                journal.data["caughtUpRevision"] = revision
                run.report.caught_up_revision = revision
                return f"{new} has every revision up to {revision} of {old} ({seconds:.2f}s, attempt {attempt})"
        d.control.set_serving(old, True)
        raise FailoverRefusedError(
            f"{old} kept taking writes from clients that bypass the endpoint (revision moved past each token"
            f" {CATCH_UP_ATTEMPTS} times): switchover abandoned and {old} put back in the endpoint"
        )

    def reverse_mirror() -> str:
        action = d.control.start_mirror(new, old)
        if not action.ok:
            raise FailoverRefusedError(f"the mirror {new} -> {old} did not start: {action.detail}")
        return action.detail

    report = run.run(
        [
            ("endpoint-out", endpoint_out),
            ("drain-mirror", drain),
            ("stop-mirror", run.stop_mirror),
            ("rebind-leases", run.rebind_leases),
            ("write-epoch", lambda: run.write_epoch("switchover")),
            ("endpoint-in", run.endpoint_in),
            ("first-write", run.first_write),
            ("save-roles", lambda: run.save_roles({new: "primary", old: "standby"}, journal.epoch)),
            ("reverse-mirror", reverse_mirror),
        ]
    )
    report.message = f"{new} is the primary (epoch {journal.epoch}); {old} is its standby, mirrored from it"
    return report


def failover(d: Deployment, request: Request, progress: Progress) -> FailoverReport:
    old, new = d.primary, request.target
    if not _resuming(d, request):
        _check_target(d, request)
        _require_healthy(d, new, "standby")
        progress(f"checks passed: {new} healthy; fencing {old}")
    plan = [
        f"fence {old}: stop its members",
        f"fence {old}: cut its members' client port",
        f"fence {old}: take it out of the endpoint",
        f"refuse to promote while {old} answers and was neither stopped nor cut off"
        + (f" (overridden: --force, {request.force_reason!r})" if request.force_reason else ""),
        f"stop the mirror into {new}; note the newest heartbeat it delivered (the RPO bound)",
        f"re-bind {', '.join(d.ephemeral_prefixes) or 'no prefixes'} on {new} to fresh {d.lease_ttl}s leases",
        f"write epoch {d.epoch + 1} (primary {new}) to {registry.EPOCH_KEY}",
        f"make {new} the primary; {old} stays fenced until `drkit failback`",
        f"put {new} in the endpoint and wait for the first acknowledged write",
    ]
    run = _start(d, request, old, d.epoch + 1, plan, progress)
    if isinstance(run, FailoverReport):
        return run
    journal = run.journal

    def check_fenced() -> str:
        fences = {fence.method: fence for fence in run.report.fences}
        stopped = fences.get("stop-members") is not None and fences["stop-members"].ok
        cut = fences.get("cut-client-port") is not None and fences["cut-client-port"].ok
        answering = registry.answers(d.clusters[old])
        if stopped or cut:
            how = " and ".join(name for name, ok in (("stopped", stopped), ("cut off", cut)) if ok)
            if answering and not stopped:
                raise FailoverRefusedError(f"{old} was cut off but {len(answering)} member(s) still answer from here")
            return f"{old} is {how}; {len(answering)} of its members answer"
        if not answering:
            return f"{old} could not be fenced, but none of its members answers (down, or cut off from here)"
        if request.force_reason:
            return f"{old} could NOT be fenced and {len(answering)} member(s) answer: promoting anyway (--force)"
        raise FailoverRefusedError(
            f"{old} could not be fenced and {len(answering)} of its members still answer ({', '.join(answering)}):"
            " promoting now could give two primaries. Fix what the fencing lines say, or, if you know that"
            f' {old} takes no writes, re-run with --force --reason "..." (the reason goes into the report)'
        )

    report = run.run(
        [
            ("fence-stop-members", lambda: run.fence(d.control.stop_members(old))),
            ("fence-client-port", lambda: run.fence(d.control.cut_client_port(old))),
            ("fence-endpoint", lambda: run.fence(d.control.set_serving(old, False))),
            ("check-fenced", check_fenced),
            ("stop-mirror", run.stop_mirror),
            ("rebind-leases", run.rebind_leases),
            ("write-epoch", lambda: run.write_epoch("failover")),
            ("endpoint-in", run.endpoint_in),
            ("first-write", run.first_write),
            # Bookkeeping last: the place's own record of the roles (the lab rewrites configs and restarts its
            # mirror and heartbeat programs), which clients need not wait for. A crash before it is resumed.
            ("save-roles", lambda: run.save_roles({new: "primary", old: "fenced"}, journal.epoch)),
        ]
    )
    report.message = f"{new} is the primary (epoch {journal.epoch}); {old} is fenced until `drkit failback`"
    return report


def failback(d: Deployment, request: Request, progress: Progress) -> FailoverReport:
    old, primary = request.target, d.primary
    if not _resuming(d, request):
        _check_target(d, request)
        _require_healthy(d, primary, "primary")
    plan = [
        f"stop {old}'s members (they must be reachable: heal a partition first)",
        f"move {old}'s data dirs aside (kept, never deleted)",
        f"make {old} a standby of {primary}",
        f"restore {old}'s client port",
        f"start {old}'s members as a new, empty cluster",
        f"mirror {primary} -> {old} from revision 0 and wait until it has caught up",
    ]
    run = _start(d, request, primary, d.epoch, plan, progress)
    if isinstance(run, FailoverReport):
        return run

    def must(action: FenceAction) -> str:
        if not action.ok:
            raise FailoverRefusedError(f"{action.method} on {action.target} failed: {action.detail}")
        return action.detail

    def wait_healthy() -> str:
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while not (state := registry.health(d.clusters[old])).has_quorum:
            if time.monotonic() > deadline:
                raise FailoverRefusedError(f"{old} did not become healthy in {HEALTHY_TIMEOUT:.0f}s after its restart")
            time.sleep(0.2)
        return f"{state.healthy} of {state.members} members healthy"

    def seeded() -> str:
        token = f"failback-{uuid.uuid4().hex}"
        revision = registry.put(d.clusters[primary], registry.SWITCHOVER_KEY, token)
        seconds = registry.wait_for_value(d.clusters[old], registry.SWITCHOVER_KEY, token, timeout=SEED_TIMEOUT)
        return f"{old} has every revision up to {revision} of {primary} ({seconds:.2f}s)"

    report = run.run(
        [
            ("stop-members", lambda: must(d.control.stop_members(old))),
            ("move-data-aside", lambda: must(d.control.move_data_aside(old))),
            ("save-roles", lambda: run.save_roles({old: "standby"}, d.epoch)),
            ("restore-client-port", lambda: must(d.control.restore_client_port(old))),
            ("start-members", lambda: must(d.control.start_members(old))),
            ("wait-healthy", wait_healthy),
            ("start-mirror", lambda: must(d.control.start_mirror(primary, old))),
            ("seeded", seeded),
        ]
    )
    report.message = f"{old} is a standby of {primary} again; `drkit switchover --to {old}` moves the primary back"
    return report


OPERATIONS = {"switchover": switchover, "failover": failover, "failback": failback}


def carry_out(d: Deployment, request: Request, progress: Progress) -> FailoverReport:
    return OPERATIONS[request.operation](d, request, progress)
