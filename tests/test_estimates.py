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
    # health check 10s x 3 + DNS TTL 30s + promotion 30s; automatic promotion adds no operator time
    assert result["region"].rto == 90
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
    assert estimates(policies, spec)["region"].rto == 60


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
    assert result["az"].rto == 90
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
    # failover (1m30s, RPO 5s) meets an az objective of 5m / 10s; the in-place restore (6m11s, 15m) does not
    chosen = estimates(policies, patched(prod, {**one_az, "objectives": {"az": {"rto": "5m", "rpo": "10s"}}}))["az"]
    assert (chosen.rto, chosen.rpo) == (90, 5)
    # when both paths meet the objectives, failover (listed first) is kept
    relaxed = estimates(policies, patched(prod, {**one_az, "objectives": {"az": {"rto": "10m", "rpo": "20m"}}}))["az"]
    assert relaxed.rto == 90
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
