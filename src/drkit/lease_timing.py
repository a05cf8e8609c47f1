"""Patroni's timing rule for a primary that holds a lease, in one place: loop_wait + 2 x retry_timeout <= ttl.

The primary's guard looks once per loop_wait and a renewal attempt may take retry_timeout to fail, so it
stops its own members ttl - 2 x retry_timeout after its last renewal: before the lease (renewed at the same
moment) can expire and a standby may promote. With less room than that, the old primary could still take
writes when the standby promotes. The spec's rule (DR008), the guards (drkit.failover.guard.Timing) and
cloud-init's guard parameters (drkit.provision.cloud_init.GuardBoot) all ask this module. Standard library
only: the Pulumi program and the guards import it."""

from __future__ import annotations


def time_needed(loop_wait: float, retry_timeout: float) -> float:
    """The lease time a primary's guard needs to notice a lost lease before it can expire."""
    return loop_wait + 2 * retry_timeout


def fits(ttl: float, loop_wait: float, retry_timeout: float) -> bool:
    return time_needed(loop_wait, retry_timeout) <= ttl


def self_fence_after(ttl: float, retry_timeout: float) -> float:
    """Seconds without a renewal after which the primary stops its members."""
    return ttl - 2 * retry_timeout
