"""RTO/RPO estimates follow the recovery path and its arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.estimates import Estimate, estimate_all
from drkit.policy.catalog import PolicySet
from drkit.spec.model import build_spec
from tests.conftest import committed_spec, patched


def estimates(policies: PolicySet, spec: dict[str, Any]) -> dict[str, Estimate]:
    raw = policies.spec_schema.with_defaults(spec)
    return estimate_all(build_spec(raw, policies.tiers[raw["tier"]].objectives))


def test_prod(policies: PolicySet) -> None:
    result = estimates(policies, committed_spec("prod"))
    assert result["member"].rto == pytest.approx(2.1)  # 2 x 1s election timeout + 100ms heartbeat
    assert result["member"].rpo == 0
    assert result["az"].rto == pytest.approx(2.1)
    # witness lease 30s + guard loop 10s + DNS TTL 30s + promotion 30s; automatic promotion adds no operator time
    assert result["region"].rto == 100
    assert result["region"].rpo == 5  # mirror max lag
    # operator 5m + 2GiB at 50MiB/s (41s) + 30s start
    assert result["data"].rto == pytest.approx(300 + 2048 / 50 + 30)
    assert result["data"].rpo == 900


def test_manual_promotion_adds_the_operator(policies: PolicySet) -> None:
    spec = patched(committed_spec("prod"), {"recovery": {"promotion": "manual"}})
    assert estimates(policies, spec)["region"].rto == 90 + 300


def test_global_accelerator_has_no_dns_ttl(policies: PolicySet) -> None:
    spec = patched(
        committed_spec("prod"), {"globalEndpoint": {"type": "global-accelerator", "zone": None, "name": None}}
    )
    assert estimates(policies, spec)["region"].rto == 30 + 10 + 30


def test_automatic_promotion_detects_by_the_witness_lease(policies: PolicySet) -> None:
    """A standby's guard may promote only once the primary's lease expired at the witness, and notices on its
    next loop: detection is leaseTtl + loopWait, whatever the endpoint's health checks would say."""
    spec = patched(
        committed_spec("prod"),
        {
            "recovery": {"witness": {"leaseTtl": "20s", "loopWait": "4s", "retryTimeout": "3s"}},
            "globalEndpoint": {"healthCheck": {"interval": "30s", "failureThreshold": 10}},
        },
    )
    region = estimates(policies, spec)["region"]
    assert region.rto == 20 + 4 + 30 + 30  # lease + loop + DNS TTL + promotion; the health check plays no part
    assert region.rto_basis == "witness lease expires 20s + guard loop 4s + DNS TTL 30s + promotion 30s"


def test_the_lab_promotes_within_its_lease(policies: PolicySet) -> None:
    region = estimates(policies, committed_spec("local"))["region"]
    assert region.rto == 5 + 1 + 10  # lease 5s + loop 1s + promotion 10s; HAProxy switches at once
    assert "witness lease expires 5s + guard loop 1s" in region.rto_basis


def test_automatic_without_witness_keeps_the_health_check_estimate(policies: PolicySet) -> None:
    # DR006 fails this spec; the estimate still follows the endpoint's own detection.
    spec = patched(committed_spec("prod"), {"recovery": {"witness": None}})
    region = estimates(policies, spec)["region"]
    assert region.rto == 90
    assert region.rto_basis.startswith("health check 10s x 3 + DNS TTL 30s")


def test_standby_without_mirror_is_loaded_from_the_offsite_backup(policies: PolicySet) -> None:
    result = estimates(policies, committed_spec("staging"))
    # detection 30s + promotion 30s + manual decision 10m, then the same operator loads it: 41s + 30s
    assert result["region"].rto == pytest.approx(30 + 30 + 600 + 2048 / 50 + 30)
    assert result["region"].rpo == 15 * 60 + 15 * 60  # backup interval + S3 replica delay
    assert "S3 replica delay" in result["region"].rpo_basis


def test_no_standby_means_a_rebuild(policies: PolicySet) -> None:
    result = estimates(policies, committed_spec("dev"))
    assert result["region"].rto == pytest.approx(3600 + 300 + 2048 / 50 + 30)
    assert "rebuild" in result["region"].rto_basis


def test_no_backups_means_no_recovery_path(policies: PolicySet) -> None:
    result = estimates(policies, patched(committed_spec("dev"), {"backups": None}))
    assert result["data"].rto is None and result["data"].rpo is None
    assert result["region"].rto is None


def test_losing_quorum_with_an_az_falls_back_to_failover(policies: PolicySet) -> None:
    spec = patched(
        committed_spec("prod"),
        {
            "regions": [
                {"name": "us-east-1", "role": "primary", "availabilityZones": 2},
                {"name": "us-west-2", "role": "standby"},
            ]
        },
    )
    result = estimates(policies, spec)
    assert result["az"].rto == 100  # the region failover's: witness lease 30s + loop 10s + DNS 30s + promotion 30s
    assert result["az"].rpo == 5
    assert "quorum" in result["az"].rto_basis


def test_one_member_cannot_survive_its_loss(policies: PolicySet) -> None:
    result = estimates(policies, patched(committed_spec("dev"), {"registry": {"members": 1}}))
    assert result["member"].rpo == 30 * 60  # restore from the last backup


def test_quorum_loss_takes_the_path_that_meets_the_objectives(policies: PolicySet) -> None:
    prod = committed_spec("prod")
    one_az = {
        "regions": [
            {"name": "us-east-1", "role": "primary", "availabilityZones": 1},
            {"name": "us-west-2", "role": "standby"},
        ]
    }
    # failover (1m40s, RPO 5s) meets an az objective of 5m / 10s; the in-place restore (6m11s, 15m) does not
    chosen = estimates(policies, patched(prod, {**one_az, "objectives": {"az": {"rto": "5m", "rpo": "10s"}}}))["az"]
    assert (chosen.rto, chosen.rpo) == (100, 5)
    # when both paths meet the objectives, failover (listed first) is kept
    relaxed = estimates(policies, patched(prod, {**one_az, "objectives": {"az": {"rto": "10m", "rpo": "20m"}}}))["az"]
    assert relaxed.rto == 100
    # with a slow manual failover the in-place restore is faster and is taken
    manual = patched(
        prod,
        {
            **one_az,
            "recovery": {"promotion": "manual", "operatorResponse": "30m"},
            "objectives": {"az": {"rto": "5m", "rpo": "0s"}},
        },
    )
    slow = estimates(policies, manual)["az"]
    assert slow.rto == pytest.approx(1800 + 2048 / 50 + 30) and "restore" in slow.rto_basis
