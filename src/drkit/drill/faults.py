"""Small lab moves the drill kinds share: find the leader, SIGKILL a member and see it gone, wait for a
cluster to have a leader and all its members healthy again."""

from __future__ import annotations

import signal
import time

from drkit.drill.session import DrillError
from drkit.sandbox import etcd_client
from drkit.sandbox.etcd_client import EtcdUnavailableError
from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import Member, RegionPlan
from drkit.sandbox.supervisor_client import pid_alive


def primary(lab: Lab) -> RegionPlan:
    return lab.plan.primary


def leader(region: RegionPlan, timeout: float = 20.0, excluding: str = "") -> Member:
    """The member the region's members agree leads (asked of every member but `excluding`)."""
    deadline = time.monotonic() + timeout
    while True:
        for member in region.members:
            if member.name == excluding:
                continue
            try:
                status = etcd_client.status(member.client_url, timeout=0.5)
            except EtcdUnavailableError:
                continue
            if status.leader_id != "0":
                for candidate in region.members:
                    if candidate.name == excluding:
                        continue
                    try:
                        if etcd_client.status(candidate.client_url, timeout=0.5).member_id == status.leader_id:
                            return candidate
                    except EtcdUnavailableError:
                        continue
        if time.monotonic() > deadline:
            raise DrillError(f"{region.name} elected no leader within {timeout:.0f}s")
        time.sleep(0.05)


def follower(region: RegionPlan) -> Member:
    lead = leader(region)
    return next(member for member in region.members if member.name != lead.name)


def kill(lab: Lab, members: list[Member]) -> float:
    """SIGKILL the members; returns the moment the last of them was gone (the fault's instant)."""
    pids = [lab.signal_member(member.name, signal.SIGKILL) for member in members]
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise DrillError(f"pids {pids} still alive 10s after SIGKILL")
        time.sleep(0.005)
    return time.monotonic()


def wait_healthy(region: RegionPlan, timeout: float = 60.0) -> float:
    """Seconds until every member of the region answers its health check."""
    started = time.monotonic()
    while not all(etcd_client.healthy(member.client_url, timeout=0.5) for member in region.members):
        if time.monotonic() - started > timeout:
            raise DrillError(f"{region.name}'s members were not all healthy within {timeout:.0f}s")
        time.sleep(0.05)
    return time.monotonic() - started
