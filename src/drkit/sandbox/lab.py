"""Bring a lab up, report on it, break it on purpose, and take it down: every process by pid."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.sandbox import endpoint, etcd_client, roles, s3
from drkit.sandbox.binaries import EtcdBinaries, find_binaries
from drkit.sandbox.configs import (
    SCHEDULER_PROGRAM,
    haproxy_cfg,
    mirror_programs,
    rsyncd_conf,
    supervisord_conf,
    write_etcd_configs,
)
from drkit.sandbox.inventory import write_inventory
from drkit.sandbox.network import LabNetwork
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import PLAN_FILE, LabPlan, Member, load_saved_plan
from drkit.sandbox.ports import check_free
from drkit.sandbox.releases import link_members, link_releases, member_version
from drkit.sandbox.supervisor_client import Supervisor, pid_alive

Progress = Callable[[str], None]
HEALTH_TIMEOUT = 60.0
MIRROR_TIMEOUT = 30.0


class LabError(Exception):
    """Something the user can act on: the message says what and how. exit_code 2 for unusable input
    (no such lab, member or region), 1 for a lab that did not come up."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Lab:
    paths: LabPaths
    plan: LabPlan
    binaries: EtcdBinaries

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.paths)

    @property
    def network(self) -> LabNetwork:
        return LabNetwork(self.plan, self.paths)

    @classmethod
    def prepare(cls, plan: LabPlan, state_dir: Path) -> Lab:
        """The lab for a fresh plan, or the saved one when the state dir already holds a lab of that spec."""
        paths = LabPaths(state_dir)
        saved = load_saved_plan(state_dir)
        if saved is not None:
            if _shape(saved) != _shape(plan):
                raise LabError(
                    f"the lab in {state_dir} was built from a different spec (regions or members changed):"
                    " run `drkit sandbox down --purge` first (its data is moved aside, not deleted)"
                )
            # The spec's version is what new links get; members keep running what their links say. The saved
            # roles stand: a failover may have moved the primary away from the spec's.
            plan = replace(
                saved,
                version=plan.version,
                max_lag_s=plan.max_lag_s,
                region_rto_s=plan.region_rto_s,
                region_rpo_s=plan.region_rpo_s,
            )
        return cls(paths, plan, find_binaries(plan.version))

    @classmethod
    def existing(cls, state_dir: Path) -> Lab:
        plan = load_saved_plan(state_dir)
        if plan is None:
            raise LabError(f"no lab in {state_dir}: start one with `drkit sandbox up`")
        return cls(LabPaths(state_dir), plan, find_binaries(plan.version))

    # --- up ------------------------------------------------------------------------------------------

    def up(self, progress: Progress) -> str:
        supervisor = self.supervisor
        if supervisor.running():
            return self._resume(progress)
        check_free(self.plan.loopback_ports())
        self.paths.create()
        (self.paths.backups / self.plan.rsync_path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (self.paths.root / PLAN_FILE).write_text(self.plan.to_json(), encoding="utf-8")
        serving = endpoint.load_serving(self.paths, self.plan)
        write_etcd_configs(self.plan, self.paths)
        link_releases(self.paths)
        link_members(self.plan, self.paths)
        self.paths.supervisor_conf.write_text(supervisord_conf(self.plan, self.binaries, self.paths))
        self.paths.haproxy_conf.write_text(haproxy_cfg(self.plan, self.paths, serving))
        self.paths.rsyncd_conf.write_text(rsyncd_conf(self.plan, self.paths))
        self._report_versions(progress)
        self._create_network(progress)
        members = self._startable_members(progress)
        progress(f"starting supervisord with {len(members)} etcd members")
        supervisor.start()
        for member in members:
            supervisor.start_program(member.program, wait=False)
        self._wait_healthy(members, progress)
        self._start_mirrors(progress)
        self._wait_endpoint(progress)
        self._ensure_bucket(progress)
        if self.guards_enabled:
            self.start_guards(progress)
        inventory = write_inventory(self.plan, self.paths)
        if self.schedule_enabled:
            self.start_schedule(progress)
        return (
            f"lab {self.plan.stack} is up: endpoint http://127.0.0.1:{self.plan.endpoint_port}, inventory {inventory}"
        )

    def _create_network(self, progress: Progress) -> None:
        """Namespaces before supervisord: members are started inside them. Saved fences come back."""
        if not self.network.enabled:
            return
        self.network.create()
        state = self.network.saved()
        progress(
            f"network: {len(self.plan.regions)} regions in their own namespaces"
            + (f"; fenced (client port shut): {', '.join(sorted(state.fenced))}" if state.fenced else "")
            + (f"; partitioned: {', '.join(sorted(state.partitioned))}" if state.partitioned else "")
        )

    def _report_versions(self, progress: Progress) -> None:
        """Say which members run another release than the spec's, and how to converge them safely."""
        behind = {m.name: member_version(self.paths, m.name) for m in self.plan.members}
        behind = {name: version for name, version in behind.items() if version != self.plan.version}
        if behind:
            runs = ", ".join(f"{name} runs {version}" for name, version in behind.items())
            progress(
                f"{runs}; the spec asks for {self.plan.version}: `drkit upgrade --stack {self.plan.stack}"
                f" --to {self.plan.version}` changes them member by member (`up` never does)"
            )

    def _resume(self, progress: Progress) -> str:
        """supervisord already runs: start whatever is not running, or say nothing changed."""
        self.network.create()  # idempotent: puts back what someone removed by hand
        processes = self.supervisor.processes()
        stopped = [name for name, info in processes.items() if info["statename"] != "RUNNING"]
        if not self.guards_enabled:  # the witness and the guards stay down until `guards start`
            stopped = [name for name in stopped if not name.startswith(("witness", "guard-"))]
        if not self.schedule_enabled:  # and the backup schedule until `schedule start`
            stopped = [name for name in stopped if name != SCHEDULER_PROGRAM]
        if not stopped:
            return f"lab {self.plan.stack} is already up; nothing changed"
        members = [member for member in self._startable_members(progress) if member.program in stopped]
        for member in members:
            progress(f"starting {member.name}")
            self.supervisor.start_program(member.program)
        self._wait_healthy(members, progress)
        mirrors = self._allowed_mirrors(progress)
        guards = self.guards_enabled
        for name in stopped:
            if name.startswith(("witness", "guard-")):
                continue  # started below, and only when the guards are on
            if not name.startswith("etcd-") and (not name.startswith("mirror-") or name in mirrors):
                self.supervisor.start_program(name)
        self._ensure_bucket(progress)
        if guards:
            self.start_guards(progress)
        write_inventory(self.plan, self.paths)
        return f"lab {self.plan.stack} was up; started {', '.join(sorted(stopped))}"

    def _startable_members(self, progress: Progress) -> list[Member]:
        """Every member but those of fenced regions, which stay down until failback re-seeds them."""
        fenced = roles.fenced(self.plan)
        for region in fenced:
            progress(f"not starting {region}'s members: fenced by a failover (`drkit failback` re-seeds it)")
        return [member for member in self.plan.members if member.region not in fenced]

    def _wait_healthy(self, members: tuple[Member, ...] | list[Member], progress: Progress) -> None:
        progress(f"waiting until {len(members)} members are healthy")
        deadline = time.monotonic() + HEALTH_TIMEOUT
        waiting = list(members)
        while waiting and time.monotonic() < deadline:
            waiting = [member for member in waiting if not self.member_healthy(member)]
            if waiting:
                time.sleep(0.2)
        if waiting:
            logs = ", ".join(str(self.paths.logs / f"{member.program}.log") for member in waiting)
            raise LabError(
                f"{', '.join(m.name for m in waiting)} did not become healthy in {HEALTH_TIMEOUT:.0f}s: see {logs}",
                exit_code=1,
            )

    def member_healthy(self, member: Member, timeout: float = 1.0) -> bool:
        """Whether the member answers its health check. A member of a partitioned or fenced region is asked
        from inside its namespace (its own etcdctl), since the root namespace cannot reach it on purpose."""
        if member.region not in self.network.unreachable():
            return etcd_client.healthy(member.client_url, timeout=timeout)
        etcdctl = str(self.paths.member_bin(member.name) / "etcdctl")
        check = [etcdctl, f"--endpoints={member.client_url}", f"--command-timeout={timeout}s", "endpoint", "health"]
        return self.network.run_inside(member.region, check, timeout=timeout + 5)

    def _allowed_mirrors(self, progress: Progress) -> list[str]:
        """Mirror programs that may run. A standby the endpoint already serves has been promoted and taken
        writes: mirroring into it again would overwrite them with the old primary's keys."""
        serving = endpoint.load_serving(self.paths, self.plan)
        allowed = []
        for name in mirror_programs(self.plan, self.binaries):
            promoted = [s.name for s in self.plan.standbys if name.startswith(f"mirror-{s.name}") and s.name in serving]
            if promoted:
                progress(f"not starting {name}: the endpoint serves {promoted[0]}, so it has been promoted")
            else:
                allowed.append(name)
        return allowed

    def _start_mirrors(self, progress: Progress) -> None:
        programs = self._allowed_mirrors(progress)
        if not programs:
            return
        for name in programs:
            progress(f"starting {name} (etcdctl make-mirror)")
            self.supervisor.start_program(name)
        unreachable = self.network.unreachable()
        for standby in self.plan.standbys:
            if not any(name.startswith(f"mirror-{standby.name}") for name in programs):
                continue
            cut = sorted(unreachable & {standby.name, self.plan.primary.name})
            if cut:
                progress(f"not waiting for the mirror into {standby.name}: {', '.join(cut)} cut off (fence/partition)")
                continue
            measured = self.mirror_lag(standby.name, MIRROR_TIMEOUT)
            if measured is None:
                raise LabError(
                    f"the mirror into {standby.name} did not catch up in {MIRROR_TIMEOUT:.0f}s:"
                    f" see {self.paths.logs}/mirror-{standby.name}*.log",
                    exit_code=1,
                )
            progress(f"mirror into {standby.name} caught up ({measured[0]:.2f}s)")

    def _ensure_bucket(self, progress: Progress) -> None:
        if not self.plan.s3_port:
            return
        try:
            created = s3.ensure_bucket(self.plan)
        except Exception as error:
            raise LabError(
                f"the lab's S3 endpoint {self.plan.s3_endpoint_url} did not answer ({error}):"
                f" see {self.paths.logs / 's3.log'}",
                exit_code=1,
            ) from None
        if created:
            progress(
                f"S3 endpoint {self.plan.s3_endpoint_url}: bucket {self.plan.s3_bucket} created"
                " (versioning, Object Lock; kept in memory until the lab stops)"
            )

    def _wait_endpoint(self, progress: Progress) -> None:
        url = f"http://127.0.0.1:{self.plan.endpoint_port}"
        serving = endpoint.load_serving(self.paths, self.plan)
        if serving and serving <= self.network.unreachable():
            progress(f"not waiting for the endpoint {url}: every region it serves is cut off (fence/partition)")
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if etcd_client.healthy(url):
                progress(f"endpoint {url} answers")
                return
            time.sleep(0.2)
        raise LabError(f"the endpoint {url} did not answer in 20s: see {self.paths.logs / 'haproxy.log'}", exit_code=1)

    # --- status --------------------------------------------------------------------------------------

    def probe_key(self) -> str:
        prefix = self.plan.mirror_prefixes[0] if self.plan.mirror_prefixes else ""
        return f"{prefix}drkit-lab-probe" if prefix else "/drkit/lab/probe"

    def mirror_lag(self, standby: str, timeout: float) -> tuple[float, int] | None:
        """How long a write on the primary takes to appear on `standby` through the mirror, and how many
        primary revisions were committed meanwhile (the backlog the mirror was working through).
        None when the probe did not arrive in time."""
        region = self.plan.region(standby)
        assert region is not None
        token = f"{time.time():.6f}-{os.getpid()}"
        key = self.probe_key()
        start = time.monotonic()
        try:
            primary_url = self._live_url(self.plan.primary.members)
            written_at = etcd_client.put(primary_url, key, token)
        except etcd_client.EtcdUnavailableError:
            return None
        deadline = start + timeout
        while time.monotonic() < deadline:
            for member in region.members:
                try:
                    if etcd_client.get(member.client_url, key, timeout=1) == token:
                        seconds = time.monotonic() - start
                        now = etcd_client.status(primary_url).revision
                        return seconds, now - written_at
                except etcd_client.EtcdUnavailableError:
                    continue
            time.sleep(0.02)
        return None

    def _live_url(self, members: tuple[Member, ...]) -> str:
        for member in members:
            if etcd_client.healthy(member.client_url, timeout=0.5):
                return member.client_url
        raise etcd_client.EtcdUnavailableError("no healthy member")

    def status(self) -> dict[str, Any]:
        running = self.supervisor.running()
        processes = self.supervisor.processes() if running else {}
        regions = []
        for region in self.plan.regions:
            members = []
            for member in region.members:
                info = processes.get(member.program, {})
                row: dict[str, Any] = {
                    "name": member.name,
                    "az": member.az,
                    "process": info.get("statename", "STOPPED"),
                    "pid": info.get("pid") or None,
                    "clientUrl": member.client_url,
                    "healthy": etcd_client.healthy(member.client_url, timeout=0.5),
                }
                try:
                    state = etcd_client.status(member.client_url, timeout=0.5)
                    row |= {
                        "version": state.version,
                        "leader": state.is_leader,
                        "raftIndex": state.raft_index,
                        "raftTerm": state.raft_term,
                        "dbSize": state.db_size,
                        "revision": state.revision,
                    }
                except etcd_client.EtcdUnavailableError:
                    row |= {
                        "version": None,
                        "leader": False,
                        "raftIndex": None,
                        "raftTerm": None,
                        "dbSize": None,
                        "revision": None,
                    }
                members.append(row)
            regions.append({"name": region.name, "role": region.role, "members": members})
        mirrors = []
        for standby in self.plan.standbys:
            programs = [
                name for name in mirror_programs(self.plan, self.binaries) if name.startswith(f"mirror-{standby.name}")
            ]
            measured = self.mirror_lag(standby.name, 5.0) if running else None
            mirrors.append(
                {
                    "standby": standby.name,
                    "process": ",".join(processes.get(name, {}).get("statename", "STOPPED") for name in programs),
                    "lagSeconds": measured[0] if measured else None,
                    "lagRevisions": measured[1] if measured else None,
                }
            )
        return {
            "stack": self.plan.stack,
            "stateDir": str(self.paths.root),
            "guards": self.guards_status() if running and self.guards_enabled else {"enabled": False},
            "backupSchedule": self.schedule_status(),
            "failover": {
                "primary": self.plan.primary.name,
                "epoch": roles.load_epoch(self.paths.root),
                "fenced": roles.fenced(self.plan),
                "mirrors": [f"{self.plan.primary.name} -> {standby.name}" for standby in self.plan.standbys],
            },
            "supervisord": "RUNNING" if running else "STOPPED",
            "regions": regions,
            "mirrors": mirrors,
            "endpoint": self._endpoint_status(running),
            "backupTarget": self._backup_target_status(),
            "backupTargets": self._backup_targets_status(),
            "network": self.network.state(),
        }

    def _endpoint_status(self, running: bool) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.plan.endpoint_port}"
        servers: dict[str, str] = {}
        if running:
            try:
                servers = endpoint.server_states(self.paths)
            except endpoint.EndpointError:
                servers = {}
        serving = sorted({member.region for member in self.plan.members if servers.get(member.name) == "UP"})
        return {
            "url": url,
            "answers": etcd_client.healthy(url, timeout=1),
            "servingRegions": serving,
            "servers": servers,
        }

    def _backup_target_status(self) -> dict[str, Any]:
        url = f"rsync://127.0.0.1:{self.plan.rsync_port}/"
        try:
            listing = subprocess.run(
                ["rsync", "--contimeout=3", url], capture_output=True, text=True, timeout=10, check=False
            )
            reachable = listing.returncode == 0 and self.plan.rsync_module in listing.stdout
        except (OSError, subprocess.TimeoutExpired):
            reachable = False
        return {"url": f"{url}{self.plan.rsync_module}{self.plan.rsync_path}", "reachable": reachable}

    def _backup_targets_status(self) -> list[dict[str, Any]]:
        """Every backup target of the inventory: type, URL or endpoint, bucket, whether it answers."""
        rsync = self._backup_target_status()
        targets = [{"name": "lab-rsync", "type": "rsync", "url": rsync["url"], "reachable": rsync["reachable"]}]
        if self.plan.s3_port:
            targets.append(s3.status(self.plan))
        return targets

    # --- stop, start, down ---------------------------------------------------------------------------

    def stop(self) -> list[int]:
        """Stop every lab process (supervisord last), by pid, then remove the lab's namespaces and veths
        (partitions end; fences stay saved for the next `up`); the data stays."""
        killed = self.supervisor.shutdown()
        self.network.destroy()
        return killed

    def down(self, purge: bool) -> tuple[list[int], Path | None]:
        killed = self.stop()
        if not purge:
            return killed, None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.paths.root.with_name(f"{self.paths.root.name}.purged-{stamp}")
        shutil.move(str(self.paths.root), aside)
        return killed, aside

    # --- faults --------------------------------------------------------------------------------------

    def _member(self, name: str) -> Member:
        member = self.plan.member(name)
        if member is None:
            known = ", ".join(m.name for m in self.plan.members)
            raise LabError(f"no member {name} in the lab (members: {known})")
        return member

    def _pid(self, member: Member) -> int:
        info = self.supervisor.processes().get(member.program, {})
        if info.get("statename") != "RUNNING" or not info.get("pid"):
            raise LabError(f"{member.name} is not running ({info.get('statename', 'unknown')})")
        return int(info["pid"])

    def signal_member(self, name: str, signum: signal.Signals) -> int:
        member = self._member(name)
        pid = self._pid(member)
        os.kill(pid, signum)
        return pid

    def stop_member(self, name: str) -> None:
        self.supervisor.stop_program(self._member(name).program)

    def start_member(self, name: str) -> bool:
        """Start a stopped member; wait until it is healthy when its cluster can have a quorum.
        Returns whether it was waited for."""
        member = self._member(name)
        self._refuse_fenced(member.region, f"start {name}")
        self.supervisor.start_program(member.program)
        region = self.plan.region(member.region)
        assert region is not None
        processes = self.supervisor.processes()
        running = sum(1 for m in region.members if processes.get(m.program, {}).get("statename") == "RUNNING")
        if running < len(region.members) // 2 + 1:
            return False  # no quorum yet: it becomes healthy once enough of its peers are started too
        self._wait_healthy([member], lambda _: None)
        return True

    def kill_region(self, name: str) -> list[int]:
        region = self.plan.region(name)
        if region is None:
            raise LabError(f"no region {name} in the lab (regions: {', '.join(r.name for r in self.plan.regions)})")
        processes = self.supervisor.processes()
        pids = [int(processes[m.program]["pid"]) for m in region.members if processes[m.program]["pid"]]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def wipe_region(self, name: str) -> list[Path]:
        """Lose a region's data: SIGKILL its members, then move each data dir aside (never deleted).
        Returns where the data went."""
        pids = self.kill_region(name)
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        region = self.plan.region(name)
        assert region is not None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        moved = []
        for member in region.members:
            data = self.paths.member_data(member.name)
            if data.exists():
                aside = data.with_name(f"{data.name}.wiped-{stamp}")
                shutil.move(str(data), aside)
                moved.append(aside)
        return moved

    # --- automatic promotion: the witness and the guards (drkit.failover.guard) --------------------------

    @property
    def guards_enabled(self) -> bool:
        return (self.paths.root / "guards" / "enabled").exists()

    def start_guards(self, progress: Progress) -> None:
        """Start the witness, wait until it answers, then one guard per region; remembered across `up`."""
        (self.paths.root / "guards").mkdir(exist_ok=True)
        (self.paths.root / "guards" / "enabled").touch()
        self.supervisor.start_program("witness")
        url = f"http://127.0.0.1:{self.plan.witness_port}"
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while not etcd_client.healthy(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not etcd_client.healthy(url):
            raise LabError(f"the witness did not become healthy: see {self.paths.logs / 'witness.log'}", exit_code=1)
        for region in self.plan.regions:
            self.supervisor.start_program(f"guard-{region.name}")
        progress(f"witness {url} and {len(self.plan.regions)} guards running: automatic promotion is on")

    def stop_guards(self) -> None:
        """Stop every guard, then the witness: promotion is a person's decision again."""
        (self.paths.root / "guards" / "enabled").unlink(missing_ok=True)
        for region in self.plan.regions:
            self.supervisor.stop_program(f"guard-{region.name}")
        self.supervisor.stop_program("witness")

    def set_guards_paused(self, paused: bool) -> None:
        """Paused: standbys' guards do not promote (maintenance); the primary's guard still renews."""
        flag = self.paths.root / "guards" / "paused"
        flag.parent.mkdir(exist_ok=True)
        if paused:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def guards_status(self) -> dict[str, Any]:
        """The witness key's holder and its lease's TTL left (the witness's own lease query), the epoch, whether
        the guards run or are paused, and each guard's last decision as its state file says
        (drkit.failover.guard_metrics)."""
        decisions = {}
        for region in self.plan.regions:
            try:
                decisions[region.name] = json.loads((self.paths.root / "guards" / f"{region.name}.json").read_text())
            except (OSError, ValueError):
                decisions[region.name] = None
        holder: dict[str, Any] | None = None
        ttl_left = None
        url = f"http://127.0.0.1:{self.plan.witness_port}"
        try:
            from drkit.failover.guard import Timing, Witness

            record, ttl_left = Witness(url, self.plan.stack, Timing()).read()
            holder = record
        except Exception:
            holder = None
        processes = self.supervisor.processes()
        return {
            "enabled": self.guards_enabled,
            "paused": (self.paths.root / "guards" / "paused").exists(),
            "witness": url,
            "holder": holder,
            "holderRegion": holder.get("region") if holder else None,
            "ttlLeft": ttl_left,
            "epoch": roles.load_epoch(self.paths.root),
            "running": {
                region.name: processes.get(f"guard-{region.name}", {}).get("statename", "STOPPED")
                for region in self.plan.regions
            },
            "metrics": {region.name: self.plan.guard_metrics_url(region.name) for region in self.plan.regions},
            "decisions": decisions,
        }

    # --- the backup schedule (drkit.sandbox.scheduler) ---------------------------------------------------

    @property
    def schedule_enabled(self) -> bool:
        return (self.paths.root / "schedule" / "enabled").exists()

    def start_schedule(self, progress: Progress, every: float | None = None) -> None:
        """Start firing scheduled backups (the spec's cron, or every `every` seconds); remembered across `up`."""
        if not self.plan.backup_schedule:
            raise LabError(f"stack {self.plan.stack} has no backups.schedule in its spec: nothing to schedule")
        directory = self.paths.root / "schedule"
        directory.mkdir(exist_ok=True)
        settings = directory / "enabled"
        if every is not None or not settings.exists():
            settings.write_text(json.dumps({"every": every}))
        every = json.loads(settings.read_text()).get("every")
        self.supervisor.stop_program(SCHEDULER_PROGRAM)  # a new --every takes effect now
        self.supervisor.start_program(SCHEDULER_PROGRAM)
        when = f"every {every:g}s" if every else f"at {self.plan.backup_schedule!r} (UTC)"
        progress(f"scheduled backups on: {when}, by the leader of the primary region")

    def stop_schedule(self) -> None:
        (self.paths.root / "schedule" / "enabled").unlink(missing_ok=True)
        self.supervisor.stop_program(SCHEDULER_PROGRAM)

    def schedule_status(self) -> dict[str, Any]:
        directory = self.paths.root / "schedule"
        runs = {}
        for member in self.plan.members:
            with contextlib.suppress(OSError, ValueError):
                runs[member.name] = json.loads((directory / f"{member.name}.json").read_text())
        upcoming = None
        with contextlib.suppress(OSError, ValueError):
            upcoming = json.loads((directory / "next.json").read_text()).get("next")
        return {
            "enabled": self.schedule_enabled,
            "schedule": self.plan.backup_schedule,
            "next": upcoming if self.schedule_enabled else None,
            "lastRuns": runs,
        }

    def _refuse_fenced(self, region: str, doing: str) -> None:
        if region in roles.fenced(self.plan):
            raise LabError(
                f"cannot {doing}: region {region} was fenced by the failover to {self.plan.primary.name}"
                f" (epoch {roles.load_epoch(self.paths.root)}); its data may be stale or diverged."
                f" `drkit failback --stack {self.plan.stack} --yes` re-seeds it as a standby",
                exit_code=1,
            )

    def apply_roles(self, plan: LabPlan) -> list[str]:
        """Save a switchover's or failover's roles and bring the lab in line: the plan, supervisord's config
        (mirrors from the new primary, the heartbeat), the inventory and HAProxy's saved config. Processes
        whose command changed are restarted by supervisord; returns those program groups."""
        self.plan = plan
        (self.paths.root / PLAN_FILE).write_text(plan.to_json(), encoding="utf-8")
        self.paths.supervisor_conf.write_text(supervisord_conf(plan, self.binaries, self.paths))
        self.paths.haproxy_conf.write_text(haproxy_cfg(plan, self.paths, endpoint.load_serving(self.paths, plan)))
        write_inventory(plan, self.paths)
        # The guards run a promotion from inside themselves: a reload must never stop them (nor the witness).
        # Nor a scheduled backup in progress (the scheduler reads the roles at each tick anyway).
        keep = ("guard-", "witness", SCHEDULER_PROGRAM)
        return self.supervisor.reload(keep=keep) if self.supervisor.running() else []

    def set_region_serving(self, name: str, serving: bool) -> None:
        if serving:
            self._refuse_fenced(name, f"put {name} in the endpoint's rotation")
        endpoint.set_region(self.paths, self.plan, name, "ready" if serving else "maint")
        current = endpoint.load_serving(self.paths, self.plan)
        current = current | {name} if serving else current - {name}
        endpoint.save_serving(self.paths, current)
        # A restarted HAProxy must come back with the same choice.
        self.paths.haproxy_conf.write_text(haproxy_cfg(self.plan, self.paths, current))


def _shape(plan: LabPlan) -> tuple[Any, ...]:
    """What must not change under an existing lab's data: regions and member names. (The etcd version may:
    members keep their release links, and `drkit upgrade` moves them. Roles may: after a failover the saved
    plan, not the spec, says which region is primary.)"""
    return tuple((r.name, tuple(m.name for m in r.members)) for r in plan.regions)
