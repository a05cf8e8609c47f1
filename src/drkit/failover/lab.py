"""The failover engine on the local DR lab: a ControlPlane over supervisord, HAProxy's runtime API and the
lab's network namespaces, and the lab as a Deployment.

The lab is one machine, so every action could always reach everything; to stay honest it acts only through
what would be reachable in a real outage. A partitioned region's members cannot be stopped (their process
manager is on the far side of the cut), while its firewall (the namespace's rules, like a security group in
a cloud's control plane) and the endpoint can still be changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from drkit.failover.control import FenceAction
from drkit.failover.deployment import Deployment
from drkit.failover.registry import Cluster
from drkit.sandbox import endpoint, roles
from drkit.sandbox.configs import mirror_programs, write_etcd_configs
from drkit.sandbox.lab import Lab
from drkit.sandbox.network import NetworkError
from drkit.sandbox.supervisor_client import SupervisorError, pid_alive


class LabControl:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def _region(self, region: str) -> Any:
        plan = self.lab.plan.region(region)
        if plan is None:
            raise ValueError(f"no region {region}")
        return plan

    def _partitioned(self, region: str) -> bool:
        return region in self.lab.network.saved().partitioned

    def stop_members(self, region: str) -> FenceAction:
        if self._partitioned(region):
            return FenceAction(
                "stop-members", region, False, f"{region} is partitioned: its process manager cannot be reached"
            )
        stopped, pids = [], []
        processes = self.lab.supervisor.processes()
        for member in self._region(region).members:
            pid = processes.get(member.program, {}).get("pid")
            try:
                self.lab.supervisor.stop_program(member.program)
            except SupervisorError as error:
                return FenceAction("stop-members", region, False, str(error))
            stopped.append(member.name)
            if pid:
                pids.append(int(pid))
        alive = [pid for pid in pids if pid_alive(pid)]
        if alive:
            return FenceAction("stop-members", region, False, f"pids {alive} still alive after stop")
        gone = f" (pids {', '.join(map(str, pids))} gone)" if pids else " (none was running)"
        return FenceAction("stop-members", region, True, f"stopped {', '.join(stopped)}{gone}")

    def start_members(self, region: str) -> FenceAction:
        names = []
        for member in self._region(region).members:
            try:
                self.lab.supervisor.start_program(member.program, wait=False)
            except SupervisorError as error:
                return FenceAction("start-members", region, False, str(error))
            names.append(member.name)
        return FenceAction("start-members", region, True, f"started {', '.join(names)}")

    def cut_client_port(self, region: str) -> FenceAction:
        network = self.lab.network
        if not network.enabled:
            return FenceAction(
                "cut-client-port", region, False, "a loopback lab has no firewall to cut (`up --network namespaces`)"
            )
        try:
            network.fence_client_port(region)
        except NetworkError as error:
            return FenceAction("cut-client-port", region, False, str(error))
        ports = ", ".join(str(member.client_port) for member in self._region(region).members)
        return FenceAction("cut-client-port", region, True, f"client ports {ports} reject connections (iptables)")

    def restore_client_port(self, region: str) -> FenceAction:
        network = self.lab.network
        if not network.enabled:
            return FenceAction("restore-client-port", region, True, "a loopback lab has no firewall rule to remove")
        try:
            network.unfence_client_port(region)
        except NetworkError as error:
            return FenceAction("restore-client-port", region, False, str(error))
        return FenceAction("restore-client-port", region, True, "client-port rules removed")

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        method = "endpoint-in" if serving else "endpoint-out"
        try:
            endpoint.set_region(self.lab.paths, self.lab.plan, region, "ready" if serving else "maint")
        except endpoint.EndpointError as error:
            return FenceAction(method, region, False, str(error))
        current = endpoint.load_serving(self.lab.paths, self.lab.plan)
        endpoint.save_serving(self.lab.paths, current | {region} if serving else current - {region})
        state = "in rotation" if serving else "in maintenance, its sessions shut down"
        return FenceAction(method, region, True, f"HAProxy: {region}'s servers {state}")

    def _mirrors_into(self, region: str) -> list[str]:
        return [
            name for name in mirror_programs(self.lab.plan, self.lab.binaries) if name.startswith(f"mirror-{region}")
        ]

    def stop_mirror(self, into: str) -> FenceAction:
        processes = self.lab.supervisor.processes()
        names = [name for name in processes if name == f"mirror-{into}" or name.startswith(f"mirror-{into}-")]
        for name in names:
            try:
                self.lab.supervisor.stop_program(name)
            except SupervisorError as error:
                return FenceAction("stop-mirror", into, False, str(error))
        return FenceAction("stop-mirror", into, True, f"stopped {', '.join(names) or 'no mirror (none running)'}")

    def start_mirror(self, source: str, into: str) -> FenceAction:
        if self.lab.plan.primary.name != source:
            return FenceAction("start-mirror", into, False, f"{source} is not the lab's primary")
        names = self._mirrors_into(into)
        if not names:
            return FenceAction("start-mirror", into, False, f"{into} is not a standby of {source}")
        for name in names:
            try:
                self.lab.supervisor.start_program(name)
            except SupervisorError as error:
                return FenceAction("start-mirror", into, False, str(error))
        return FenceAction("start-mirror", into, True, f"started {', '.join(names)} ({source} -> {into})")

    def move_data_aside(self, region: str) -> FenceAction:
        processes = self.lab.supervisor.processes()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = []
        for member in self._region(region).members:
            if processes.get(member.program, {}).get("statename") == "RUNNING":
                return FenceAction("move-data-aside", region, False, f"{member.name} is still running")
            data = self.lab.paths.member_data(member.name)
            if data.exists():
                aside = data.with_name(f"{data.name}.failback-{stamp}")
                shutil.move(str(data), aside)
                moved.append(aside.name)
        # The region is re-seeded from empty data dirs as one new cluster: a member the member-replace playbook
        # left with `initial-cluster-state: existing` would try to join a cluster that is only forming, exit
        # ("incompatible with current running cluster") and stay down. Its config goes back to the plan's.
        write_etcd_configs(self.lab.plan, self.lab.paths, self._region(region).members)
        return FenceAction("move-data-aside", region, True, f"moved aside: {', '.join(moved) or 'nothing (empty)'}")


def lab_deployment(lab: Lab, *, through_endpoint: bool = True) -> Deployment:
    """The lab as the engine sees it. through_endpoint=False probes the promoted region directly (a guard
    inside a region's namespace cannot reach the endpoint on the root namespace's loopback)."""
    plan = lab.plan

    def save_roles(changes: Mapping[str, str], epoch: int) -> None:
        roles.save_epoch(lab.paths.root, epoch)
        lab.apply_roles(roles.with_roles(lab.plan, dict(changes)))

    endpoint = Cluster("endpoint", (f"http://127.0.0.1:{plan.endpoint_port}",))
    return Deployment(
        stack=plan.stack,
        regions=tuple(region.name for region in plan.regions),
        roles={region.name: region.role for region in plan.regions},
        epoch=roles.load_epoch(lab.paths.root),
        control=LabControl(lab),
        clusters={
            region.name: Cluster(region.name, tuple(member.client_url for member in region.members))
            for region in plan.regions
        },
        endpoint=endpoint if through_endpoint else None,
        mirrored=bool(plan.mirror_prefixes),
        max_lag=plan.max_lag_s,
        ephemeral_prefixes=plan.ephemeral_prefixes,
        lease_ttl=plan.lease_ttl_s,
        objective_rto=plan.region_rto_s,
        objective_rpo=plan.region_rpo_s,
        state_dir=lab.paths.root,
        save_roles=save_roles,
    )
